"""Heatmaps of a toy grid sweeping K: one picture per K, each with the capacity line of its own K."""

import numpy as np
import xarray as xr

from benign.plots.heatmap import capacity_bracket, plot_heatmaps
from tests.plots.synthetic_results import toy_grid


def test_each_K_gets_its_own_capacity_line(tmp_path):
    K = [10, 20, 40]
    ds = toy_grid(extra={"K": K}, capacity=None)
    ds["capacity_lower"] = xr.DataArray([12.0, 23.0, 41.0], coords={"K": K}, dims="K")
    ds["capacity_upper"] = xr.DataArray([13.0, 25.0, np.nan], coords={"K": K}, dims="K")
    assert [capacity_bracket(ds.sel(K=k))[0] for k in K] == [12.0, 23.0, 41.0]
    lo, hi = capacity_bracket(ds.sel(K=40))
    assert lo == 41.0 and np.isnan(hi)
    paths = plot_heatmaps(ds, tmp_path / "h.png")
    assert [p.name for p in paths] == [f"h-K={k}.png" for k in K]
    assert all(p.stat().st_size > 1000 for p in paths)
