"""Memorization profiles against binomial noise (section 4.1, appendix B).

If every example (or example-augmentation pair) were equally hard, p_t(x~) would be Bin(N, p)/N
with p estimated by the mean of p_t (appendix B, eq. 3). A profile is compared with that null by

- the mean absolute error between the sorted profile and sorted binomial noise of the same size,
  averaged over several draws; its null value (the `floor`) is the same MAE between two independent
  binomial samples, so a profile "close to binomial" has MAE near the floor;
- Pearson's chi-square test of the histogram of k = round(N p_t(x)) against K Bin(N, p_hat) pmf,
  adjacent bins pooled until every expected count is >= 5, dof = bins - 2 (p is estimated).

For p_t(x) averaged over M augmentations the paper still uses Bin(N, p_hat)/N (trials = N). That
comparison overstates unevenness: if every (network, augmentation) pair were an independent coin
of one probability, p_t(x) would be Bin(N*M, p)/(N*M), much narrower than Bin(N, p)/N, so a
perfectly homogeneous profile already reads as far from binomial (`calibration` measures it). The
tables therefore give both: trials = N (the paper's) and trials = N*M (exact under that null). For
p_t(x~), one augmentation fixed, trials = N is exact.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

THRESHOLDS = (0.25, 0.5, 0.75)
ALIGN_TOL = 0.02


def sorted_profile(p) -> np.ndarray:
    return np.sort(np.asarray(p, dtype=np.float64).ravel())


def binomial_curve(p_hat: float, trials: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted Bin(trials, p_hat)/trials noise of `size` examples."""
    return np.sort(rng.binomial(trials, min(max(p_hat, 0.0), 1.0), size) / trials)


def mae_to_binomial(p, trials: int, draws: int = 20, seed: int = 0) -> tuple[float, float, float]:
    """(MAE, its std over draws, floor): mean |sorted p - sorted Bin(trials, p_hat)/trials| over
    `draws` noise samples, and the same between two independent noise samples (the null value)."""
    s = sorted_profile(p)
    rng = np.random.default_rng(seed)
    p_hat = float(s.mean())
    maes = np.array([np.abs(s - binomial_curve(p_hat, trials, s.size, rng)).mean() for _ in range(draws)])
    floor = np.mean(
        [
            np.abs(
                binomial_curve(p_hat, trials, s.size, rng) - binomial_curve(p_hat, trials, s.size, rng)
            ).mean()
            for _ in range(draws)
        ]
    )
    return float(maes.mean()), float(maes.std()), float(floor)


def chi_square(p, trials: int, min_expected: float = 5.0) -> tuple[float, int, float]:
    """(statistic, dof, p-value) of the counts of k = round(trials p_t) against Bin(trials, p_hat).
    A profile with every value equal to 0 or to 1 is exactly binomial (p-value 1)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    k = np.clip(np.rint(p * trials).astype(int), 0, trials)
    p_hat = k.mean() / trials
    if p_hat <= 0.0 or p_hat >= 1.0:
        return 0.0, 0, 1.0
    observed = np.bincount(k, minlength=trials + 1).astype(float)
    expected = p.size * stats.binom.pmf(np.arange(trials + 1), trials, p_hat)
    obs_bins, exp_bins, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected):
        o, e = o + oi, e + ei
        if e >= min_expected:
            obs_bins.append(o), exp_bins.append(e)
            o, e = 0.0, 0.0
    if e > 0 or o > 0:  # the tail left over joins the last bin
        if exp_bins:
            obs_bins[-1] += o
            exp_bins[-1] += e
        else:
            obs_bins, exp_bins = [o], [e]
    obs_bins, exp_bins = np.array(obs_bins), np.array(exp_bins)
    dof = len(obs_bins) - 2
    if dof < 1:
        return 0.0, 0, 1.0
    stat = float(((obs_bins - exp_bins) ** 2 / exp_bins).sum())
    return stat, dof, float(stats.chi2.sf(stat, dof))


def compare(p, trials: int, draws: int = 20, seed: int = 0) -> dict:
    """Everything about one profile against binomial noise, as a flat dict."""
    mae, mae_std, floor = mae_to_binomial(p, trials, draws, seed)
    stat, dof, pval = chi_square(p, trials)
    return {
        "p_hat": float(np.mean(p)),
        "mae": mae,
        "mae_std": mae_std,
        "floor": floor,
        "chi2": stat,
        "dof": dof,
        "p_value": pval,
    }


def coin_profiles(
    networks: int, augmentations: int, examples: int, p: float, rng: np.random.Generator
) -> np.ndarray:
    """p_t(x) of the homogeneous null: every (network, augmentation) pair of every example an
    independent coin of probability p, averaged over networks and augmentations."""
    coins = rng.random((networks, augmentations, examples)) < p
    return coins.mean(axis=(0, 1))


def calibration(
    networks: int = 30,
    augmentations: int = 10,
    examples: int = 1000,
    replicates: int = 200,
    p: float = 0.5,
    draws: int = 20,
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Both comparisons on `replicates` profiles of independent coins (`coin_profiles`).

    Returns {"N": stats, "NM": stats}, stats = {"mae", "floor", "p_value"} arrays (replicates,).
    A comparison that holds under the null has MAE at its floor and uniform chi-square p-values:
    "NM" does (it is exact), "N" does not once augmentations > 1.
    """
    for name, v in (("networks", networks), ("augmentations", augmentations), ("examples", examples)):
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    if replicates < 1 or draws < 1:
        raise ValueError("replicates and draws must be at least 1")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    rng = np.random.default_rng(seed)
    out = {rule: {k: np.empty(replicates) for k in ("mae", "floor", "p_value")} for rule in ("N", "NM")}
    for r in range(replicates):
        prof = coin_profiles(networks, augmentations, examples, p, rng)
        for rule, trials in (("N", networks), ("NM", networks * augmentations)):
            stats_r = compare(prof, trials, draws, seed=seed + r)
            out[rule]["mae"][r] = stats_r["mae"]
            out[rule]["floor"][r] = stats_r["floor"]
            out[rule]["p_value"][r] = stats_r["p_value"]
    return out


def closest_epochs(mean_p, epochs, thresholds=THRESHOLDS) -> list:
    """For each threshold, the epoch whose mean p_t is closest to it, reached or not."""
    mean_p = np.asarray(mean_p, dtype=np.float64)
    epochs = np.asarray(epochs)
    ok = np.isfinite(mean_p)
    if not ok.any():
        raise ValueError("no finished epoch to align")
    m, e = mean_p[ok], epochs[ok]
    return [e[int(np.argmin(np.abs(m - q)))].item() for q in thresholds]


def reached(mean_p, q: float, tol: float = ALIGN_TOL) -> bool:
    """The recorded epochs bracket mean p_t = q (to `tol`): some epoch at or below q + tol and some
    at or above q - tol. Not so when training never got there, or was past it at the first epoch."""
    m = np.asarray(mean_p, dtype=np.float64)
    m = m[np.isfinite(m)]
    return bool(m.size) and m.min() <= q + tol and m.max() >= q - tol


def align_epochs(mean_p, epochs, thresholds=THRESHOLDS, tol: float = ALIGN_TOL) -> list:
    """For each threshold, the epoch whose mean p_t is closest to it (section 4.2), or None when
    the recorded epochs do not reach it (`reached`): epochs of different methods are compared at
    equal mean p_t, and a method that never gets there has no such epoch."""
    close = closest_epochs(mean_p, epochs, thresholds)
    return [e if reached(mean_p, q, tol) else None for q, e in zip(thresholds, close)]


def augmentation_variance(fixed_p, aug_axis: int = 0) -> np.ndarray:
    """Variance of p_t(x~) across the augmentations of each image (figure 4)."""
    return np.asarray(fixed_p, dtype=np.float64).var(axis=aug_axis)
