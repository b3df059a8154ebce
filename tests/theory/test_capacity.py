import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from theory.capacity import capacity_bracket, hard_projector_capacity_bound, toy_trial
from theory.gaussian_mixture import GaussianMixture
from theory.toy_model import ToyTraining


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


def test_hard_bound_is_consistent_with_counting_in_one_dimension():
    # d = 1, K = 2: points on a line split by one threshold into two cells with 2 labels (C = 2):
    # n points admit 2n labellings at most, < 2^n from n = 3, so the bound must be at most a few.
    assert 2 <= hard_projector_capacity_bound(2, 1, 2) <= 8


def test_toy_capacity_with_trained_prototypes_grows_with_K():
    mx = GaussianMixture(C=2, d=6, d1=1)
    caps = []
    for K in (2, 16):
        tr = ToyTraining(K=K, steps=300, lr=0.03, train_prototypes=True)
        b = capacity_bracket(toy_trial(mx, tr), R=2, ways=4, n_max=256)
        assert b.lower <= hard_projector_capacity_bound(K, mx.d, mx.C)
        caps.append(b.lower)
    assert caps[1] > caps[0]
