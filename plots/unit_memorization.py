"""UnitMem per layer (theory.unit_memorization), trained against initialisation: one line per setting
(mean over seeds, band min to max), initialisation dashed; layers in the network's order, the output
layer (negative activations, no UnitMem) left out."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import require, save_figure


def plot_unit_memorization(ds: xr.Dataset, out: str | Path) -> Path:
    require(ds, ["unit_mem", "unit_mem_init", "layer_name"], "UnitMem per layer")
    keep = np.isfinite(ds["unit_mem"]).any([d for d in ds["unit_mem"].dims if d != "layer"]).values
    ds = ds.isel(layer=np.flatnonzero(keep))
    names = [str(n) for n in ds["layer_name"].values]
    groups = ds["setting"].values if "setting" in ds.dims else [None]
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    x = np.arange(len(names))
    for i, s in enumerate(groups):
        sel = ds if s is None else ds.sel(setting=s)
        label = "" if s is None else str(sel["setting_name"].values) if "setting_name" in sel else str(s)
        colour = f"C{i}"
        for var, style, suffix in (("unit_mem", "-", "trained"), ("unit_mem_init", "--", "initialisation")):
            v = sel[var]
            seeds = [d for d in v.dims if d != "layer"]
            mean = v.mean(seeds) if seeds else v
            ax.plot(
                x,
                mean,
                style,
                color=colour,
                marker="o" if style == "-" else None,
                label=f"{label} {suffix}".strip(),
            )
            if seeds:
                ax.fill_between(
                    x, v.min(seeds), v.max(seeds), color=colour, alpha=0.15 if style == "-" else 0.07
                )
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylabel("mean UnitMem over the layer's units")
    ax.set_title("UnitMem per layer: trained (solid), at initialisation (dashed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(out).with_suffix(".png"))
