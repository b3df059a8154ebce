"""Figure 6: k-NN probing accuracy (left) and the final training loss (right) against the number B of
fixed augmentations per image, on a log B axis, one row per labelling rule of the augmentations
(label-preserving 'image' or a fresh random label each, 'random'). A heatmap: colour is the value."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import (
    CURVE_DIMS,
    axis_label,
    chance_level,
    done_only,
    require,
    save_figure,
    selection_label,
    selections,
    swept_dims,
    text_colour,
    value_label,
)
from benign.plots.heatmap import log_edges

BANK, RULE = "bank", "bank_labels"


def final_value(value: xr.DataArray) -> xr.DataArray:
    """The value at the end of the learning curve."""
    for dim in CURVE_DIMS:
        if dim in value.dims:
            return value.isel({dim: -1})
    return value


def plot_bank_heatmaps(ds: xr.Dataset, out: str | Path, var: str = "knn_final") -> list[Path]:
    require(ds, [var], "figure 6")
    if BANK not in ds[var].dims:
        raise ValueError(f"{var} has dimensions {ds[var].dims}; figure 6 needs the dimension {BANK!r}")
    out = Path(out)
    extra = [d for d in swept_dims(ds) if d not in (BANK, RULE)]
    paths = []
    for sel in selections(ds, extra):
        name = (
            out
            if not sel
            else out.with_name(out.stem + "-" + "-".join(f"{d}={v}" for d, v in sel.items()) + out.suffix)
        )
        paths.append(_one(ds.sel(sel), name, var, selection_label(ds, sel)))
    return paths


def _one(ds: xr.Dataset, out: Path, var: str, subtitle: str) -> Path:
    panels = [(axis_label(ds, var), final_value(done_only(ds, var)), "viridis")]
    if "train_loss" in ds:
        panels.append(
            ("final " + axis_label(ds, "train_loss"), final_value(done_only(ds, "train_loss")), "magma_r")
        )
    banks = ds[BANK].values
    rules = ds[RULE].values if RULE in ds.dims else [None]
    xe = log_edges(banks)
    chance = chance_level(ds)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.2 * len(panels), 1.6 + 0.9 * len(rules)), squeeze=False
    )
    for ax, (label, value, cmap) in zip(axes[0], panels):
        mean = value.mean("seed") if "seed" in value.dims else value
        grid = mean.transpose(RULE, BANK).values if RULE in mean.dims else mean.values[None, :]
        low = chance if (chance is not None and cmap == "viridis") else None
        mesh = ax.pcolormesh(xe, np.arange(len(rules) + 1), grid, cmap=cmap, vmin=low)
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                colour = text_colour(mesh.cmap(mesh.norm(v)))
                ax.text(banks[j], i + 0.5, f"{v:.2f}", ha="center", va="center", fontsize=6, color=colour)
        fig.colorbar(mesh, ax=ax)
        ax.set_xscale("log")
        ax.set_xticks(banks, [f"{b:g}" for b in banks], fontsize=7)
        ax.minorticks_off()
        ax.set_xlim(xe[0], xe[-1])
        ax.set_yticks(
            np.arange(len(rules)) + 0.5,
            ["" if r is None else value_label(ds, RULE, r) for r in rules],
            fontsize=8,
        )
        ax.set_xlabel("number of augmentations B")
        ax.set_ylabel("labels of the augmentations")
        ax.set_title(label, fontsize=9)
    seeds = ds.sizes.get("seed", 1)
    note = f"; random guessing {chance:.2f}" if chance is not None else ""
    fig.suptitle(
        f"figure 6{' (' + subtitle + ')' if subtitle else ''}: mean over {seeds} seed(s){note}", fontsize=10
    )
    fig.tight_layout()
    return save_figure(fig, out, ds)
