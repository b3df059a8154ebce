import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benign.theory import toy_model
from benign.theory.capacity import (
    capacity_bracket,
    hard_projector_capacity_bound,
    log_cover_regions,
    repeat_seed_offset,
    toy_trial,
)
from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.toy_model import BatchedToy, ToyTraining


def threshold_trial(capacity):
    calls = []

    def trial(ns, R):
        calls.append(list(ns))
        return np.array([[n <= capacity] * R for n in ns])

    return trial, calls


@given(st.integers(1, 3000), st.integers(1, 5))
def test_bracket_finds_a_known_threshold(capacity, ways):
    trial, _ = threshold_trial(capacity)
    b = capacity_bracket(trial, R=3, n_max=4096, ways=ways)
    assert b.lower == capacity and b.upper == capacity + 1
    assert b.success_rate[b.lower] == 1.0 and b.success_rate[b.upper] == 0.0


def test_bracket_when_nothing_fails_or_everything_fails():
    assert capacity_bracket(threshold_trial(10**6)[0], n_max=64).upper is None
    b = capacity_bracket(threshold_trial(0)[0], n_max=64)
    assert (b.lower, b.upper) == (0, 1)


def test_one_failed_labelling_is_enough_to_fail():
    def trial(ns, R):
        return np.array([[True] * (R - 1) + [n < 20] for n in ns])

    b = capacity_bracket(trial, R=4)
    assert (b.lower, b.upper) == (19, 20)
    assert b.success_rate[20] == 0.75


def test_hard_bound_grows_with_K_and_d_and_falls_with_C():
    bounds = [hard_projector_capacity_bound(K, 10, 5) for K in (5, 8, 16, 32)]
    assert all(a < b for a, b in zip(bounds, bounds[1:]))
    assert hard_projector_capacity_bound(8, 20, 5) > hard_projector_capacity_bound(8, 10, 5)
    assert hard_projector_capacity_bound(8, 10, 10) < hard_projector_capacity_bound(8, 10, 3)
    assert hard_projector_capacity_bound(4, 10, 5) == 0  # K < C: a label without a prototype


def test_hard_bound_is_exact_in_one_dimension():
    # d = 1, K = 2, C = 2: one threshold on a line, (K-1)(d+1) = 2 free differences, n hyperplanes in R^2
    # cut it into 2n regions; 2^n <= 2n holds up to n = 2. Two points on a line take all 4 labellings
    # (either side of a threshold, either orientation), three cannot take (1, 2, 1): the capacity is 2.
    assert hard_projector_capacity_bound(2, 1, 2) == 2


def exact_log_regions_fit(n, K, d, C):
    """C^n <= 2 sum_{k < (K-1)(d+1)} binom(m - 1, k), m = n K (K-1) / 2, in exact integers."""
    m, D = n * K * (K - 1) // 2, (K - 1) * (d + 1)
    return C**n <= 2 * sum(math.comb(m - 1, k) for k in range(min(D, m)))


@settings(deadline=None, max_examples=40)
@given(st.integers(2, 6), st.integers(1, 4), st.data())
def test_hard_bound_is_the_largest_n_of_the_counting_inequality(K, d, data):
    C = data.draw(st.integers(2, K))
    bound = hard_projector_capacity_bound(K, d, C)
    # every n up to the bound satisfies the inequality and none of the next few does (exact integers)
    assert all(exact_log_regions_fit(n, K, d, C) for n in range(1, bound + 1))
    assert not any(exact_log_regions_fit(n, K, d, C) for n in range(bound + 1, bound + 20))
    # more room never lowers it
    assert hard_projector_capacity_bound(K, d + 1, C) >= bound <= hard_projector_capacity_bound(K + 1, d, C)
    if C == 2:  # two pieces already shatter d + 1 points (a half-space): 2^n regions while n <= d + 1
        assert bound >= d + 1


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 60), st.integers(1, 40))
def test_log_cover_regions_matches_exact_counts(m, D):
    exact = 2 * sum(math.comb(m - 1, k) for k in range(min(D, m)))
    assert math.isclose(log_cover_regions(m, D), math.log(exact), rel_tol=1e-9, abs_tol=1e-9)
    assert exact <= 2**m  # never more regions than sign patterns


MX_SMALL = GaussianMixture(C=3, d=6, d1=2)


def test_a_data_seed_fixes_the_points_while_the_seed_sets_the_labelling():
    toy = BatchedToy(MX_SMALL, ToyTraining(K=6, steps=0)).fit(
        [30, 30, 30], [4, 4, 4], [5, 6, 7], data_seed=[9, 9, 9]
    )
    assert torch.equal(toy.x_train_[0], toy.x_train_[1]) and torch.equal(toy.x_train_[0], toy.x_train_[2])
    assert torch.equal(toy.bank_[0], toy.bank_[-1]) and toy.bank_.shape[0] == 1  # one bank, shared
    assert not torch.equal(toy.labels_[0], toy.labels_[1]) and not torch.equal(toy.labels_[1], toy.labels_[2])
    assert not torch.equal(toy.W_init_[0], toy.W_init_[1])
    # the points are those a cell of seed 9 draws, and the labels those of the cell's own seed
    own = BatchedToy(MX_SMALL, ToyTraining(K=6, steps=0)).fit([30, 30], [4, 4], [9, 6])
    assert torch.equal(own.x_train_[0], toy.x_train_[1]) and torch.equal(own.labels_[1], toy.labels_[1])
    assert not torch.equal(own.x_train_[1], toy.x_train_[1])


@pytest.mark.parametrize("fixed", [True, False])
def test_the_trial_keeps_the_points_fixed_across_labellings_by_definition_d1(monkeypatch, fixed):
    seen = []
    fit = BatchedToy.fit

    def spy(self, n, B, seed, progress=None, data_seed=None):
        out = fit(self, n, B, seed, progress, data_seed)
        seen.append((list(seed), list(data_seed), self.x_train_.clone(), self.labels_.clone()))
        return out

    monkeypatch.setattr(toy_model.BatchedToy, "fit", spy)
    offset = repeat_seed_offset(2)
    ok = toy_trial(
        MX_SMALL, ToyTraining(K=6, steps=5), predict="hard", seed_offset=offset, fixed_points=fixed
    )([4, 8], 3)
    assert ok.shape == (2, 3) and ok.dtype == bool
    seeds, data, x, labels = seen[0]
    assert seeds == [offset + r for _ in range(2) for r in range(3)]
    assert data == ([offset] * 6 if fixed else seeds)
    same_points = torch.equal(x[0, :4], x[1, :4]) and torch.equal(x[0, :4], x[2, :4])
    assert same_points == fixed
    assert not torch.equal(labels[0, :4], labels[1, :4]) or not torch.equal(labels[1, :4], labels[2, :4])


def test_repeats_share_neither_points_nor_labellings():
    a, b = repeat_seed_offset(0), repeat_seed_offset(1)
    assert b - a >= 1000
    with pytest.raises(ValueError):
        repeat_seed_offset(-1)


def test_toy_capacity_with_trained_prototypes_grows_with_K():
    mx = GaussianMixture(C=2, d=6, d1=1)
    caps = []
    for K in (2, 16):
        tr = ToyTraining(K=K, steps=300, lr=0.03, train_prototypes=True)
        b = capacity_bracket(toy_trial(mx, tr), R=2, ways=4, n_max=256)
        assert b.lower <= hard_projector_capacity_bound(K, mx.d, mx.C)
        caps.append(b.lower)
    assert caps[1] > caps[0]
