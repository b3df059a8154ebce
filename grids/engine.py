"""Run the cells not done of a grid spec into a directory DIR: DIR/grid.nc (a CellGrid) and DIR/spec.json.

Toy cells sharing every parameter but (n, B, seed) are trained as one batched computation; each
batch that finishes is recorded by the driver and the file rewritten atomically. A rerun skips done
cells and retries failed ones; a failed cell keeps the error of its last attempt in `error`.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from grids.cell_grid import CellGrid
from grids.netcdf import load_result
from grids.spec import CELL_DIMS, GridSpec, toy_models
from theory.toy_grid import VARIABLES, run_toy_cells

TITLE = "benign grid"
GRID_FILE, SPEC_FILE = "grid.nc", "spec.json"
ERROR_ATTRS = {"long_name": "error of the cell's last failed attempt (empty: none)", "units": "1"}
MAX_BATCH = 72


def run_toy_batch(params: dict, cells: list[dict]) -> list[dict]:
    """Worker side: the cells [{n, B, seed}] of one parameter set, as one batched computation."""
    import torch

    mixture, training, probe = toy_models(params)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return run_toy_cells(mixture, training, cells, probe, device=device)


def open_grid(out_dir: str | Path, spec: GridSpec, command: str | None = None) -> CellGrid:
    """The grid in out_dir, created if absent; ValueError if out_dir holds a different spec."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; --out takes a directory")
    wanted = json.loads(json.dumps(spec.to_dict()))
    spec_path = out / SPEC_FILE
    if spec_path.exists() and json.loads(spec_path.read_text()) != wanted:
        raise ValueError(f"{out} holds a different grid (see its {SPEC_FILE}); choose another --out")
    store = CellGrid(out / GRID_FILE, spec.coords, VARIABLES, TITLE, spec.to_dict(), command)
    if "error" not in store.ds:
        store.ds["error"] = (store.dims, np.full(store.ds["status"].shape, "", dtype=object), ERROR_ATTRS)
        store.ds.attrs["grid_name"] = spec.name
        store.save()
    # netCDF strings load as fixed width; object dtype lets a longer message be stored
    store.ds["error"] = store.ds["error"].astype(object)
    if not spec_path.exists():
        _write_text_atomic(spec_path, json.dumps(wanted, indent=2, sort_keys=True))
    return store


def load_grid(out_dir: str | Path):
    """The grid file of out_dir, fully loaded (for status and collect)."""
    path = Path(out_dir) / GRID_FILE
    if not path.is_file():
        raise ValueError(f"{out_dir} holds no grid ({GRID_FILE} missing); start one with `benign grid run`")
    return load_result(path, require_title=TITLE)


def batches(spec: GridSpec, cells: list[dict], workers: int, max_batch: int = MAX_BATCH) -> list[list[dict]]:
    """Cells grouped by their parameter set, cut so that every worker gets a share of each group."""
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        key = tuple((k, v) for k, v in cell.items() if k not in (*CELL_DIMS, "seed"))
        groups.setdefault(key, []).append(cell)
    out = []
    for group in groups.values():
        size = max(1, min(max_batch, math.ceil(len(group) / workers)))
        out += [group[i : i + size] for i in range(0, len(group), size)]
    return out


def run_grid(spec: GridSpec, out_dir: str | Path, executor, max_batch: int = MAX_BATCH,
             on_batch: Callable[[int], None] | None = None, command: str | None = None,
             run_batch: Callable = run_toy_batch) -> dict[str, int]:
    """Run every cell not done; returns the counts {todo, done, failed} afterwards."""
    store = open_grid(out_dir, spec, command)
    work = batches(spec, store.todo(), executor.workers, max_batch)
    tasks = []
    for cells in work:
        params = {k: v for k, v in spec.cell_params(cells[0]).items() if k not in CELL_DIMS}
        tasks.append((params, [{k: c[k] for k in (*CELL_DIMS, "seed")} for c in cells]))
    for i, results, error in executor.run(run_batch, tasks):
        cells = work[i]
        if error is not None:
            message = f"{type(error).__name__}: {error}".strip().splitlines()[0][:500]
            for cell in cells:
                store.ds["error"].loc[cell] = message
            store.mark_failed(cells)
        else:
            for cell in cells:
                store.ds["error"].loc[cell] = ""
            store.record(list(zip(cells, results)))
        if on_batch is not None:
            on_batch(len(cells))
    return store.counts()


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
