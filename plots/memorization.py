"""Definition 4.1 on a training grid's cells: benign, malign, not memorised or clean, per cell and seed
(theory/memorization_kind.py), and the line every table and figure of such a grid carries about the
cells that fall short of a memorization."""

from __future__ import annotations

import numpy as np
import xarray as xr

from benign.plots.grid_result import config_of, selection_label, selections, swept_dims
from benign.theory.memorization_kind import FIT_FOR_MEMORIZATION, memorization_kind


def random_label_share(ds: xr.Dataset) -> xr.DataArray | None:
    """Per cell, the share of training labels drawn at random: the file's `random_label_share`, read
    from its configuration where the file lacks it (cells recorded before the variable existed);
    None if unknown."""
    recorded = ds["random_label_share"] if "random_label_share" in ds else None
    config = config_of(ds)
    params = config.get("params")
    if not isinstance(params, dict):
        return recorded
    from_config = _share_from_config(ds, params, config.get("setting") or [])
    return from_config if recorded is None else recorded.fillna(from_config)


def _share_from_config(ds: xr.Dataset, params: dict, settings: list) -> xr.DataArray:
    def share(labels, noise, classes) -> float:
        if noise is not None:
            return float(noise)
        if classes is not None:
            return 1.0
        kind, _, arg = str(labels).partition(":")
        return {"clean": 0.0, "noise": float(arg or 0)}.get(kind, 1.0)

    dims = swept_dims(ds)
    out = xr.DataArray(np.ones([ds.sizes[d] for d in dims]), coords={d: ds[d] for d in dims}, dims=dims)
    for cell in selections(ds, dims):
        p = dict(params)
        if "setting" in cell and cell["setting"] < len(settings):
            p.update(settings[cell["setting"]])
        p.update({k: v for k, v in cell.items() if k in ("label_noise", "label_classes")})
        out.loc[cell] = share(p.get("labels", "random"), p.get("label_noise"), p.get("label_classes"))
    return out


def cell_kinds(ds: xr.Dataset, probe: str = "knn") -> xr.DataArray | None:
    """Definition 4.1 for every done cell (cells not done: ''); None when the file cannot say (no fit
    or no probe at initialisation recorded)."""
    needed = ("train_accuracy_final", f"{probe}_final", f"{probe}_init")
    share = random_label_share(ds)
    if share is None or any(v not in ds for v in needed):
        return None
    fit, final, init = (ds[v] for v in needed)
    share = share.broadcast_like(fit)
    kinds = xr.apply_ufunc(memorization_kind, fit, final, init, share)
    if "status" in ds:
        kinds = kinds.where(ds["status"] == 1, "")
    return kinds


def short_of_memorization(ds: xr.Dataset) -> list[str]:
    """'random+DA, seed 0 (fits 49%)' for every done random-label cell that is not a memorization."""
    kinds = cell_kinds(ds)
    if kinds is None:
        return []
    fit = ds["train_accuracy_final"]
    out = []
    for cell in selections(ds, [d for d in kinds.dims]):
        if kinds.sel(cell).item() == "not memorised":
            where = selection_label(ds, {d: v for d, v in cell.items() if d != "seed"})
            seed = f"seed {cell['seed']}" if "seed" in cell else ""
            name = ", ".join(x for x in (where, seed) if x)
            out.append(f"{name} (fits {100 * float(fit.sel(cell)):.0f}%)")
    return out


def note(ds: xr.Dataset, limit: int = 6) -> str:
    """One line naming the random-label cells that are not memorizations ('' when every one is)."""
    short = short_of_memorization(ds)
    if not short:
        return ""
    shown = "; ".join(short[:limit]) + (f"; and {len(short) - limit} more" if len(short) > limit else "")
    return (
        f"not memorised (Definition 4.1: fits < {100 * FIT_FOR_MEMORIZATION:.0f}% of its random "
        f"labels on the unaugmented training images): {shown}"
    )


def table_suffix(kinds: xr.DataArray) -> str:
    """The Definition 4.1 mark of one table cell, over its seeds: ' (benign)', ' (not memorised)', ..."""
    values = [str(k) for k in np.ravel(kinds.values) if str(k)]
    if not values or set(values) == {"clean"}:
        return ""
    if "not memorised" in values:
        return " (not memorised)"
    if len(set(values)) == 1:
        return f" ({values[0]})"
    return " (" + ", ".join(f"{k} {values.count(k)}" for k in sorted(set(values))) + ")"
