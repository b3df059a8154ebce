"""`benign toy capacity`'s result: the capacity C_t (appendix D.1) against the prototypes K, one line
per budget t (or against t when there is one K), with the bracket [lower, upper] as error bars and
the hard projector's bound as a dotted line; with several repeats the bars span every bracket."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from benign.plots.grid_result import config_of, done_only, require, save_figure

CAPACITY_TITLE = "benign toy capacity"


def is_capacity_sweep(ds: xr.Dataset) -> bool:
    """`benign toy capacity`'s grid (kind capacity), or a file of the capacity against K and t."""
    return (
        ds.attrs.get("grid_kind") == "capacity"
        or ds.attrs.get("title") == CAPACITY_TITLE
        or ("capacity_lower" in ds and {"K", "steps"} <= set(ds["capacity_lower"].dims))
    )


def _with_axes(ds: xr.Dataset) -> xr.Dataset:
    """K and steps as dimensions, a grid's unswept one from its parameters; its seeds as repeats."""
    params = config_of(ds).get("params", {})
    for axis in ("K", "steps"):
        if axis not in ds.dims and axis in params:
            ds = ds.expand_dims({axis: [params[axis]]})
    return ds.rename(seed="repeat") if "seed" in ds.dims and "repeat" not in ds.dims else ds


def plot_capacity(ds: xr.Dataset, out: str | Path) -> Path:
    import matplotlib.pyplot as plt

    require(ds, ["capacity_lower", "capacity_upper"], "the capacity picture")
    ds = _with_axes(ds)
    lower, upper = done_only(ds, "capacity_lower"), done_only(ds, "capacity_upper")
    if "repeat" in lower.dims:  # independent searches: the bars span all their brackets
        lower, upper = lower.min("repeat"), upper.max("repeat", skipna=False)
        ds = ds.isel(repeat=0)
    x_dim, line_dim = (
        ("K", "steps") if ds.sizes.get("K", 1) > 1 or ds.sizes.get("steps", 1) == 1 else ("steps", "K")
    )
    fig, ax = plt.subplots(figsize=(6, 4.2))
    x = ds[x_dim].values.astype(float)
    for value in ds[line_dim].values:
        lo = lower.sel({line_dim: value}).values
        hi = upper.sel({line_dim: value}).values
        mid = np.where(np.isnan(hi), lo, (lo + hi) / 2)
        err = np.stack([mid - lo, np.where(np.isnan(hi), 0, hi - mid)])
        label = f"t = {value}" if line_dim == "steps" else f"K = {value}"
        line = ax.errorbar(x, mid, yerr=err, marker="o", capsize=3, label=label)
        open_top = np.isnan(hi) & np.isfinite(lo)  # no labelling failed up to n_max
        ax.scatter(x[open_top], lo[open_top], marker="^", s=60, color=line[0].get_color())
    if "hard_bound" in ds and x_dim == "K":
        bound = ds["hard_bound"].isel({line_dim: 0}).values
        ax.plot(x, bound, ls=":", color="grey", label="hard-projector bound")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("prototypes K" if x_dim == "K" else "budget t (steps)")
    ax.set_ylabel("capacity C_t (bracket; ^: none failed up to n_max)")
    ax.set_title("capacity C_t of the toy (appendix D.1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)
