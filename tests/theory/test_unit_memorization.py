"""UnitMem: 0 for a unit that responds to every example alike, 1 for one that responds to one only."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benign.theory.unit_memorization import (
    selective_example,
    unit_memorization,
    unit_memorization_of_means,
    unit_selections,
)

acts = st.tuples(st.integers(2, 8), st.integers(1, 4), st.integers(1, 5)).flatmap(
    lambda s: arrays("float64", s, elements=st.floats(0, 100, allow_subnormal=False))
)


@given(acts)
def test_unitmem_is_the_formula_and_lies_in_zero_one(a):
    a = torch.from_numpy(a)
    got = unit_memorization(a)
    mu = a.mean(1)
    for u in range(a.shape[2]):
        i = int(mu[:, u].argmax())
        top, rest = mu[i, u], torch.cat([mu[:i, u], mu[i + 1 :, u]]).mean()
        want = 0.0 if top + rest == 0 else float((top - rest) / (top + rest))
        assert float(got[u]) == pytest.approx(want, abs=1e-9)
    assert bool(((got >= -1e-12) & (got <= 1 + 1e-12)).all())


@given(acts, st.floats(0.01, 100), st.randoms(use_true_random=False))
def test_unitmem_ignores_the_scale_and_the_order_of_examples(a, c, rnd):
    a = torch.from_numpy(a)
    perm = list(range(a.shape[0]))
    rnd.shuffle(perm)
    torch.testing.assert_close(unit_memorization(a * c), unit_memorization(a), atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(unit_memorization(a[perm]), unit_memorization(a), atol=1e-12, rtol=0)


def test_a_planted_unit_that_fires_for_one_example_scores_one_and_names_it():
    a = torch.zeros(10, 3, 4, dtype=torch.float64)
    a[6, :, 0] = 2.5  # unit 0: example 6 only
    a[:, :, 1] = 1.0  # unit 1: every example alike
    a[:, :, 2] = torch.arange(10.0)[:, None]  # unit 2: graded; unit 3 dead
    got = unit_memorization(a)
    assert got[0] == 1.0 and got[1] == 0.0 and 0 < got[2] < 1 and got[3] == 0.0
    assert int(selective_example(a)[0]) == 6


def test_negative_activations_and_one_example_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        unit_memorization(-torch.ones(3, 1, 1))
    with pytest.raises(ValueError, match="examples >= 2"):
        unit_memorization(torch.ones(1, 1, 1))


means = st.tuples(st.integers(2, 9), st.integers(1, 12)).flatmap(
    lambda s: arrays("float64", s, elements=st.floats(0, 100, allow_subnormal=False))
)


@given(means, st.floats(0.05, 1.0))
def test_unit_selections_count_every_live_unit_once_and_the_top_share_of_them(mu, share):
    mu = torch.from_numpy(mu)
    units, top, best = unit_selections(mu, share)
    live = (mu > 0).any(0)
    score = unit_memorization_of_means(mu)
    assert float(units.sum()) == int(live.sum())
    assert float(top.sum()) == math.ceil(share * int(live.sum()) - 1e-9)
    assert bool((top <= units).all())
    for i in range(mu.shape[0]):  # best: the largest UnitMem among the live units whose argmax is i
        picks = [float(score[u]) for u in range(mu.shape[1]) if live[u] and int(mu[:, u].argmax()) == i]
        assert float(best[i]) == (max(picks) if picks else 0.0)
        assert float(units[i]) == len(picks)


@given(means)
def test_the_top_units_are_those_of_largest_unitmem(mu):
    mu = torch.from_numpy(mu)
    _, top, _ = unit_selections(mu, 0.3)
    live = (mu > 0).any(0)
    score = unit_memorization_of_means(mu)
    chosen = torch.zeros(mu.shape[0], dtype=torch.float64)
    order = sorted((-float(score[u]), u) for u in range(mu.shape[1]) if live[u])
    for _, u in order[: math.ceil(0.3 * int(live.sum()) - 1e-9)]:
        chosen[int(mu[:, u].argmax())] += 1
    assert torch.equal(top, chosen)


def test_a_dead_unit_selects_nothing_and_a_planted_unit_tops_the_list():
    mu = torch.full((6, 4), 1.0, dtype=torch.float64)
    mu[:, 3] = 0.0  # dead: it would name example 0 through argmax
    mu[4, 1] = 9.0  # unit 1 fires for example 4 above the rest
    units, top, best = unit_selections(mu, 0.1)
    assert float(units.sum()) == 3 and float(units[4]) == 1
    assert float(top.sum()) == 1 and float(top[4]) == 1  # ceil(0.1 x 3 live) = 1: unit 1
    wide = torch.rand(5, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.1
    assert float(unit_selections(wide, 0.1)[1].sum()) == 3  # a tenth of 30 units, not 4
    assert float(best[4]) == float(unit_memorization_of_means(mu)[1]) > 0
    with pytest.raises(ValueError, match="non-negative"):
        unit_selections(-mu, 0.1)
