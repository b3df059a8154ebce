"""The binomial comparison on synthetic profiles whose answer is known."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from benign.empirical.profiles.binomial import (
    align_epochs,
    augmentation_variance,
    chi_square,
    closest_epochs,
    compare,
    mae_to_binomial,
    sorted_profile,
)
from benign.empirical.profiles.summary import format_alignment, format_table, mae_table

N, K = 20, 1000


def equally_hard(seed, p=0.4):
    rng = np.random.default_rng(seed)
    return rng.binomial(N, p, K) / N


def easy_hard_split(seed):
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(K) < K // 2, 0.9, 0.1)  # same mean 0.5, two kinds of example
    return rng.binomial(N, p) / N


@pytest.mark.parametrize("seed", range(5))
def test_equally_hard_examples_sit_at_the_binomial_floor(seed):
    r = compare(equally_hard(seed), N, draws=30, seed=seed)
    assert abs(r["p_hat"] - 0.4) < 0.02
    assert r["mae"] < 1.6 * r["floor"]
    assert r["p_value"] > 0.001


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_easy_hard_split_is_far_from_binomial(seed):
    r = compare(easy_hard_split(seed), N, draws=30, seed=seed)
    assert r["mae"] > 8 * r["floor"]
    assert r["mae"] > 0.2
    assert r["p_value"] < 1e-12


def test_chi_square_rejection_rate_is_about_its_level():
    pvals = np.array([chi_square(equally_hard(s), N)[2] for s in range(200)])
    assert 0.0 <= (pvals < 0.05).mean() <= 0.12


def test_floor_matches_the_mean_gap_of_two_binomial_samples():
    mae, std, floor = mae_to_binomial(np.full(K, 0.5), N, draws=50)
    # a constant profile is itself far from binomial noise: its MAE is E|B/N - 0.5| >> floor
    rng = np.random.default_rng(1)
    expected = np.abs(rng.binomial(N, 0.5, 200_000) / N - 0.5).mean()
    assert mae == pytest.approx(expected, abs=0.01)
    assert floor < 0.5 * mae


def test_degenerate_profiles():
    assert chi_square(np.zeros(50), N) == (0.0, 0, 1.0)
    assert compare(np.ones(50), N)["mae"] == 0.0


def test_alignment_picks_the_closest_mean():
    assert align_epochs([0.1, 0.3, 0.45, 0.8, 0.9], [1, 2, 3, 4, 5]) == [2, 3, 4]
    assert align_epochs([0.1, np.nan, 0.6], [1, 2, 3], (0.5,)) == [3]


def test_a_threshold_outside_the_recorded_means_has_no_epoch():
    slow = [0.05, 0.1, 0.2, 0.3, 0.4]
    assert align_epochs(slow, [1, 2, 3, 4, 5]) == [3, None, None]  # 0.5 and 0.75 never reached
    assert closest_epochs(slow, [1, 2, 3, 4, 5]) == [3, 5, 5]
    assert align_epochs([0.4, 0.55, 0.85], [1, 2, 3]) == [None, 2, 3]  # past 0.25 at the first epoch
    assert align_epochs([0.2, 0.49], [1, 2], (0.5,)) == [2]  # within the tolerance


def test_mae_table_says_which_threshold_a_method_misses():
    rng = np.random.default_rng(0)
    E, n, M, K = 4, 5, 2, 60
    p = np.array([[0.1, 0.3, 0.55, 0.8], [0.05, 0.1, 0.12, 0.27]])  # (method, epoch) mean p_t
    rec = (rng.random((2, n, E, M, K)) < p[:, None, :, None, None]).astype(np.int8)
    ds = xr.Dataset(
        {
            "recognised": (("method", "seed", "epoch", "augmentation", "example"), rec),
            "status": (("method", "seed"), np.ones((2, n), dtype=np.int8)),
        },
        coords={"method": [0, 3], "epoch": np.arange(1, E + 1)},
    )
    rows = mae_table(ds, draws=3)
    by = {(r["method"], r["at"]): r for r in rows}
    assert [by["supervised", f"mean~{q:g}"]["epoch"] for q in (0.25, 0.5, 0.75)] == [2, 3, 4]
    assert by["simclr", "mean~0.25"]["epoch"] == 4
    for q in ("0.5", "0.75"):
        r = by["simclr", f"mean~{q}"]
        assert np.isnan(r["epoch"]) and np.isnan(r["mae"]) and "never reached" in r["note"]
    text = format_alignment(rows) + format_table(rows)
    assert "0.75 not reached: mean p_t never reached" in text and "NaN" in text


def test_augmentation_variance():
    fixed = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 1.0]])  # (augmentation, example)
    np.testing.assert_allclose(augmentation_variance(fixed), [0.25, 0.0, 0.0])


@given(st.lists(st.floats(0.0, 1.0, allow_nan=False, width=64), min_size=5, max_size=60), st.integers(1, 30))
def test_statistics_are_bounded(values, trials):
    p = np.round(np.array(values) * trials) / trials
    r = compare(p, trials, draws=3)
    assert 0.0 <= r["mae"] <= 1.0 and 0.0 <= r["floor"] <= 1.0
    assert 0.0 <= r["p_value"] <= 1.0
    assert np.all(np.diff(sorted_profile(p)) >= 0)


def test_independent_coins_per_network():
    """The N x M null counts distinct augmentations only: a mode without augmentation scores one
    image M times (one coin), and SimCLR's two recognition directions share their pair of views."""
    import xarray as xr

    from benign.empirical.profiles.modes import MODES
    from benign.empirical.profiles.summary import coins_per_network

    ds = xr.Dataset(
        {"views": ("method", [1, 1, 1, 2])},
        coords={"method": [MODES[m].code for m in ("supervised", "random", "random_aug", "simclr")]},
    ).expand_dims(augmentation=5)
    coins = {m: coins_per_network(ds, MODES[m].code) for m in MODES}
    assert coins == {"supervised": 5, "random": 1, "random_aug": 5, "simclr": 5}
