"""Figure 14's benign picture as two numbers per seed (and per K in a family over K): the mean gain of
the k-NN probe over its value at initialisation

- of the memorised cells at B = 1 (every clean point predicted as its random label), which figure 14
  shows below initialisation (malign memorization), and
- of the cells whose effective sample size is far beyond the capacity, n*B > factor * C_t (the lower
  end of the capacity bracket, appendix D.1), which figure 14 shows above it (benign memorization).

`benign plot GRID.nc` prints the table of a toy grid; NaN where no cell qualifies.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from benign.plots.grid_result import done_only, require


def benign_gains(ds: xr.Dataset, factor: float = 10.0, var: str = "knn_acc") -> xr.Dataset:
    """`memorised_B1` and `beyond_capacity` (mean gain over initialisation) and their cell counts,
    over the dimensions other than n and B (seed, K, ...)."""
    require(ds, [var, var + "_init", "mem_frac", "capacity_lower"], "the benign gains")
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    gain = done_only(ds, var) - ds[var + "_init"]
    memorised = (ds["B"] == 1) & (ds["mem_frac"] >= 1.0)
    beyond = ds["n"] * ds["B"] > factor * ds["capacity_lower"]
    out = {}
    for name, mask in (("memorised_B1", memorised), ("beyond_capacity", beyond)):
        g = gain.where(mask & np.isfinite(gain))
        out[name] = g.mean(["n", "B"])
        out[name + "_cells"] = g.count(["n", "B"])
    out["capacity_lower"] = ds["capacity_lower"]
    return xr.Dataset(out)


def gains_table(ds: xr.Dataset, factor: float = 10.0) -> str:
    """One line per swept value (K, ...) and seed: C_t, the two mean gains and their cell counts."""
    g = benign_gains(ds, factor)
    frame = g.to_dataframe().reset_index()
    cols = list(g["memorised_B1"].dims) + [
        "capacity_lower",
        "memorised_B1",
        "memorised_B1_cells",
        "beyond_capacity",
        "beyond_capacity_cells",
    ]
    return frame[cols].to_string(index=False, float_format=lambda v: f"{v:+.3f}")
