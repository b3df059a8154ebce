"""Per-example memorization scores against the examples known to be memorised (the injected wrong
labels for Feldman-Zhang, the injected outlier images for SSLMem): the scores' histograms for those
and the others, and the ROC curve of the score finding them, with its AUROC
(theory.memorization_scores.auroc)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import require, save_figure
from benign.theory.memorization_scores import auroc

SCORES = {"fz_score": "Feldman-Zhang memorization", "sslmem_score": "SSLMem"}
# score -> (the variable that marks the examples known to be memorised, their name, the others' name)
KNOWN = {
    "fz_score": ("example_mislabelled", "mislabelled", "labelled correctly"),
    "sslmem_score": ("example_outlier", "injected outliers", "the data's own"),
}


def planted(ds: xr.Dataset) -> tuple[str, np.ndarray] | None:
    """(score, marks) where the grid planted a minority of examples known to be memorised (KNOWN: wrong
    labels at a noise level below one half, injected outliers), else None: with random labels
    everywhere nearly every label is 'wrong' and no example is singled out."""
    for score, (marker, *_) in KNOWN.items():
        if marker in ds and "seed" in ds[marker].dims:
            marks = ds[marker].max("seed").values > 0.5
            if 0 < marks.mean() <= 0.5:
                return score, marks
    return None


def known_answer(ds: xr.Dataset, score: str = "fz_score") -> tuple[np.ndarray, np.ndarray]:
    """(scores, known) of every example with a score, for a grid of one pool (dims seed, example): known
    marks the examples known to be memorised (KNOWN)."""
    marker = KNOWN.get(score, ("example_mislabelled",))[0]
    require(ds, [score, marker], "memorization scores")
    if set(ds[score].dims) != {"example"}:
        raise ValueError(f"{score} varies over {', '.join(ds[score].dims)}; draw one pool at a time")
    mislabelled = ds[marker].max("seed").values > 0.5  # the pool's: the same in every model
    s = ds[score].values
    keep = ~np.isnan(s)
    return s[keep], mislabelled[keep]


def plot_scores(ds: xr.Dataset, out: str | Path, score: str = "fz_score") -> Path:
    from sklearn.metrics import roc_curve

    s, bad = known_answer(ds, score)
    area = auroc(s, bad)
    models = int((ds["status"] == 1).sum()) if "status" in ds else 0
    fig, (hist, roc) = plt.subplots(1, 2, figsize=(10, 4.2))
    # Feldman-Zhang lies in [-1, 1]; SSLMem is a difference of alignment losses: its own range
    bins = np.linspace(-1.0, 1.0, 41) if score == "fz_score" else np.linspace(s.min(), s.max(), 41)
    _, known, others = KNOWN.get(score, ("", "known", "others"))
    hist.hist(s[~bad], bins=bins, alpha=0.7, label=f"{others} ({(~bad).sum()})", color="tab:blue")
    hist.hist(s[bad], bins=bins, alpha=0.7, label=f"{known} ({bad.sum()})", color="tab:red")
    hist.set_xlabel(SCORES.get(score, score))
    hist.set_ylabel("examples")
    hist.legend()
    if bad.any() and (~bad).any():
        fpr, tpr, _ = roc_curve(bad, s)
        roc.plot(fpr, tpr, color="tab:red", label=f"AUROC {area:.3f}")
    roc.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="chance")
    roc.set_xlabel(f"false positive rate ({others} ranked as memorised)")
    roc.set_ylabel(f"true positive rate ({known} found)")
    roc.legend(loc="lower right")
    fig.suptitle(f"{SCORES.get(score, score)} over {models} models: does it find the {known}?")
    fig.tight_layout()
    return save_figure(fig, Path(out).with_suffix(".png"), ds)
