"""The n x B grid of a real network (preset `nb`): figure 14's heatmap of the k-NN probe after
training over training subset n x bank size B, next to its gain over probing at initialisation, with
the line n = C_t / B. C_t is read off the grid's own B = 1 column: the largest n up to which every
cell (every seed: the R labellings) fitted all its training inputs (`bank_fit` = 1), the next n on the
grid being the upper end of the bracket."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from plots.grid_result import done_only, require

N, B = "subset", "bank"


def is_nb(ds: xr.Dataset) -> bool:
    return str(ds.attrs.get("grid_name", "")) == "nb" or (
        {N, B} <= set(ds.dims) and "bank_fit" in ds and "knn_final" in ds
    )


def grid_capacity(ds: xr.Dataset) -> tuple[float, float]:
    """(lower, upper) of C_t from the B = 1 column: lower = the largest n with every smaller n on the
    grid fitted under every seed (0 if the smallest failed), upper = the next n (NaN: none failed)."""
    require(ds, ["bank_fit"], "the capacity of an n x B grid")
    if 1 not in ds[B].values:
        raise ValueError("the grid has no B = 1 column to read the capacity from")
    fit = done_only(ds, "bank_fit").sel({B: 1})
    ns = np.sort(ds[N].values)
    lower, upper = 0.0, float("nan")
    for n in ns:
        column = fit.sel({N: n})
        if bool(column.isnull().any()):
            break  # not done yet: the bracket stops at what is known
        if bool((column >= 1.0).all()):
            lower = float(n)
        else:
            upper = float(n)
            break
    return lower, upper


def as_heatmap(ds: xr.Dataset) -> xr.Dataset:
    """The grid in the toy heatmap's terms: dims n and B, knn_acc (and _init), capacity_lower/upper."""
    require(ds, ["knn_final", "knn_init", "bank_fit"], "the n x B heatmap")
    lower, upper = grid_capacity(ds)
    keep = [v for v in ("knn_final", "knn_init", "bank_fit", "status") if v in ds]
    out = ds[keep].rename({N: "n", B: "B", "knn_final": "knn_acc", "knn_init": "knn_acc_init"})
    out["capacity_lower"] = ((), lower, {"long_name": "C_t, lower end (B = 1 column)", "units": "1"})
    out["capacity_upper"] = ((), upper, {"long_name": "C_t, upper end (B = 1 column)", "units": "1"})
    out.attrs = dict(ds.attrs)
    return out


def plot_nb_heatmaps(ds: xr.Dataset, out: str | Path, var: str | None = None) -> list[Path]:
    from plots.heatmap import plot_heatmaps

    heat = as_heatmap(ds)
    name = {None: "knn_acc", "knn_final": "knn_acc"}.get(var, var)
    return plot_heatmaps(heat, out, name)
