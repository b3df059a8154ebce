"""Figure 7: normalized invariance (eq. 2; lower = more invariant) over epochs, one line per layer,
one panel per setting, with the k-NN probing error of the embedding (1 - knn_accuracy) dashed on a
second axis."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import (
    done_only,
    require,
    save_figure,
    seed_spread,
    selection_label,
    selections,
    swept_dims,
)
from benign.plots.layers import layer_names


def plot_invariance(ds: xr.Dataset, out: str | Path) -> Path:
    require(ds, ["invariance"], "figure 7")
    if not {"layer", "epoch"} <= set(ds["invariance"].dims):
        raise ValueError(
            f"invariance has dimensions {ds['invariance'].dims}; figure 7 needs 'layer' and 'epoch'"
        )
    panels = selections(ds, swept_dims(ds))
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.8 * nrows), squeeze=False, sharey=True)
    epochs = ds["epoch"].values
    names = layer_names(ds)
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(names)))
    invariance = done_only(ds, "invariance")
    accuracy = done_only(ds, "knn_accuracy") if "knn_accuracy" in ds else None
    for ax, sel in zip(axes.flat, panels):
        part = invariance.sel(sel)
        for i, (name, colour) in enumerate(zip(names, colours)):
            mean = seed_spread(part.isel(layer=i))[0]
            ax.plot(epochs, mean.values, color=colour, lw=1.3, label=name)
        ax.set_xlabel("epochs")
        ax.set_title(selection_label(ds, sel) or "normalized invariance", fontsize=9)
        if accuracy is not None:
            twin = ax.twinx()
            error = 1 - seed_spread(accuracy.sel(sel))[0]
            twin.plot(epochs, error.values, "k--", lw=1.2, label="k-NN probing error")
            twin.set_ylim(0, 1)
            twin.tick_params(labelsize=7)
            if sel == panels[-1]:
                twin.set_ylabel("k-NN probing error (dashed)")
    axes[0, 0].set_ylabel("normalized invariance (lower: more invariant)")
    axes[0, 0].legend(fontsize=7, title="layer", title_fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(f"figure 7: normalized invariance per layer, mean over {seeds} seed(s)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, ds)
