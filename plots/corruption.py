"""Companion 3's figure 10: training and test accuracy over the epochs, one line per degree of label
corruption (mean over seeds, min-max band). The paper's two observations read off it: the more
corrupted examples, the slower the fit (left); with noise, the test accuracy peaks and then drops
(right)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import chance_level, done_only, require, save_figure, seed_spread, value_label

PANELS = (
    ("accuracy_seen", "training accuracy (training labels, seen sub-networks)"),
    ("test_accuracy", "test accuracy (full network)"),
)


def corruption_dim(ds: xr.Dataset) -> str:
    """The swept corruption: a count of random labels or a fraction of the pool."""
    for dim in ("corrupt", "corrupt_fraction"):
        if dim in ds.dims:
            return dim
    raise ValueError("a corruption picture needs a grid over corrupt or corrupt_fraction")


def is_corruption(ds: xr.Dataset) -> bool:
    return ds.attrs.get("grid_kind") == "memscore" and ("corrupt" in ds.dims or "corrupt_fraction" in ds.dims)


def plot_corruption(ds: xr.Dataset, out: str | Path) -> Path:
    require(ds, [v for v, _ in PANELS], "a corruption sweep")
    dim = corruption_dim(ds)
    levels = ds[dim].values
    fig, axes = plt.subplots(1, 2, figsize=(10.8, 4.0), sharey=True)
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(levels)))
    epochs = ds["epoch"].values
    for ax, (var, label) in zip(axes, PANELS):
        value = done_only(ds, var)
        for colour, level in zip(colours, levels):
            mean, low, high = seed_spread(value.sel({dim: level}))
            ax.plot(epochs, mean.values, color=colour, lw=1.5, label=value_label(ds, dim, level))
            if "seed" in value.dims and value.sizes["seed"] > 1:
                ax.fill_between(epochs, low.values, high.values, color=colour, alpha=0.2, lw=0)
        chance = chance_level(ds)
        if chance is not None:
            ax.axhline(chance, color="grey", ls=":", lw=1, label="random guessing")
        ax.set_xlabel("epochs (0: initialisation)")
        ax.set_ylabel(label)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    what = "random labels" if dim == "corrupt" else "share of labels made random"
    axes[1].legend(fontsize=7, title=what, title_fontsize=7)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(
        f"label corruption (companion 3, figure 10): mean over {seeds} seed(s)"
        + (", band = min to max" if seeds > 1 else ""),
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, out, ds)
