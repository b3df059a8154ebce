"""Atomic netCDF writes and checked reads.

A result file is never half-written: it goes through `store.atomic.atomic_write`. The format
(dimensions, attributes and their encoding, status per cell) is docs/results-format.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from benign.store.atomic import atomic_write
from benign.store.provenance import encode_attr


def save_atomic(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    ds = ds.copy()
    ds.attrs = {k: encode_attr(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: encode_attr(v) for k, v in ds[name].attrs.items()}
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))


def load_result(path: str | os.PathLike, require_title: str | None = None, require_vars=()) -> xr.Dataset:
    """Load a result file fully into memory (never a lazy handle that a later write could clobber).

    Raises ValueError with one readable line when the file is absent, not netCDF, or not the kind
    of result expected.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    try:
        ds = xr.load_dataset(path, engine="netcdf4")
    except Exception as e:  # netCDF4 raises OSError, ValueError, or its own errors on foreign files
        raise ValueError(f"{path} is not a readable netCDF result file ({type(e).__name__})") from None
    if require_title is not None and ds.attrs.get("title") != require_title:
        raise ValueError(f"{path} is not a {require_title!r} result (title: {ds.attrs.get('title')!r})")
    missing = [v for v in require_vars if v not in ds.variables]
    if missing:
        raise ValueError(f"{path} lacks the variables {', '.join(missing)}")
    return ds
