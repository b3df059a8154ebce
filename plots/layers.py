"""Figure 4: layer-wise k-NN probing at the last epoch, x = layer (layer1..layer4, embedding,
projector hidden layer, output): fitted on clean training labels and scored on the clean test set
(knn_clean), and fitted and scored on the random training labels (knn_noisy); thin lines give the
same probes at initialisation (epoch 0), the dotted line random guessing. Beside it, the training
loss over epochs. One row per value of the swept parameters."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import (
    axis_label,
    chance_level,
    done_only,
    reference_lines,
    require,
    save_figure,
    seed_spread,
    selection_label,
    selections,
    swept_dims,
)

PROBES = {
    "knn_clean": ("clean labels, test set", "tab:blue"),
    "knn_noisy": ("random labels, training set", "tab:red"),
}


def layer_names(ds: xr.Dataset) -> list[str]:
    if "layer_name" in ds.coords:
        return [str(s) for s in ds["layer_name"].values]
    return [f"layer {v}" for v in ds["layer"].values]


def plot_layers(ds: xr.Dataset, out: str | Path) -> Path:
    require(ds, list(PROBES), "layer-wise probing (figure 4)")
    if not {"layer", "epoch"} <= set(ds["knn_clean"].dims):
        raise ValueError(
            f"knn_clean has dimensions {ds['knn_clean'].dims}; figure 4 needs 'layer' and 'epoch'"
        )
    rows = selections(ds, swept_dims(ds))
    has_loss = "train_loss" in ds
    fig, axes = plt.subplots(
        len(rows), 1 + has_loss, figsize=(6.0 * (1 + has_loss), 4.0 * len(rows)), squeeze=False
    )
    names = layer_names(ds)
    x = np.arange(len(names))
    chance = chance_level(ds)
    for row, sel in zip(axes, rows):
        ax = row[0]
        for var, (label, colour) in PROBES.items():
            value = done_only(ds, var).sel(sel).transpose(..., "layer")
            mean, low, high = seed_spread(value.isel(epoch=-1))
            ax.plot(x, mean.values, "o-", color=colour, label=f"{label}, epoch {float(ds['epoch'][-1]):g}")
            ax.fill_between(x, low.values, high.values, color=colour, alpha=0.2, lw=0)
            if float(ds["epoch"][0]) == 0:
                init = seed_spread(value.isel(epoch=0))[0]
                ax.plot(
                    x, init.values, ".--", color=colour, lw=0.8, alpha=0.7, label=f"{label}, initialisation"
                )
        reference_lines(ax, chance, None)
        ax.set_xticks(x, names, rotation=30, fontsize=8)
        ax.set_ylabel("k-NN accuracy")
        ax.set_title(
            f"k-NN probing per layer{' (' + selection_label(ds, sel) + ')' if sel else ''}", fontsize=9
        )
        ax.legend(fontsize=7)
        if has_loss:
            loss = done_only(ds, "train_loss").sel(sel)
            mean, low, high = seed_spread(loss)
            row[1].plot(ds["epoch"].values, mean.values, color="black")
            row[1].fill_between(ds["epoch"].values, low.values, high.values, color="grey", alpha=0.3, lw=0)
            row[1].set_xlabel("epochs")
            row[1].set_ylabel(axis_label(ds, "train_loss"))
            row[1].set_title("training loss", fontsize=9)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(f"figure 4: mean over {seeds} seed(s), band = min to max over seeds", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, ds)
