"""UnitMem: 0 for a unit that responds to every example alike, 1 for one that responds to one only."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benign.theory.unit_memorization import selective_example, unit_memorization

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
