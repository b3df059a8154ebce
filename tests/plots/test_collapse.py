"""The scaling collapse: a planted perfect collapse against n*B / C_t is found, and n*B alone is not."""

import numpy as np
import pytest

from benign.plots.collapse import collapse_points, collapse_spread, monotone_fit, plot_collapse
from tests.plots.synthetic_results import planted_collapse, toy_grid


def test_a_planted_collapse_has_no_spread_against_nB_over_capacity_only():
    spread = collapse_spread(planted_collapse())
    assert spread["cells"] == 4 * 5 * 3
    assert spread["capacities"] == [8.0, 32.0, 128.0]
    assert spread["nB_over_capacity"]["rms"] < 1e-9 and spread["nB_over_capacity"]["r2"] > 1 - 1e-9
    assert spread["nB"]["rms"] > 0.05 and spread["nB"]["r2"] < 0.9
    assert spread["seed_noise_rms"] == 0.0  # every seed of the plant is the same


def test_with_one_capacity_both_axes_order_the_cells_alike():
    spread = collapse_spread(toy_grid())
    assert spread["capacities"] == [12.5]
    assert spread["nB"] == pytest.approx(spread["nB_over_capacity"])
    assert spread["seed_noise_rms"] > 0


def test_points_are_cell_means_with_the_bracket_middle():
    ds = toy_grid(capacity=(10.0, 14.0))
    p = collapse_points(ds)
    mean = ds.knn_acc.mean("seed").transpose("n", "B").values.ravel()
    np.testing.assert_allclose(p["y"], mean)
    np.testing.assert_allclose(p["x"], p["n"] * p["B"] / 12.0)


def test_cells_not_done_are_left_out_and_an_unbounded_bracket_uses_its_lower_end():
    ds = toy_grid(capacity=(10.0, np.nan))  # NaN: no failure found up to the search's limit
    ds["status"][0, 0, :] = 0
    p = collapse_points(ds)
    assert p["y"].size == 8 and np.all(p["capacity"] == 10.0)


def test_the_picture_is_written(tmp_path):
    path = plot_collapse(planted_collapse(), tmp_path / "c.png")
    assert path.stat().st_size > 1000


def test_a_grid_without_capacity_is_refused_in_one_line():
    with pytest.raises(ValueError, match="capacity_lower"):
        collapse_spread(toy_grid(capacity=None))


def planted(variable):
    """planted_collapse's grid with accuracy a smooth increasing function of variable(n, B, C_t)."""
    ds = planted_collapse()
    cap = ds["capacity_lower"] + 1
    x = variable(ds["n"], ds["B"], cap).broadcast_like(ds["knn_acc"])
    ds["knn_acc"] = (0.2 + 0.7 * x / (1 + x)).transpose(*ds["knn_acc"].dims)
    return ds


def test_planted_exponents_are_recovered():
    spread = collapse_spread(planted(lambda n, B, C: n**0.5 * B**1.5 / C))
    assert (spread["power"]["a"], spread["power"]["b"]) == (0.5, 1.5)
    assert spread["power"]["rms"] < 1e-9 and spread["best"] == "power"
    assert spread["nB_over_capacity"]["rms"] > 0.01  # a = b = 1 does not collapse this plant


def test_a_planted_saturation_of_augmentations_is_recovered():
    spread = collapse_spread(planted(lambda n, B, C: n * (B / (1 + (B - 1) / 8.0)) / C))
    assert spread["saturating"]["B0"] == pytest.approx(8.0) and spread["saturating"]["rms"] < 1e-9
    assert spread["best"] == "saturating"


def test_accuracy_falling_with_the_measured_invariance_collapses_against_it(tmp_path):
    ds = planted_collapse()
    ds["invariance"] = 1.0 - ds["knn_acc"] ** 2  # strictly decreasing in accuracy, seed by seed
    spread = collapse_spread(ds)
    assert spread["invariance"]["rms"] < 1e-9
    assert plot_collapse(ds, tmp_path / "c.png").stat().st_size > 1000


def test_monotone_fit_pools_equal_x_and_is_monotone():
    x = np.array([3.0, 1.0, 2.0, 2.0, 4.0])
    y = np.array([0.1, 0.5, 0.2, 0.6, 0.9])
    fitted = monotone_fit(x, y)
    assert fitted[2] == fitted[3]  # equal x, one value
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(fitted[order]) >= 0)
    assert np.all(np.diff(monotone_fit(x, -y, increasing=False)[order]) <= 0)


def test_a_planted_dip_at_the_capacity_is_found_by_the_threshold_family():
    spread = collapse_spread(planted(lambda n, B, C: B**0.5 * np.maximum(n / C, C / n) ** 1.0))
    # only a / b is identified: a common power of x orders the cells alike
    assert spread["threshold"]["a"] / spread["threshold"]["b"] == pytest.approx(2.0, rel=0.2)
    assert spread["threshold"]["rms"] < 1e-9 and spread["best"] == "threshold"
    assert spread["power"]["rms"] > 0.01  # accuracy is not monotone in n here
