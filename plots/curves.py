"""Figures 8, 9, 11, 12: a probe's accuracy over epochs, one line per swept value (projector width,
number of random classes, label noise, RandAugment strength), mean over seeds with the min-max band,
and the dotted random-guessing and initialisation lines. Other swept parameters: one panel per value."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import (
    axis_label,
    chance_level,
    done_only,
    initial_level,
    preset_of,
    reference_lines,
    require,
    save_figure,
    seed_spread,
    selection_label,
    selections,
    swept_dims,
    value_label,
)

# The parameter each figure draws one line per value of.
LINE_DIM = {
    "fig8": "projector_width",
    "fig9": "label_classes",
    "fig11": "label_noise",
    "fig12": "randaugment",
}


def pick_layer(ds: xr.Dataset, value: xr.DataArray) -> tuple[xr.DataArray, str]:
    """A per-layer variable drawn at the embedding (the paper's probing layer), else the last layer."""
    if "layer" not in value.dims:
        return value, ""
    names = [str(s) for s in ds["layer_name"].values] if "layer_name" in ds.coords else []
    i = names.index("embedding") if "embedding" in names else ds.sizes["layer"] - 1
    label = names[i] if names else f"layer {ds['layer'].values[i]}"
    return value.isel(layer=i), label


def plot_curves(ds: xr.Dataset, out: str | Path, var: str = "knn_accuracy") -> Path:
    require(ds, [var], "curves over epochs")
    if "epoch" not in ds[var].dims:
        raise ValueError(f"{var} has dimensions {ds[var].dims}; curves need the dimension 'epoch'")
    value, layer = pick_layer(ds, done_only(ds, var))
    dims = swept_dims(ds)
    line_dim = LINE_DIM.get(preset_of(ds))
    line_dim = line_dim if line_dim in dims else (dims[-1] if dims else None)
    panel_dims = [d for d in dims if d != line_dim]
    panels = selections(ds, panel_dims)
    chance = chance_level(ds)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.4 * ncols, 4.0 * nrows), squeeze=False, sharey=True)
    epochs = ds["epoch"].values
    for ax, sel in zip(axes.flat, panels):
        part = value.sel(sel)
        lines = selections(ds, [line_dim]) if line_dim else [{}]
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(lines)))
        for colour, line in zip(colours, lines):
            mean, low, high = seed_spread(part.sel(line))
            ax.plot(
                epochs,
                mean.values,
                color=colour,
                lw=1.5,
                label=value_label(ds, line_dim, line[line_dim]) if line else var,
            )
            if "seed" in part.dims and part.sizes["seed"] > 1:
                ax.fill_between(epochs, low.values, high.values, color=colour, alpha=0.2, lw=0)
        init = initial_level(ds, var, part)
        reference_lines(ax, chance, init)
        ax.set_xlabel("epochs")
        ax.set_title(selection_label(ds, sel), fontsize=9)
        ax.legend(fontsize=7, title=line_dim, title_fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(axis_label(ds, var) + (f" at {layer}" if layer else ""))
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    preset = preset_of(ds) or ds.attrs.get("grid_name", "") or ds.attrs.get("title", "")
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(f"{preset}: mean over {seeds} seed(s), band = min to max over seeds", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, ds)
