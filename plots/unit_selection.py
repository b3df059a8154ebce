"""UnitMem's known answer (theory.unit_memorization.unit_selections): at each layer, the share of the
selective examples of the top decile of units by UnitMem, and of every live unit, that are known to
be memorised (injected wrong labels, injected outlier images), against their share of the models'
training examples: the rate at which a unit would select them by chance. Bars: pooled over the
grid's models; error bars: the standard error over models of each model's share."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import require, save_figure
from benign.plots.memorization_scores import KNOWN, planted

SELECTIONS = {"top": "example_layer_top_units", "all": "example_layer_units"}


def selection_shares(ds: xr.Dataset, distinct: bool = True) -> dict:
    """{'layers': names, 'known': what the planted examples are, 'base': their share of the training
    examples, 'models': m, and per selection ('top', 'all'): (share per layer, standard error)} over
    the done models, at the layers with UnitMem (non-negative activations); with `distinct`, a layer
    with the selections of the layer before is left out (the built-in networks' embedding is layer 4
    averaged over space: the same units)."""
    require(ds, [*SELECTIONS.values(), "in_training", "layer_name"], "UnitMem selections")
    found = planted(ds)
    if found is None:
        raise ValueError("the grid plants no examples known to be memorised (wrong labels or outliers)")
    done = (ds["status"] == 1).values if "status" in ds else np.ones(ds.sizes["seed"], bool)
    marks = found[1].astype(float)
    inside = ds["in_training"].transpose("seed", "example").values[done]
    counts = {k: ds[v].transpose("seed", "example", "layer").values[done] for k, v in SELECTIONS.items()}
    names = [str(n) for n in ds["layer_name"].values]
    keep = [
        j
        for j in range(len(names))
        if np.isfinite(counts["top"][..., j]).all()
        and not (distinct and j and np.array_equal(counts["top"][..., j], counts["top"][..., j - 1]))
    ]
    out = {
        "layers": [names[j] for j in keep],
        "known": KNOWN[found[0]][1],
        "base": float((inside * marks).sum() / inside.sum()),
        "models": int(done.sum()),
    }
    for key, c in counts.items():
        c = c[..., keep]  # (models, examples, layers)
        hits, total = (c * marks[None, :, None]).sum(1), c.sum(1)
        per_model = hits / np.maximum(total, 1)
        se = per_model.std(0, ddof=1) / np.sqrt(len(c)) if len(c) > 1 else np.zeros(len(keep))
        out[key] = (hits.sum(0) / np.maximum(total.sum(0), 1), se)
    return out


def example_unit_scores(ds: xr.Dataset) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(layers, scores (examples, layers), planted (examples,)): each example's largest UnitMem among
    the units that select it (0 if none), averaged over the done models that trained on it, at the
    layers of `selection_shares`; examples no model trained on are left out."""
    s = selection_shares(ds)
    names = [str(n) for n in ds["layer_name"].values]
    done = (ds["status"] == 1).values if "status" in ds else np.ones(ds.sizes["seed"], bool)
    inside = ds["in_training"].transpose("seed", "example").values[done]
    best = ds["example_layer_unit_mem"].transpose("seed", "example", "layer").values[done]
    best = best[..., [names.index(n) for n in s["layers"]]]
    seen = inside.sum(0) > 0
    mean = (best * inside[..., None]).sum(0)[seen] / inside.sum(0)[seen, None]
    return s["layers"], mean, planted(ds)[1][seen]


def plot_unit_selection(ds: xr.Dataset, out: str | Path) -> Path:
    s = selection_shares(ds)
    x = np.arange(len(s["layers"]))
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for i, (key, label, colour) in enumerate(
        (("top", "top decile of units by UnitMem", "tab:red"), ("all", "every live unit", "tab:blue"))
    ):
        share, se = s[key]
        ax.bar(x + (i - 0.5) * 0.38, share, 0.38, yerr=se, capsize=3, color=colour, label=label)
    ax.axhline(
        s["base"], color="0.3", linestyle="--", linewidth=1, label=f"chance: their share ({s['base']:.3f})"
    )
    ax.set_xticks(x, s["layers"], rotation=30, ha="right")
    ax.set_xlabel("layer (convolutional maps averaged over space)")
    ax.set_ylabel(f"share of the units' selective examples\nthat are {s['known']}")
    ax.legend()
    ax.set_title(f"UnitMem over {s['models']} models: do the most memorising units select the {s['known']}?")
    fig.tight_layout()
    return save_figure(fig, Path(out).with_suffix(".png"), ds)
