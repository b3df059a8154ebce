"""LayerMem (Wang et al., NeurIPS 2024): SSLMem computed at every layer, from the alignment of that
layer's representations of two views under models trained with and without the example. Left: the
mean over the pool's examples at each layer (band: the standard error of that mean over examples),
for the examples known to be memorised (injected outliers or wrong labels) and for the others;
right: ΔLayerMem, the increment from one layer to the next (what the layer adds)."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import require, save_figure
from benign.plots.memorization_scores import KNOWN, planted


def layer_means(ds: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """group -> (mean LayerMem per layer, standard error of that mean over the group's examples), for
    every example ('all') and, where the grid marks some as known to be memorised, each part."""
    require(ds, ["layermem_score", "layer_name"], "LayerMem")
    score = ds["layermem_score"].transpose("example", "layer").values
    groups = {"all examples": np.ones(score.shape[0], bool)}
    found = planted(ds)
    if found is not None:
        _, known, others = KNOWN[found[0]]
        groups = {known: found[1], others: ~found[1]}
    out = {}
    for name, rows in groups.items():
        s = score[rows]
        n = np.isfinite(s).sum(0)
        mean = np.nanmean(s, 0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a layer with one example: no spread
            se = (
                np.nanstd(s, 0, ddof=1) / np.sqrt(np.maximum(n, 1)) if s.shape[0] > 1 else np.zeros_like(mean)
            )
        out[name] = (mean, se)
    return out


def distinct_layers(ds: xr.Dataset) -> xr.Dataset:
    """The layers whose scores are not those of the layer before (the built-in networks' embedding is
    layer 4 averaged over space: the same numbers, drawn once)."""
    score = ds["layermem_score"].transpose("layer", ...).values
    keep = [0] + [
        i for i in range(1, len(score)) if not np.array_equal(score[i], score[i - 1], equal_nan=True)
    ]
    return ds.isel(layer=keep)


def plot_layer_memorization(ds: xr.Dataset, out: str | Path) -> Path:
    ds = distinct_layers(ds)
    means = layer_means(ds)
    names = [str(n) for n in ds["layer_name"].values]
    x = np.arange(len(names))
    models = int((ds["status"] == 1).sum()) if "status" in ds else 0
    fig, (level, delta) = plt.subplots(1, 2, figsize=(11, 4.4))
    width = 0.8 / len(means)
    for i, (group, (mean, se)) in enumerate(means.items()):
        colour = "tab:red" if i == 0 and len(means) > 1 else "tab:blue"
        level.plot(x, mean, marker="o", color=colour, label=group)
        level.fill_between(x, mean - se, mean + se, color=colour, alpha=0.2)
        level_change = np.diff(mean, prepend=0.0)
        delta.bar(x + (i - (len(means) - 1) / 2) * width, level_change, width, color=colour, label=group)
    level.axhline(0.0, color="0.6", linestyle="--", linewidth=1)
    delta.axhline(0.0, color="0.6", linewidth=1)
    for ax in (level, delta):
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_xlabel("layer (convolutional maps averaged over space)")
        ax.legend()
    level.set_ylabel("LayerMem\n(alignment loss without − with the example)")
    delta.set_ylabel("ΔLayerMem\n(change from the layer before)")
    fig.suptitle(f"LayerMem over {models} models: where in the network are the examples memorised?")
    fig.tight_layout()
    return save_figure(fig, Path(out).with_suffix(".png"), ds)
