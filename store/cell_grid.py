"""A grid of independent cells in one netCDF file, with a `status` per cell (cf. Gordi42/sweepexp).

Every `record` rewrites the whole file atomically, so after a crash or Ctrl-C the file holds every
cell finished so far; reopening it with the same specification resumes with the cells not done.
A file made by a different specification is refused rather than mixed with the new one.
The status codes and the file's layout: docs/results-format.md.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from benign.store.netcdf import load_result, save_atomic
from benign.store.provenance import config_of, provenance_attrs

TODO, DONE, FAILED, RUNNING = 0, 1, 2, 3
STATUS_ATTRS = {
    "long_name": "cell status",
    "units": "1",
    "flag_values": np.array([TODO, DONE, FAILED, RUNNING], dtype=np.int8),
    "flag_meanings": "todo done failed running",
}


class CellGrid:
    """Cells are the cross product of `coords` (dimension name -> values, in order).

    variables: name -> attrs (at least long_name and units) of the results per cell; an entry
    `dims` in the attrs names further dimensions of that variable (e.g. epoch), whose coordinates
    are in `extra_coords`; `dtype` and `fill` (default float, NaN) its type and not-done value.
    `labels`: dim -> strings, stored as the auxiliary coordinate `<dim>_name`.
    A cell left `running` by a driver that died is not done: it is run again.
    """

    def __init__(
        self,
        path,
        coords: dict[str, list],
        variables: dict[str, dict],
        title: str,
        config: dict,
        command: str | None = None,
        extra_coords: dict[str, list] | None = None,
        labels: dict[str, list[str]] | None = None,
        same_config=None,
    ):
        """same_config(stored, wanted) -> bool: whether a file's configuration is this grid's (default:
        equal). Variables the file lacks (recorded by a later version) are added, NaN until recorded."""
        self.path = Path(path)
        self.dims = list(coords)
        self.title = title
        self.config = config
        if self.path.exists():
            ds = load_result(self.path, require_title=title)
            old = config_of(ds.attrs)
            same = same_config or (lambda stored, wanted: stored == wanted)
            if not same(old, _jsonable(config)) or any(
                not np.array_equal(ds[d].values, np.asarray(v)) for d, v in coords.items()
            ):
                raise ValueError(
                    f"{self.path} holds a different grid; rerun with its own parameters or choose another --out"
                )
            for name, attrs in variables.items():
                if name not in ds:
                    attrs = dict(attrs)
                    extra = tuple(attrs.pop("dims", ()))
                    dtype, fill = attrs.pop("dtype", float), attrs.pop("fill", np.nan)
                    shape = tuple(ds.sizes[d] for d in (*self.dims, *extra))
                    ds[name] = ((*self.dims, *extra), np.full(shape, fill, dtype=dtype), attrs)
            self.ds = ds
        else:
            extra_coords = extra_coords or {}
            shape = tuple(len(v) for v in coords.values())
            data = {}
            for name, attrs in variables.items():
                attrs = dict(attrs)
                extra = tuple(attrs.pop("dims", ()))
                dtype, fill = attrs.pop("dtype", float), attrs.pop("fill", np.nan)
                dims = (*self.dims, *extra)
                data[name] = (
                    dims,
                    np.full(shape + tuple(len(extra_coords[d]) for d in extra), fill, dtype=dtype),
                    attrs,
                )
            data["status"] = (self.dims, np.full(shape, TODO, dtype=np.int8), STATUS_ATTRS)
            all_coords = {
                d: (d, np.asarray(v), _coord_attrs(d)) for d, v in {**coords, **extra_coords}.items()
            }
            for d, names in (labels or {}).items():
                all_coords[f"{d}_name"] = (d, np.asarray(names, dtype=object), {"long_name": f"{d} (name)"})
            self.ds = xr.Dataset(data, coords=all_coords, attrs=provenance_attrs(title, config, command))
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
        return {
            "todo": int((s == TODO).sum()),
            "done": int((s == DONE).sum()),
            "failed": int((s == FAILED).sum()),
            "running": int((s == RUNNING).sum()),
        }

    def record(self, results: list[tuple[dict, dict]], extra_attrs: dict | None = None) -> None:
        """Store finished cells [(cell, {variable: value})] and write the file atomically."""
        for cell, values in results:
            for name, value in values.items():
                self.ds[name].loc[cell] = value
            self.ds["status"].loc[cell] = DONE
        if extra_attrs:
            self.ds.attrs.update(extra_attrs)
        self.save()

    def mark(self, cells: list[dict], status: int, save: bool = True) -> None:
        for cell in cells:
            self.ds["status"].loc[cell] = status
        if save:
            self.save()

    def mark_failed(self, cells: list[dict]) -> None:
        self.mark(cells, FAILED)

    def save(self) -> None:
        save_atomic(self.ds, self.path)


def _coord_attrs(dim: str) -> dict:
    known = {
        "n": ("number of training samples", "1"),
        "B": ("augmentations per sample", "1"),
        "seed": ("random seed", "1"),
        "K": ("projector prototypes", "1"),
        "steps": ("training steps", "1"),
        "epoch": ("epochs done (0: initialisation)", "1"),
        "layer": ("probed representation (see layer_name)", "1"),
        "setting": ("setting (see setting_name)", "1"),
        "label_noise": ("fraction of labels made random", "1"),
        "label_classes": ("number of random classes (0: one per sample)", "1"),
        "bank": ("fixed augmentations per image B", "1"),
        "projector_width": ("projector hidden width", "1"),
        "randaugment": ("RandAugment magnitude", "1"),
    }
    long_name, units = known.get(dim, (dim, "1"))
    return {"long_name": long_name, "units": units}


def _jsonable(config: dict) -> dict:
    import json

    return json.loads(json.dumps(config, sort_keys=True, default=str))
