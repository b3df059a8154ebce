"""A grid of independent cells in one netCDF file, with a `status` per cell (cf. Gordi42/sweepexp).

Every `record` rewrites the whole file atomically, so after a crash or Ctrl-C the file holds every
cell finished so far; reopening it with the same specification resumes with the cells not done.
A file made by a different specification is refused rather than mixed with the new one.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from grids.netcdf import load_result, save_atomic
from grids.provenance import config_of, provenance_attrs

TODO, DONE, FAILED = 0, 1, 2
STATUS_ATTRS = {
    "long_name": "cell status",
    "units": "1",
    "flag_values": np.array([TODO, DONE, FAILED], dtype=np.int8),
    "flag_meanings": "todo done failed",
}


class CellGrid:
    """Cells are the cross product of `coords` (dimension name -> values, in order).

    variables: name -> attrs (at least long_name and units) of the float results per cell.
    """

    def __init__(self, path, coords: dict[str, list], variables: dict[str, dict], title: str, config: dict,
                 command: str | None = None):
        self.path = Path(path)
        self.dims = list(coords)
        self.title = title
        self.config = config
        if self.path.exists():
            ds = load_result(self.path, require_title=title)
            old = config_of(ds.attrs)
            if old != _jsonable(config) or any(not np.array_equal(ds[d].values, np.asarray(v)) for d, v in coords.items()):
                raise ValueError(f"{self.path} holds a different grid; rerun with its own parameters or choose another --out")
            self.ds = ds
        else:
            shape = tuple(len(v) for v in coords.values())
            data = {name: (self.dims, np.full(shape, np.nan), dict(attrs)) for name, attrs in variables.items()}
            data["status"] = (self.dims, np.full(shape, TODO, dtype=np.int8), STATUS_ATTRS)
            self.ds = xr.Dataset(data, coords={d: (d, np.asarray(v), _coord_attrs(d)) for d, v in coords.items()},
                                 attrs=provenance_attrs(title, config, command))
            self.save()  # the file exists (every cell to do) from the start, so its status can be read

    def cells(self, status: int | None = None) -> list[dict]:
        """Cells as {dim: value}, in grid order; only those with `status` if given."""
        out = []
        for idx in itertools.product(*(range(self.ds.sizes[d]) for d in self.dims)):
            if status is None or int(self.ds["status"].values[idx]) == status:
                out.append({d: self.ds[d].values[i].item() for d, i in zip(self.dims, idx)})
        return out

    def todo(self) -> list[dict]:
        return [c for c in self.cells() if int(self.ds["status"].sel(c).item()) != DONE]

    def counts(self) -> dict[str, int]:
        s = self.ds["status"].values
        return {"todo": int((s == TODO).sum()), "done": int((s == DONE).sum()), "failed": int((s == FAILED).sum())}

    def record(self, results: list[tuple[dict, dict]], extra_attrs: dict | None = None) -> None:
        """Store finished cells [(cell, {variable: value})] and write the file atomically."""
        for cell, values in results:
            for name, value in values.items():
                self.ds[name].loc[cell] = value
            self.ds["status"].loc[cell] = DONE
        if extra_attrs:
            self.ds.attrs.update(extra_attrs)
        self.save()

    def mark_failed(self, cells: list[dict]) -> None:
        for cell in cells:
            self.ds["status"].loc[cell] = FAILED
        self.save()

    def save(self) -> None:
        save_atomic(self.ds, self.path)


def _coord_attrs(dim: str) -> dict:
    known = {
        "n": ("number of training samples", "1"),
        "B": ("augmentations per sample", "1"),
        "seed": ("random seed", "1"),
        "K": ("projector prototypes", "1"),
        "steps": ("training steps", "1"),
    }
    long_name, units = known.get(dim, (dim, "1"))
    return {"long_name": long_name, "units": units}


def _jsonable(config: dict) -> dict:
    import json

    return json.loads(json.dumps(config, sort_keys=True, default=str))
