"""The n x B grid of a real network (preset nb): figure 14's heatmap of the k-NN probe after
training over training subset n x bank size B, next to its gain over probing at initialisation, with
the line n = C_t / B. The collected grid (`benign grid collect`, `benign report`) carries dimensions
n and B and the capacity C_t read off its B = 1 column (capacity_lower / capacity_upper,
grids.train_cells.nb_capacity); a file without them (a grid not collected yet, or one written before
the grid had them) is drawn without the line. Older files name the dimensions subset and bank."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from benign.plots.grid_result import require

OLD_DIMS = {"subset": "n", "bank": "B"}  # files written before the grid named its dimensions n and B


def with_nb_dims(ds: xr.Dataset) -> xr.Dataset:
    """The grid with dimensions n and B, whichever names its file uses."""
    return ds.rename(OLD_DIMS) if set(OLD_DIMS) <= set(ds.dims) and not {"n", "B"} & set(ds.dims) else ds


def is_nb(ds: xr.Dataset) -> bool:
    dims = set(with_nb_dims(ds).dims)
    return str(ds.attrs.get("grid_name", "")) == "nb" or (
        ds.attrs.get("grid_kind") != "toy" and {"n", "B"} <= dims and "bank_fit" in ds and "knn_final" in ds
    )


def as_heatmap(ds: xr.Dataset) -> xr.Dataset:
    """The grid in the toy heatmap's terms: knn_acc (and _init) over n and B, with its C_t if measured."""
    require(ds, ["knn_final", "knn_init", "bank_fit"], "the n x B heatmap")
    ds = with_nb_dims(ds)
    keep = [
        v
        for v in ("knn_final", "knn_init", "bank_fit", "status", "capacity_lower", "capacity_upper")
        if v in ds
    ]
    out = ds[keep].rename({"knn_final": "knn_acc", "knn_init": "knn_acc_init"})
    out.attrs = dict(ds.attrs)
    return out


def plot_nb_heatmaps(ds: xr.Dataset, out: str | Path, var: str | None = None) -> list[Path]:
    from benign.plots.heatmap import plot_heatmaps

    heat = as_heatmap(ds)
    name = {None: "knn_acc", "knn_final": "knn_acc"}.get(var, var)
    return plot_heatmaps(heat, out, name)
