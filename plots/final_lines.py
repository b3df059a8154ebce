"""Figures 10 and 13: the final probe accuracy against label noise, one line per value of the other
swept parameters (with or without augmentation, ...) and, for figure 10's transfer probe
(knn_transfer), per target dataset; error bars = min to max over seeds. Figure 13 has the
random-guessing line and the probe at initialisation (the claim: with augmentation above it at 100%
label noise, without below); figure 10 the transfer probe at initialisation (dashed, per target)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from benign.plots.grid_result import (
    CURVE_DIMS,
    axis_label,
    chance_level,
    config_of,
    done_only,
    initial_level,
    reference_lines,
    require,
    save_figure,
    seed_spread,
    selection_label,
    selections,
    swept_dims,
    value_label,
)


def x_dim(ds: xr.Dataset, var: str) -> str:
    """label_noise when swept, else the first numeric swept parameter (one without a `<dim>_name`)."""
    dims = [d for d in swept_dims(ds) if d in ds[var].dims]
    if "label_noise" in dims:
        return "label_noise"
    numeric = [d for d in dims if f"{d}_name" not in ds.coords]
    if not numeric:
        raise ValueError(
            f"{var} has no numeric swept dimension to draw lines over (dimensions {ds[var].dims})"
        )
    return numeric[0]


def default_variable(ds: xr.Dataset) -> str:
    """Figure 10 draws the transfer probe when the grid has one."""
    return "knn_transfer" if "knn_transfer" in ds else "knn_final"


def plot_final_lines(ds: xr.Dataset, out: str | Path, var: str | None = None) -> Path:
    var = var or default_variable(ds)
    require(ds, [var], "lines of final accuracy")
    if {*CURVE_DIMS, "layer"} & set(ds[var].dims):
        raise ValueError(
            f"{var} varies over epochs or layers; lines are drawn from a final value such as knn_final"
        )
    x = x_dim(ds, var)
    value = done_only(ds, var)
    others = [d for d in value.dims if d not in (x, "seed")]  # other swept parameters, transfer target
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    xs = ds[x].values.astype(float)
    per_sample = x == "label_classes" and 0 in xs  # figure 9: 0 = one class per sample, the most classes
    if per_sample:
        xs = np.where(
            xs == 0, max(float(config_of(ds).get("params", {}).get("subset") or 0), 4 * xs.max()), xs
        )
    order = np.argsort(xs)
    for sel in selections(ds, others):
        mean, low, high = seed_spread(value.sel(sel))
        m, lo, hi = mean.values[order], low.values[order], high.values[order]
        ax.errorbar(
            xs[order],
            m,
            yerr=[m - lo, hi - m],
            marker="o",
            capsize=3,
            label=selection_label(ds, sel) or var,
        )
    init_var = f"{var}_init" if f"{var}_init" in ds else None
    if init_var and "target" in ds[init_var].dims:
        init = done_only(ds, init_var)
        for i, t in enumerate(ds["target"].values):
            level = float(init.sel(target=t).mean())
            ax.axhline(
                level,
                color=f"C{i}",
                ls="--",
                lw=0.9,
                alpha=0.7,
                label=f"initialisation, {value_label(ds, 'target', t)} ({level:.2f})",
            )
    if "transfer" not in var:  # random guessing and the init probe refer to the training dataset
        reference_lines(ax, chance_level(ds), initial_level(ds, var, value))
    if x == "label_noise":
        ax.set_xticks(xs, [f"{100 * v:g}%" for v in xs])
    ax.set_xlabel(x.replace("_", " "))
    if xs.min() > 0 and xs.max() / xs.min() >= 8:  # widths, sizes: a factor apart, as the paper draws them
        ax.set_xscale("log", base=2)
    if per_sample:
        ax.set_xticks(xs, [f"{v:g}" if c else f"per sample ({v:g})" for v, c in zip(xs, ds[x].values)])
    ax.set_ylabel(axis_label(ds, var))
    ax.legend(fontsize=7)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(
        f"final {var} against {x.replace('_', ' ')}; mean over {seeds} seed(s), bars = min to max",
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, out, ds)
