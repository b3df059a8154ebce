"""Per-example memorization scores from models trained on random shares of a pool, and how well a
score finds examples known to be memorised.

Feldman & Zhang (NeurIPS 2020), eq. (1) with their subsampling estimator: m models, model j trained
on a random subset S_j of the pool. The memorization of example i is

    mem(i) = P[h(x_i) = y_i | i in S] - P[h(x_i) = y_i | i not in S],

each probability the mean over the models that did (did not) train on i. Its standard error is that
of a difference of two independent means, sqrt(v_in / m_in + v_out / m_out), v the unbiased sample
variance of the 0/1 outcomes (NaN where a side has fewer than two models).
"""

from __future__ import annotations

import numpy as np


def feldman_zhang(in_training, correct, valid=None) -> tuple[np.ndarray, np.ndarray]:
    """(score, standard error), each (..., n), from in_training and correct of shape (..., m, n):
    model j trained on example i, and model j predicts example i's training label. valid (..., m):
    the models to count (default all). NaN where no model trained on i, or none held it out."""
    c = np.asarray(correct, dtype=float)
    inside = np.asarray(in_training, dtype=float) > 0.5
    if inside.shape != c.shape:
        raise ValueError(f"in_training {inside.shape} and correct {c.shape} differ in shape")
    ok = np.ones(c.shape[:-1], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    ok = np.broadcast_to(ok[..., None], c.shape)
    side = {}
    for name, mask in (("in", inside & ok), ("out", ~inside & ok)):
        k = mask.sum(-2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(mask, c, 0.0).sum(-2) / k
            var = np.where(mask, (c - mean[..., None, :]) ** 2, 0.0).sum(-2) / (k - 1)
        side[name] = (np.where(k > 0, mean, np.nan), np.where(k > 1, var / np.maximum(k, 1), np.nan))
    score = side["in"][0] - side["out"][0]
    return score, np.sqrt(side["in"][1] + side["out"][1])


def auroc(scores, positives) -> float:
    """Area under the ROC curve of `scores` ranking the `positives` (bool) above the rest: the
    probability that a random positive scores above a random negative, ties counting one half.
    NaN scores are left out; NaN when either class is empty."""
    s, p = np.asarray(scores, dtype=float).ravel(), np.asarray(positives, dtype=bool).ravel()
    keep = ~np.isnan(s)
    s, p = s[keep], p[keep]
    n_pos, n_neg = int(p.sum()), int((~p).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(s)  # average ranks: the Mann-Whitney U statistic with ties as halves
    return float((ranks[p].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
