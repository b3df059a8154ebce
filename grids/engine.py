"""Run the cells not done of a grid spec into a directory DIR: DIR/grid.nc (a CellGrid), DIR/spec.json,
and for training grids DIR/cells/<cell>/ (each cell's checkpoint and learning curve) and
DIR/init-probes/ (the k-NN probe at initialisation, computed once for the cells that share a seed).

Toy cells sharing every parameter but (n, B, seed) are trained as one batched computation; a
training cell is one task. The driver alone writes the grid file: a cell is `running` from the
moment its task is handed to a worker, `done` (its result written atomically) the moment the task
finishes. A rerun skips done cells and retries failed ones (a failed cell keeps the error of its
last attempt in `error`), and cells left `running` by a driver that died are run again.
docs/grids.md describes the directory, the status of a cell, resuming and the executors.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, so no refusal of a second driver
    fcntl = None

from benign.grids import memscore_cells, profiles_cells
from benign.grids.spec import GridSpec
from benign.grids.toy_cells import (
    CAPACITY_VARIABLES,
    run_capacity_cell,
    run_toy_batch,
    run_toy_capacity,
)
from benign.grids.train_cells import (
    ADDED_LATER,
    NB_CAPACITY_VARIABLES,
    feldman_zhang_scores,
    nb_capacity,
    run_train_cell,
    transfer_targets,
)
from benign.store.atomic import write_text_atomic
from benign.store.cell_grid import DONE, FAILED, RUNNING, TODO, CellGrid
from benign.store.netcdf import load_result, save_atomic

TITLE = "benign grid"
GRID_FILE, SPEC_FILE, DRIVER_FILE, CELLS_DIR = "grid.nc", "spec.json", "driver.json", "cells"
INIT_PROBES_DIR = "init-probes"  # k-NN probes at initialisation, one per network a seed builds
LOCK_FILE = "driver.lock"
ERROR_ATTRS = {"long_name": "error of the cell's last failed attempt (empty: none)", "units": "1"}
MAX_BATCH = 72


@dataclass(frozen=True)
class Task:
    """One unit of work of a grid, as a worker receives it.

    kind    "toy" (a batch of toy cells of one parameter set), "train" (one training cell),
            "memscore" (one turn-over dropout run), "profiles" (a block of profile networks),
            "capacity" (the capacity bracket of one parameter set of a toy grid) or
            "capacity-search" (one cell of a grid of kind capacity: the toy's C_t at its K and t);
    params  every parameter the work needs, but the cells' own n, B and seed;
    cells   the grid cells it fills ({dim: value}, every dimension of the grid); for "capacity" the
            one point of the capacity variables' dimensions;
    folder  a training cell's folder (checkpoint and learning curve; a memscore cell's run.nc), else "";
    init_probes  a training cell's folder of k-NN probes at initialisation, shared by the cells of a
            grid (of a report: DIR/grids/shared/init-probes), else "".
    """

    kind: str
    params: dict
    cells: tuple[dict, ...]
    folder: str = ""
    init_probes: str = ""

    def __post_init__(self):
        if self.kind not in TASK_KINDS:
            raise ValueError(f"unknown task kind {self.kind!r}; valid: {', '.join(TASK_KINDS)}")


TASK_KINDS = ("toy", "train", "memscore", "profiles", "capacity", "capacity-search")


def run_task(task: Task):
    """Worker side: one task of a grid (a module-level function, so that it pickles). A toy or
    training task returns one result per cell, a capacity task the capacity variables."""
    if task.kind == "toy":
        return run_toy_batch(task.params, [{k: c[k] for k in ("n", "B", "seed")} for c in task.cells])
    if task.kind == "capacity":
        return run_toy_capacity(task.params)
    if task.kind == "capacity-search":
        return [run_capacity_cell(task.params, task.cells[0]["seed"])]
    if task.kind == "memscore":
        return [memscore_cells.run_memscore_cell(task.params, task.cells[0]["seed"], task.folder)]
    if task.kind == "profiles":
        return profiles_cells.run_block(task.params, list(task.cells), task.folder)
    return [run_train_cell(task.params, {"seed": task.cells[0]["seed"]}, task.folder, task.init_probes)]


def _layout(spec: GridSpec) -> tuple[dict, dict, dict]:
    """(variables, extra coordinates, labels) of the grid file: the kind's, with the swept strings' names."""
    from benign.grids.kinds import KINDS

    variables, extra, labels = KINDS[spec.kind].layout(spec.params)
    return variables, extra, {**spec.labels, **labels}


def _reference_attrs(spec: GridSpec) -> dict:
    """Random guessing (1 / classes), where the grid has one number of classes."""
    if spec.kind in ("toy", "capacity"):
        C = spec.params["C"]
        return {} if isinstance(C, list) else {"random_guessing": 1.0 / C}
    from benign.empirical.datasets import num_classes_of

    dataset, size = spec.params["dataset"], spec.params.get("image_size", 0)
    if not isinstance(dataset, str) or not isinstance(size, int) or dataset == "synthetic":
        return {}
    return {"random_guessing": 1.0 / num_classes_of(dataset, size)}


def capacity_dims(spec: GridSpec) -> list[str]:
    """Toy grids: C_t depends on every swept parameter but n, B and the seed."""
    return [d for d in spec.dims if d not in ("n", "B", "seed")]


def same_grid(stored: dict, wanted: dict) -> bool:
    """The stored spec.json and the wanted spec are one grid: equal, up to parameters added later
    that the stored one lacks and the wanted one holds at their neutral value (ADDED_LATER)."""
    stored_params, params = stored.get("params", {}), dict(wanted.get("params", {}))
    for k, neutral in ADDED_LATER.items():
        if k not in stored_params and params.get(k) == neutral:
            params.pop(k, None)
    return {**stored, "params": stored_params} == {**wanted, "params": params}


def open_grid(out_dir: str | Path, spec: GridSpec, command: str | None = None) -> CellGrid:
    """The grid in out_dir, created if absent; ValueError if out_dir holds a different spec."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; --out takes a directory")
    wanted = json.loads(json.dumps(spec.to_dict()))
    spec_path = out / SPEC_FILE
    if spec_path.exists() and not same_grid(json.loads(spec_path.read_text()), wanted):
        raise ValueError(f"{out} holds a different grid (see its {SPEC_FILE}); choose another --out")
    _name_dims_as_spec(out / GRID_FILE, spec)
    variables, extra, labels = _layout(spec)
    store = CellGrid(
        out / GRID_FILE,
        spec.coords,
        variables,
        TITLE,
        spec.to_dict(),
        command,
        extra_coords=extra,
        labels=labels,
        same_config=same_grid,
    )
    if "error" not in store.ds:
        store.ds["error"] = (store.dims, np.full(store.ds["status"].shape, "", dtype=object), ERROR_ATTRS)
        store.ds.attrs.update(grid_name=spec.name, grid_kind=spec.kind, **_reference_attrs(spec))
        if spec.kind == "toy" and spec.params["capacity"]:
            dims = capacity_dims(spec)
            shape = tuple(len(spec.coords[d]) for d in dims)
            for name, attrs in CAPACITY_VARIABLES.items():
                store.ds[name] = (dims, np.full(shape, np.nan), attrs)
        store.save()
    for key in ("complete", "collected_from"):  # left by `grid collect` in place; the run changes them
        store.ds.attrs.pop(key, None)
    if spec.kind == "train":
        store.ds = store.ds.drop_vars(list(NB_CAPACITY_VARIABLES), errors="ignore")
    # netCDF strings load as fixed width; object dtype lets a longer message be stored
    store.ds["error"] = store.ds["error"].astype(object)
    if not spec_path.exists():
        write_text_atomic(spec_path, json.dumps(wanted, indent=2, sort_keys=True))
    return store


def _name_dims_as_spec(path: Path, spec: GridSpec) -> None:
    """A grid file written before its n x B dimensions were named n and B (subset, bank) is renamed in
    place; its done cells stay done (a cell interrupted mid-training starts again: its folder's name
    changed)."""
    if not spec.renamed or not path.is_file():
        return
    ds = load_result(path, require_title=TITLE)
    old = {p: d for p, d in spec.renamed.items() if p in ds.dims}
    if old:
        save_atomic(ds.rename(old), path)


def load_grid(out_dir: str | Path):
    """The grid file of out_dir, fully loaded (for status and collect)."""
    path = Path(out_dir) / GRID_FILE
    if not path.is_file():
        raise ValueError(f"{out_dir} holds no grid ({GRID_FILE} missing); start one with `benign grid run`")
    return load_result(path, require_title=TITLE)


def collect_grid(out_dir: str | Path):
    """The whole grid as one Dataset (docs/results-format.md), marked complete or not; an n x B training
    grid gets its capacity C_t, read off its B = 1 column (grids.train_cells.nb_capacity), a grid of
    models on shares of a pool its Feldman-Zhang scores (grids.train_cells.feldman_zhang_scores)."""
    ds = load_grid(out_dir)
    if ds.attrs.get("grid_kind") == "memscore" and ds["status"].size == 1:
        return _one_run(Path(out_dir), ds)
    if ds.attrs.get("grid_kind") == "profiles":
        spec = json.loads((Path(out_dir) / SPEC_FILE).read_text())
        return profiles_cells.collect(ds, Path(out_dir), spec["params"], spec["seeds"])
    if has_nb_capacity(ds):
        ds.update(nb_capacity(ds))
    if "in_training" in ds:
        ds.update(feldman_zhang_scores(ds))
    ds.attrs["collected_from"] = str(out_dir)
    ds.attrs["complete"] = "true" if bool(np.all(ds["status"].values == DONE)) else "false"
    return ds


def collected_name(ds) -> str:
    """The file name of a collected grid: grid.nc, or its study's file where the grid collects to one
    (profiles.nc; memscore.nc for a single turn-over dropout run), so that collecting in place never
    replaces the grid file itself."""
    return GRID_FILE if ds.attrs.get("title") == TITLE else f"{ds.attrs['grid_kind']}.nc"


def _one_run(out_dir: Path, grid):
    """A memscore grid of one cell collects to that run's own file (`benign memscore run`'s result)."""
    cell = {d: grid[d].values[0].item() for d in grid["status"].dims}
    path = out_dir / CELLS_DIR / memscore_cells.cell_folder(cell) / memscore_cells.RUN_FILE
    if int(grid["status"].values.flat[0]) != DONE or not path.is_file():
        raise ValueError(f"{out_dir}: its one run is not done; rerun it to finish")
    ds = load_result(path)
    ds.attrs.update(grid_name=grid.attrs.get("grid_name", ""), grid_kind="memscore")
    ds.attrs.update(collected_from=str(out_dir), complete="true")
    return ds


def has_nb_capacity(ds) -> bool:
    """A training grid over n x B with a B = 1 column: its C_t is read off that column at collect."""
    return (
        ds.attrs.get("grid_kind") == "train"
        and "bank_fit" in ds
        and {"n", "B"} <= set(ds.dims)
        and 1 in ds["B"].values
    )


def batches(spec: GridSpec, cells: list[dict], workers: int, max_batch: int = MAX_BATCH) -> list[list[dict]]:
    """Toy cells grouped by their parameter set, cut so that every worker gets a share of each group;
    profile networks by method and fixed block; training cells one by one."""
    if spec.kind == "profiles":
        return profiles_cells.blocks(list(spec.seeds), spec.params["block"], cells)
    if spec.kind != "toy":
        return [[c] for c in cells]
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        key = tuple((k, v) for k, v in cell.items() if k not in ("n", "B", "seed"))
        groups.setdefault(key, []).append(cell)
    out = []
    for group in groups.values():
        size = max(1, min(max_batch, math.ceil(len(group) / workers)))
        out += [group[i : i + size] for i in range(0, len(group), size)]
    return out


def plan(
    spec: GridSpec,
    store: CellGrid,
    out_dir: Path,
    workers: int,
    max_batch: int = MAX_BATCH,
    shared: str | Path | None = None,
) -> list[Task]:
    """The tasks still to do: toy batches or training cells, then the capacity brackets not measured."""
    from benign.grids.train_cells import cell_folder

    init_probes = str(Path(shared or out_dir) / INIT_PROBES_DIR)

    work = []
    for cells in batches(spec, store.todo(), workers, max_batch):
        params = {k: v for k, v in spec.cell_params(cells[0]).items() if k not in ("n", "B")}
        if spec.kind == "toy":
            work.append(Task("toy", params, tuple(cells)))
        elif spec.kind == "capacity":
            work.append(Task("capacity-search", spec.cell_params(cells[0]), tuple(cells)))
        elif spec.kind == "profiles":
            folder = profiles_cells.block_folder(cells[0], list(spec.seeds), spec.params["block"])
            params = {**spec.cell_params(cells[0]), "seeds": list(spec.seeds)}
            work.append(Task("profiles", params, tuple(cells), str(out_dir / CELLS_DIR / folder)))
        elif spec.kind == "memscore":
            folder = str(out_dir / CELLS_DIR / memscore_cells.cell_folder(cells[0]))
            work.append(Task("memscore", spec.cell_params(cells[0]), tuple(cells), folder))
        else:
            folder = str(out_dir / CELLS_DIR / cell_folder(cells[0]))
            work.append(Task("train", params, tuple(cells), folder, init_probes))
    if spec.kind == "toy" and "capacity_lower" in store.ds:
        dims = capacity_dims(spec)
        for values in itertools.product(*(store.ds[d].values.tolist() for d in dims)):
            where = dict(zip(dims, values))
            if np.isnan(store.ds["capacity_lower"].sel(where).item()):
                params = {k: v for k, v in spec.cell_params(where).items() if k not in ("n", "B")}
                work.append(Task("capacity", params, (where,)))
    return work


def run_grid(
    spec: GridSpec,
    out_dir: str | Path,
    executor,
    max_batch: int = MAX_BATCH,
    on_batch: Callable[[int], None] | None = None,
    command: str | None = None,
    run: Callable = run_task,
    shared: str | Path | None = None,
) -> dict[str, int]:
    """Run every cell not done; returns the counts {todo, done, failed, running} afterwards, and how the
    done ones came to be: {resumed} done before this call, {shared} found in `shared`, {trained} here.

    shared: a folder of finished training cells that other grids share (grids/shared_cells.py): a
    cell found there is recorded without training, and every cell trained here is added to it.
    ValueError when another driver runs out_dir (see DriverLock); take the lock around open_grid too
    (as the CLI does) so that a refused driver has not touched the directory."""
    out_dir = Path(out_dir)
    store = open_grid(out_dir, spec, command)
    resumed, found, trained = store.counts()["done"], [], 0
    keys = {}
    if shared is not None and spec.kind == "train":
        from benign.grids.shared_cells import cell_key, load_cell

        todo = store.todo()
        keys = {_cell_id(c): cell_key(spec.cell_params(c), c["seed"]) for c in todo}
        found = [(c, r) for c in todo if (r := load_cell(shared, keys[_cell_id(c)])) is not None]
        if found:
            store.record(found)
            if on_batch is not None:
                on_batch(len(found))
    work = plan(spec, store, out_dir, executor.workers, max_batch, shared)
    is_capacity = [task.kind == "capacity" for task in work]

    def started(i: int) -> None:
        if not is_capacity[i]:
            store.mark(list(work[i].cells), RUNNING)

    with DriverLock(out_dir):  # the CLI holds it already, from before it opened the grid
        try:
            for i, results, error in executor.run(
                run, [(task,) for task in work], on_submit=started, resources=_resources(spec, executor)
            ):
                cells = list(work[i].cells)
                if is_capacity[i]:
                    if error is None:
                        for name, value in results.items():
                            store.ds[name].loc[cells[0]] = value
                        store.save()
                    continue
                if error is not None:
                    message = f"{type(error).__name__}: {error}".strip().splitlines()[0][:500]
                    for cell in cells:
                        store.ds["error"].loc[cell] = message
                    store.mark_failed(cells)
                else:
                    for cell in cells:
                        store.ds["error"].loc[cell] = ""
                    store.record(list(zip(cells, results)))
                    trained += len(cells)
                    if keys:
                        from benign.grids.shared_cells import save_cell

                        for cell, result in zip(cells, results):
                            save_cell(shared, keys[_cell_id(cell)], result)
                if on_batch is not None:
                    on_batch(len(cells))
        finally:  # interrupted: what was handed out and not finished is to do again
            running = [c for c in store.cells(RUNNING)]
            if running:
                store.mark(running, TODO)
    return {**store.counts(), "resumed": resumed, "shared": len(found), "trained": trained}


def _cell_id(cell: dict) -> tuple:
    return tuple(sorted(cell.items()))


def _resources(spec: GridSpec, executor) -> dict | None:
    """A training cell not pinned to the CPU asks for one GPU (a Dask resource) when the cluster's
    workers advertise GPUs (`dask worker ... --resources GPU=1`), so that two cells never share one."""
    from benign.grids.kinds import KINDS

    if (
        not KINDS[spec.kind].trains
        or spec.params.get("device") == "cpu"
        or not getattr(executor, "has_gpus", False)
    ):
        return None
    return {"GPU": 1}


class DriverLock:
    """Only one driver runs a grid directory at a time.

    DIR/driver.lock carries an exclusive flock(2) for the run's life: a second driver on DIR is
    refused with one line naming the first (a ValueError), and since the kernel drops the lock when
    its holder dies, however it dies, a killed driver never holds it past its death. DIR/driver.json
    names the driver (host, pid, start) for that message and for `grid status`. The lock is
    reentrant within one process: the CLI takes it before it opens the grid, `run_grid` again.
    """

    _held: dict[Path, list] = {}  # resolved DIR -> [fd, depth], per process

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)

    def __enter__(self):
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"{self.out_dir} is a file; --out takes a directory")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        key = self.out_dir.resolve()
        if key in self._held:
            self._held[key][1] += 1
            return self
        fd = os.open(self.out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ValueError(
                f"{self.out_dir} is being run by {_driver_named(self.out_dir)}; "
                "wait for it to end (or stop it) and rerun"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._held[key] = [fd, 1]
        try:
            info = {"host": platform.node(), "pid": os.getpid(), "started": _now()}
            write_text_atomic(self.out_dir / DRIVER_FILE, json.dumps(info))
        except BaseException:
            self._release(key)
            raise
        return self

    def __exit__(self, *exc):
        key = self.out_dir.resolve()
        self._held[key][1] -= 1
        if self._held[key][1] == 0:
            (self.out_dir / DRIVER_FILE).unlink(missing_ok=True)
            self._release(key)

    def _release(self, key: Path) -> None:
        fd, _ = self._held.pop(key)
        os.close(fd)  # drops the flock; the lock file stays (unlinking it would race a new driver)


def _driver_named(out_dir: Path) -> str:
    try:
        info = json.loads((out_dir / DRIVER_FILE).read_text())
        return f"the driver pid {info['pid']} on {info['host']} (started {info.get('started', '?')})"
    except (OSError, ValueError, KeyError, TypeError):
        return f"another driver (it holds {out_dir / LOCK_FILE})"


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def driver_alive(out_dir: str | Path) -> bool | None:
    """True/False when the grid's driver runs on this host; None when unknown (another host, or none)."""
    path = Path(out_dir) / DRIVER_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if info.get("host") != platform.node():
        return None
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


STATUS_NAMES = {TODO: "to do", DONE: "done", FAILED: "failed", RUNNING: "running"}


def missing_data(spec) -> str | None:
    """Why a grid of networks cannot run here (a dataset it needs is not on disk), or None."""
    from benign.grids.kinds import KINDS

    if not KINDS[spec.kind].trains:
        return None
    from benign.empirical.datasets import load_dataset

    datasets = (
        spec.params["dataset"] if isinstance(spec.params["dataset"], list) else [spec.params["dataset"]]
    )
    for name in [*datasets, *transfer_targets(spec.params)]:
        if name == "synthetic":
            continue
        try:
            load_dataset(name, train=False)
        except FileNotFoundError as e:
            return str(e).strip().splitlines()[0]
    return None


def failed_cells(out: str | Path, limit: int = 10) -> list[str]:
    """'setting=1, seed=0: ValueError: ...' for the failed cells of the grid in `out` (the first `limit`)."""
    ds = load_grid(out)
    failed = ds["status"].where(ds["status"] == FAILED).to_dataframe().dropna().index
    lines = []
    for cell in list(failed)[:limit]:
        coords = dict(zip(ds["status"].dims, cell if isinstance(cell, tuple) else (cell,)))
        where = ", ".join(f"{k}={v}" for k, v in coords.items())
        error = str(ds["error"].sel(coords).item()).strip()
        lines.append(f"{where}: {error.splitlines()[0] if error else '(no error recorded)'}")
    return lines
