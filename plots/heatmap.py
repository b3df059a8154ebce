"""Figure 14 (and any n x B grid): the mean over seeds on log axes, colour from random guessing to 1,
with the line n = C_t / B where the effective sample size n*B reaches the capacity."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import TwoSlopeNorm

from grids.provenance import config_of


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints, extended half a step at both ends."""
    v = np.log(np.asarray(values, dtype=float))
    if len(v) == 1:
        return np.exp(np.array([v[0] - 0.5, v[0] + 0.5]))
    mid = (v[1:] + v[:-1]) / 2
    return np.exp(np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]))


def plot_heatmap(ds: xr.Dataset, out: str | Path, var: str = "knn_acc") -> Path:
    if not {"n", "B"} <= set(ds[var].dims):
        raise ValueError(f"{var} has dimensions {ds[var].dims}, a heatmap needs n and B")
    config = config_of(ds.attrs)
    C = config.get("mixture", {}).get("C")
    chance = 1.0 / C if C else None
    done = ds["status"] == 1 if "status" in ds else xr.ones_like(ds[var], dtype=bool)
    value = ds[var].where(done)
    mean = value.mean("seed") if "seed" in value.dims else value
    gain = (ds[var] - ds[var + "_init"]).where(done) if var + "_init" in ds else None
    panels = [("k-NN probing accuracy" if var == "knn_acc" else var, mean)]
    if gain is not None:
        panels.append(("gain over probing at initialisation", gain.mean("seed") if "seed" in gain.dims else gain))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.2), squeeze=False)
    xe, ye = _edges(ds["B"].values), _edges(ds["n"].values)
    for ax, (label, field) in zip(axes[0], panels):
        grid = field.transpose("n", "B").values
        if label.startswith("gain"):
            lim = max(1e-3, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0)
            mesh = ax.pcolormesh(xe, ye, grid, cmap="RdBu", norm=TwoSlopeNorm(0.0, -lim, lim))
        else:
            mesh = ax.pcolormesh(xe, ye, grid, cmap="viridis", vmin=chance if chance else np.nanmin(grid), vmax=1.0)
        cbar = fig.colorbar(mesh, ax=ax)
        if chance and not label.startswith("gain"):
            cbar.set_label(f"from random guessing ({chance:.2f}) to 1", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ds["B"].values, [str(int(b)) for b in ds["B"].values], fontsize=7)
        ax.set_yticks(ds["n"].values, [str(int(n)) for n in ds["n"].values], fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("number of augmentations B")
        ax.set_ylabel("number of samples n")
        ax.set_title(label, fontsize=10)
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        if "capacity_lower" in ds:
            b = np.geomspace(xe[0], xe[-1], 200)
            lo, hi = float(ds["capacity_lower"]), float(ds["capacity_upper"])
            ax.plot(b, lo / b, "w--", lw=1.5, label=f"n = C_t / B, C_t in [{lo:.0f}, {hi:.0f}]")
            ax.fill_between(b, lo / b, hi / b if np.isfinite(hi) else lo / b, color="w", alpha=0.25, lw=0)
            ax.legend(loc="upper right", fontsize=7, framealpha=0.6)
    seeds = ds.sizes.get("seed", 1)
    fig.suptitle(f"{ds.attrs.get('title', '')}: mean over {seeds} seed(s); {int(done.sum())} of {done.size} cells done",
                 fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
