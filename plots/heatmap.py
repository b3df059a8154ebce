"""Figure 14 (and any n x B toy grid): the mean over seeds on log axes, colour from random guessing
to 1, next to the gain over probing at initialisation, with the line n = C_t / B where the effective
sample size n*B reaches the capacity. A grid sweeping more toy parameters gets one picture per value."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import TwoSlopeNorm

from benign.plots.grid_result import (
    chance_level,
    done_only,
    require,
    save_figure,
    selection_label,
    selections,
    swept_dims,
)


def log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints, extended half a step at both ends."""
    v = np.log(np.asarray(values, dtype=float))
    if len(v) == 1:
        return np.exp(np.array([v[0] - 0.5, v[0] + 0.5]))
    mid = (v[1:] + v[:-1]) / 2
    return np.exp(np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]))


def capacity_bracket(ds: xr.Dataset) -> tuple[float | None, float]:
    """(lower, upper) of the capacity of this n x B grid; (None, nan) when not measured (yet)."""
    if "capacity_lower" not in ds or "capacity_upper" not in ds or ds["capacity_lower"].size != 1:
        return None, float("nan")
    lo, hi = float(ds["capacity_lower"]), float(ds["capacity_upper"])
    return (lo if np.isfinite(lo) and lo > 0 else None), hi


def plot_heatmaps(ds: xr.Dataset, out: str | Path, var: str = "knn_acc") -> list[Path]:
    """One figure-14 picture per value of the swept toy parameters other than n and B:
    OUT itself when there are none, else OUT-<dim>=<value>.png each."""
    require(ds, [var], "a heatmap")
    if not {"n", "B"} <= set(ds[var].dims):
        raise ValueError(f"{var} has dimensions {ds[var].dims}, a heatmap needs n and B")
    out = Path(out)
    extra = [d for d in swept_dims(ds) if d not in ("n", "B")]
    paths = []
    for sel in selections(ds, extra):
        chance = 1.0 / sel["C"] if "C" in sel else chance_level(ds)
        name = (
            out
            if not sel
            else out.with_name(out.stem + "-" + "-".join(f"{d}={v:g}" for d, v in sel.items()) + out.suffix)
        )
        paths.append(
            plot_heatmap(ds.sel(sel), name, var=var, chance=chance, subtitle=selection_label(ds, sel))
        )
    return paths


def plot_heatmap(
    ds: xr.Dataset, out: str | Path, var: str = "knn_acc", chance: float | None = None, subtitle: str = ""
) -> Path:
    """One n x B grid (every other swept dimension already selected)."""
    if not {"n", "B"} <= set(ds[var].dims):
        raise ValueError(f"{var} has dimensions {ds[var].dims}, a heatmap needs n and B")
    chance = chance_level(ds) if chance is None else chance
    value = done_only(ds, var)
    mean = value.mean("seed") if "seed" in value.dims else value
    panels = [("k-NN probing accuracy" if var == "knn_acc" else var, mean)]
    if var + "_init" in ds:
        gain = value - ds[var + "_init"]
        panels.append(
            ("gain over probing at initialisation", gain.mean("seed") if "seed" in gain.dims else gain)
        )
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.2), squeeze=False)
    xe, ye = log_edges(ds["B"].values), log_edges(ds["n"].values)
    for ax, (label, field) in zip(axes[0], panels):
        grid = field.transpose("n", "B").values
        if label.startswith("gain"):
            lim = max(1e-3, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0)
            mesh = ax.pcolormesh(xe, ye, grid, cmap="RdBu", norm=TwoSlopeNorm(0.0, -lim, lim))
        else:
            low = chance if chance is not None else (np.nanmin(grid) if np.isfinite(grid).any() else 0.0)
            mesh = ax.pcolormesh(xe, ye, grid, cmap="viridis", vmin=low, vmax=1.0)
        cbar = fig.colorbar(mesh, ax=ax)
        if chance is not None and not label.startswith("gain"):
            cbar.set_label(f"from random guessing ({chance:.2f}) to 1", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ds["B"].values, [f"{b:g}" for b in ds["B"].values], fontsize=7)
        ax.set_yticks(ds["n"].values, [f"{n:g}" for n in ds["n"].values], fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("number of augmentations B")
        ax.set_ylabel("number of samples n")
        ax.set_title(label, fontsize=10)
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        lo, hi = capacity_bracket(ds)
        if lo is not None:
            b = np.geomspace(xe[0], xe[-1], 200)
            bracket = f"in [{lo:.0f}, {hi:.0f}]" if np.isfinite(hi) else f">= {lo:.0f}"
            # white on viridis, black on the diverging gain map (white at 0, where the line often runs)
            colour = "black" if label.startswith("gain") else "white"
            ax.plot(b, lo / b, "--", color=colour, lw=1.5, label=f"n = C_t / B, C_t {bracket}")
            ax.fill_between(b, lo / b, hi / b if np.isfinite(hi) else lo / b, color=colour, alpha=0.2, lw=0)
            ax.legend(loc="upper right", fontsize=7, framealpha=0.6)
    done = ds["status"] == 1 if "status" in ds else xr.ones_like(ds[var], dtype=bool)
    seeds = ds.sizes.get("seed", 1)
    head = f"{ds.attrs.get('title', '')}" + (f" ({subtitle})" if subtitle else "")
    fig.suptitle(
        f"{head}: mean over {seeds} seed(s); {int(done.sum())} of {done.size} cells done", fontsize=10
    )
    fig.tight_layout()
    return save_figure(fig, out)
