"""The scaling collapse of figure 14's claim: if what decides benign against malign memorization is
the effective sample size n*B measured against the capacity C_t (appendix D.1), then the k-NN
accuracy of every cell of a toy grid is one monotone function of n*B / C_t, whatever n, B and the
parameters that set C_t (K, steps, d, ...).

The picture has two panels sharing the y axis (k-NN accuracy, mean over seeds, one point per cell,
colour = n): left against n*B, right against n*B / C_t with C_t the middle of the capacity bracket
measured at the same step budget (horizontal bars: the bracket from n*B/upper to n*B/lower). How
tightly each panel collapses onto one curve is the spread around an isotonic (monotone
non-decreasing) fit of accuracy on x: the RMS of the residuals and R^2 = 1 - SS_res / SS_tot, written
in the picture and returned by `collapse_spread`. The spread that seed noise alone leaves in a mean
over seeds (`seed_noise_rms`, after removing each seed's shift common to all cells) is the floor
neither panel can go below.

On a grid with a single C_t (plain figure 14, no swept capacity parameter) n*B / C_t is n*B times a
constant: the right panel is the left one shifted, both spreads are equal by construction, and the
picture only measures how well n*B alone (the paper's effective sample size) orders the cells. The
collapse is a real test when the grid sweeps a parameter that changes C_t.

Neither has to be the variable that collapses the cells. `collapse_spread` also fits two
one-parameter-per-knob families and measures a third candidate:

- x = n^a B^b / C_t, (a, b) chosen on a grid to minimise the spread (a = b = 1 is n*B / C_t);
- x = n B_eff(B) / C_t with B_eff(B) = B / (1 + (B - 1) / B_0), an effective number of augmentations
  that grows like B for B << B_0 and saturates at about B_0 (B_0 fitted);
- x = B^b max(n / C_t, C_t / n)^a, the distance of n from the capacity on a log scale (and B): on
  the fig14k grids accuracy is U-shaped in n at fixed B, lowest where n is near C_t (the points can
  just be memorised) and higher on both sides, which no function of n^a B^b / C_t can follow (only
  a / b is identified: a power of x orders the cells alike);
- the measured normalized invariance of the encoder (eq. 2), against which accuracy should fall.

The picture adds the best of the two fitted families and the invariance as third and fourth panels.
Monotone fits pool cells with equal x (they get one fitted value) and use
scipy.optimize.isotonic_regression.

Accuracy rather than the gain over initialisation: in a mean over seeds the two differ by a constant
when the initial probe depends only on the seed (as in the toy), and accuracy is what figure 14 shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm
from scipy.optimize import isotonic_regression

from benign.plots.grid_result import chance_level, done_only, require, save_figure

FAMILIES = ("power", "saturating", "threshold")  # the fitted candidates
POWER_GRID = np.round(np.linspace(0.0, 2.0, 41), 3)  # exponents a, b tried
B0_GRID = np.geomspace(1.0, 4096.0, 49)  # saturation points B_0 tried


def monotone_fit(x: np.ndarray, y: np.ndarray, increasing: bool = True) -> np.ndarray:
    """Least-squares monotone fit of y on x (cells with equal x pooled into one value), in x's order."""
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y, minlength=len(values)) / counts
    fitted = isotonic_regression(means, weights=counts.astype(float), increasing=increasing).x
    return fitted[inverse]


def collapse_points(ds: xr.Dataset, var: str = "knn_acc") -> dict[str, np.ndarray]:
    """One entry per cell done (mean over seeds): n, B, n*B, C_t's bracket and middle, n*B / C_t, y."""
    require(ds, [var, "capacity_lower", "capacity_upper"], "the scaling collapse")
    if not {"n", "B"} <= set(ds[var].dims):
        raise ValueError(f"{var} has dimensions {ds[var].dims}; the collapse needs a toy grid over n and B")
    value = done_only(ds, var)
    mean = value.mean("seed") if "seed" in value.dims else value
    if "seed" in value.dims:
        # a seed's effect shared by every cell (the toy's initial probe depends on the seed only)
        # shifts the whole curve and is no spread around it: remove it before taking the variance
        own = value - value.mean([d for d in value.dims if d != "seed"])
        spread = own.var("seed", ddof=1) / own.count("seed")
    else:
        spread = xr.zeros_like(mean)
    lower, upper = xr.broadcast(ds["capacity_lower"].astype(float), ds["capacity_upper"].astype(float), mean)[
        :2
    ]
    nB = (ds["n"] * ds["B"]).astype(float).broadcast_like(mean)
    upper_finite = upper.where(np.isfinite(upper), lower)
    middle = (lower + upper_finite) / 2
    keep = (np.isfinite(mean) & (lower > 0)).values.ravel()
    extra = {}
    if "invariance" in ds:
        inv = done_only(ds, "invariance")
        extra["invariance"] = inv.mean("seed") if "seed" in inv.dims else inv
    if not keep.any():
        raise ValueError("the collapse has no cell that is done and has a positive capacity")
    flat = {
        name: a.transpose(*mean.dims).values.ravel()[keep].astype(float)
        for name, a in {
            "n": ds["n"].broadcast_like(mean),
            "B": ds["B"].broadcast_like(mean),
            "nB": nB,
            "lower": lower,
            "upper": upper,
            "capacity": middle,
            "y": mean,
            "seed_variance_of_mean": spread,
            **extra,
        }.items()
    }
    flat["x"] = flat["nB"] / flat["capacity"]
    return flat


def isotonic_spread(x: np.ndarray, y: np.ndarray, increasing: bool = True) -> dict[str, float]:
    """RMS of the residuals around the monotone fit of y on x, and R^2 of that fit."""
    residual = y - monotone_fit(x, y, increasing)
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rms": float(np.sqrt(np.mean(residual**2))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else 1.0,
    }


def power_variable(p: dict, a: float, b: float) -> np.ndarray:
    return p["n"] ** a * p["B"] ** b / p["capacity"]


def threshold_variable(p: dict, a: float, b: float) -> np.ndarray:
    return p["B"] ** b * np.maximum(p["n"] / p["capacity"], p["capacity"] / p["n"]) ** a


def saturating_variable(p: dict, B0: float) -> np.ndarray:
    return p["n"] * (p["B"] / (1.0 + (p["B"] - 1.0) / B0)) / p["capacity"]


def _fit_exponents(p: dict, variable) -> dict[str, float]:
    best = min(
        ((isotonic_spread(variable(p, a, b), p["y"])["rms"], a, b) for a in POWER_GRID for b in POWER_GRID),
        key=lambda t: t[0],
    )
    return {
        "a": float(best[1]),
        "b": float(best[2]),
        **isotonic_spread(variable(p, best[1], best[2]), p["y"]),
    }


def fit_power(p: dict) -> dict[str, float]:
    """The exponents (a, b) of x = n^a B^b / C_t whose monotone fit leaves the least spread."""
    return _fit_exponents(p, power_variable)


def fit_threshold(p: dict) -> dict[str, float]:
    """The exponents (a, b) of x = B^b max(n / C_t, C_t / n)^a whose monotone fit leaves the least spread."""
    return _fit_exponents(p, threshold_variable)


def fit_saturating(p: dict) -> dict[str, float]:
    """The saturation point B_0 of x = n B_eff(B) / C_t whose monotone fit leaves the least spread."""
    best = min(
        ((isotonic_spread(saturating_variable(p, B0), p["y"])["rms"], B0) for B0 in B0_GRID),
        key=lambda t: t[0],
    )
    return {"B0": float(best[1]), **isotonic_spread(saturating_variable(p, best[1]), p["y"])}


def collapse_spread(ds: xr.Dataset, var: str = "knn_acc") -> dict:
    """How tightly the cells' accuracy collapses onto one monotone curve against each candidate:
    {'nB', 'nB_over_capacity', 'power' and 'threshold' (with a, b), 'saturating' (with B0), 'invariance' (when measured):
    {'rms', 'r2', ...}, 'best': the fitted family with the smaller RMS, 'seed_noise_rms', 'cells',
    'capacities'}."""
    p = collapse_points(ds, var)
    finite_var = p["seed_variance_of_mean"][np.isfinite(p["seed_variance_of_mean"])]
    out = {
        "nB": isotonic_spread(p["nB"], p["y"]),
        "nB_over_capacity": isotonic_spread(p["x"], p["y"]),
        "power": fit_power(p),
        "saturating": fit_saturating(p),
        "threshold": fit_threshold(p),
    }
    if "invariance" in p and np.isfinite(p["invariance"]).all():
        out["invariance"] = isotonic_spread(p["invariance"], p["y"], increasing=False)
    out["best"] = min(FAMILIES, key=lambda k: out[k]["rms"])
    return {
        **out,
        "seed_noise_rms": float(np.sqrt(finite_var.mean())) if finite_var.size else float("nan"),
        "cells": int(p["y"].size),
        "capacities": sorted({float(c) for c in p["capacity"]}),
    }


def plot_collapse(ds: xr.Dataset, out: str | Path, var: str = "knn_acc") -> Path:
    p = collapse_points(ds, var)
    spread = collapse_spread(ds, var)
    best = spread["best"]
    fit = spread[best]
    if best == "power":
        best_x = power_variable(p, fit["a"], fit["b"])
        best_label = f"n^a B^b / C_t, fitted a = {fit['a']:g}, b = {fit['b']:g}"
    elif best == "threshold":
        best_x = threshold_variable(p, fit["a"], fit["b"])
        best_label = f"B^b max(n/C_t, C_t/n)^a, fitted a = {fit['a']:g}, b = {fit['b']:g}"
    else:
        best_x = saturating_variable(p, fit["B0"])
        best_label = f"n B_eff(B) / C_t, B_eff = B / (1 + (B-1)/B_0), fitted B_0 = {fit['B0']:.3g}"
    bracket = (p["nB"] / np.where(np.isfinite(p["upper"]), p["upper"], np.nan), p["nB"] / p["lower"])
    panels = [
        ("nB", p["nB"], "effective sample size n*B", None, True),
        ("nB_over_capacity", p["x"], "n*B / C_t (C_t: middle of the capacity bracket)", bracket, True),
        (best, best_x, best_label, None, True),
    ]
    if "invariance" in spread:
        panels.append(
            (
                "invariance",
                p["invariance"],
                "measured normalized invariance (eq. 2), mean over seeds",
                None,
                False,
            )
        )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.0 * len(panels), 5.0), sharey=True, layout="constrained"
    )
    norm = LogNorm(p["n"].min(), max(p["n"].max(), p["n"].min() * 1.01))
    chance = chance_level(ds)
    for ax, (key, x, label, bracket, increasing) in zip(axes, panels):
        if bracket is not None:
            low = np.where(np.isfinite(bracket[0]), bracket[0], x)
            ax.errorbar(
                x, p["y"], xerr=[x - low, bracket[1] - x], fmt="none", ecolor="0.75", lw=0.8, zorder=1
            )
            ax.axvline(1.0, color="grey", lw=0.8, ls="-.", label="n*B = C_t")
        points = ax.scatter(x, p["y"], c=p["n"], cmap="viridis", norm=norm, s=18, zorder=2)
        order = np.argsort(x, kind="stable")
        ax.step(
            x[order],
            monotone_fit(x, p["y"], increasing)[order],
            where="post",
            color="tab:red",
            lw=1.2,
            label="isotonic fit",
        )
        if chance is not None:
            ax.axhline(chance, color="grey", ls=":", lw=1.2, label=f"random guessing ({chance:.2f})")
        ax.set_xscale("log")
        ax.set_xlabel(label, fontsize=9)
        s = spread[key]
        ax.set_title(f"spread around the monotone fit: RMS {s['rms']:.3f}, R² {s['r2']:.3f}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right" if increasing else "lower left")
    axes[0].set_ylabel(f"{'k-NN accuracy' if var == 'knn_acc' else var} (mean over seeds)")
    fig.colorbar(points, ax=axes, label="number of samples n")
    caps = spread["capacities"]
    one = len(caps) == 1
    fig.suptitle(
        f"scaling collapse, {spread['cells']} cells; C_t = {', '.join(f'{c:g}' for c in caps[:6])}"
        f"{' ...' if len(caps) > 6 else ''}"
        f"{' (one C_t: n*B / C_t is n*B rescaled)' if one else ''}; "
        f"seed noise of a cell mean: RMS {spread['seed_noise_rms']:.3f}",
        fontsize=10,
    )
    return save_figure(fig, out)
