"""The Python API: one call each to train, probe, estimate capacity and run a grid, on built-in or
your own networks and data, each returning an xarray Dataset (the same files the CLI writes; the
CLI is a front end over these functions).

    import benign
    history = benign.train(my_factory, (train_set, test_set), labels="random", augment="simclr",
                           steps=500, out="runs/mine")
    layers = benign.probe("runs/mine")              # layer-wise probes, trained vs initialisation
    c_t = benign.capacity(my_factory, "fashion-mnist", steps=200)
    table = benign.grid("table2", "runs/table2", scale="tiny")

A network is a built-in name (small_cnn, vgg11, resnet18), `MODULE:FACTORY`, `file.py:FACTORY`, a
factory (a function of no arguments returning an nn.Module that maps (N, C, H, W) to (N, D)) or an
nn.Module instance (its weights at its first use are the initialisation; it runs in this process only). Data is a
dataset name (fashion-mnist, cifar10, folder:PATH, npz:FILE, ...) or a pair (train, test) of torch
Datasets of (image, label). Every other option is a field of `benign.empirical.training.TrainConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from benign.api.objects import arch_of, dataset_of, in_this_process_only
from benign.empirical.own_network import Encoder
from benign.empirical.training import TrainConfig

__all__ = [
    "Encoder",
    "GridFailed",
    "MissingData",
    "capacity",
    "check_capacity",
    "config",
    "grid",
    "probe",
    "train",
]


class GridFailed(RuntimeError):
    """Some cells of a grid failed; the grid (with their errors) is saved in its folder.
    counts: {todo, done, failed, ...} after the run; failed: one line per failed cell."""

    def __init__(self, counts: dict, failed: list[str]):
        super().__init__("; ".join(failed))
        self.counts, self.failed = counts, failed


class MissingData(FileNotFoundError):
    """A grid's data is not on this machine: said before any cell starts."""


def config(network="small_cnn", data="fashion-mnist", **options) -> TrainConfig:
    """The TrainConfig of a run: `network` and `data` as the module docstring says, then any field."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; the options are TrainConfig's fields")
    cfg = TrainConfig(arch=arch_of(network), dataset=dataset_of(data, options.get("data_root")), **options)
    cfg.validate()
    return cfg


def train(
    network="small_cnn",
    data="fashion-mnist",
    *,
    out: str | Path = TrainConfig.out,
    resume: bool = True,
    progress: Callable[[int, int, dict], None] | None = None,
    **options,
) -> xr.Dataset:
    """Train (or resume) a run in the folder `out` (checkpoint.pt, history.nc); its learning curve
    (dimension epoch). progress(step, total, metrics) after every step."""
    from benign.empirical.training import HISTORY
    from benign.empirical.training import train as train_run
    from benign.store.netcdf import load_result

    cfg = config(network, data, out=str(out), **options)
    train_run(cfg, resume=resume, progress=progress)
    return load_result(Path(out) / HISTORY)


def probe(
    run: str | Path,
    *,
    knn_k: int = 20,
    linear: bool = True,
    device: str = "auto",
    data_root: str | None = None,
    invariance_images: int = 256,
    reference: str | None = None,
    pool: str | None = None,
    knn: bool = True,
) -> xr.Dataset:
    """Every probed representation of a trained run (its folder or checkpoint.pt) and of the same
    network at initialisation: k-NN (clean, noisy; knn = False: NaN), linear probe, invariance,
    UnitMem (dimension layer)."""
    from benign.empirical.probing import probe_checkpoint

    return probe_checkpoint(
        run,
        device=device,
        k=knn_k,
        linear=linear,
        data_root=data_root,
        invariance_images=invariance_images,
        reference=reference,
        pool=pool,
        knn=knn,
    )


def _capacity_search(network, data, steps, labellings, n_start, n_max, resolution, check_every, options):
    """(base config, search) of a capacity estimate, checked: ValueError in one line."""
    from benign.empirical.network_capacity import CapacitySearch, check_search

    given = dict(
        steps=steps,
        R=labellings,
        n_start=n_start,
        n_max=n_max,
        resolution=resolution,
        check_every=check_every,
    )
    search = dataclasses.replace(CapacitySearch(), **{k: v for k, v in given.items() if v is not None})
    base = config(network, data, **{**options, "steps": search.steps})
    check_search(base, search.steps, search.R, search.n_start, search.n_max)
    return base, search


def check_capacity(
    network="small_cnn",
    data="fashion-mnist",
    *,
    steps=None,
    labellings=None,
    n_start=None,
    n_max=None,
    resolution=None,
    check_every=None,
    **options,
) -> None:
    """capacity's checks of its input, without the search: ValueError in one line."""
    _capacity_search(network, data, steps, labellings, n_start, n_max, resolution, check_every, options)


def capacity(
    network="small_cnn",
    data="fashion-mnist",
    *,
    steps: int | None = None,
    labellings: int | None = None,
    n_start: int | None = None,
    n_max: int | None = None,
    resolution: float | None = None,
    check_every: int | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
    on_trial: Callable | None = None,
    **options,
) -> xr.Dataset:
    """The capacity C_t (appendix D.1) of a network: the largest n whose random labels it fits within
    `steps` steps at B = 1, bracketed over `labellings` labellings. Unset search options take
    benign.empirical.network_capacity.CapacitySearch's defaults. on_step(n, step, total) and
    on_trial(n, fitted) report progress."""
    from benign.empirical.network_capacity import capacity_dataset, network_capacity

    base, search = _capacity_search(
        network, data, steps, labellings, n_start, n_max, resolution, check_every, options
    )
    bracket = network_capacity(
        base,
        search.steps,
        search.R,
        search.n_start,
        search.n_max,
        search.resolution,
        search.check_every,
        on_step=on_step,
        on_trial=on_trial,
    )
    return capacity_dataset(bracket, base, search.steps)


def grid(
    spec,
    out: str | Path,
    *,
    scale: str = "small",
    network=None,
    data=None,
    name: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    on_start: Callable[[int, int, str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    command: str | None = None,
    task_runner: Callable | None = None,
) -> xr.Dataset:
    """Run the cells not done yet of a grid into the folder `out` (resumable) and return it collected.

    spec: a preset name, a TOML file, a dict of the TOML's keys or a GridSpec; network, data: replace
    its arch and dataset; name: the grid's name in its file (default: the preset's or file's).
    workers = 0, or a network that lives in this process only, runs the cells here, one after the
    other; else `workers` local processes (default 2) or Dask.
    on_start(todo, size, where) before the first cell, on_batch(k) as cells finish; task_runner
    replaces the worker function (grids.engine.run_task), e.g. to show a cell's steps. Raises
    MissingData before any cell when the data is missing, GridFailed when cells failed."""
    from benign.grids import spec as grid_spec
    from benign.grids.engine import DriverLock, collect_grid, failed_cells, missing_data, open_grid, run_grid
    from benign.grids.executors import make_executor
    from benign.grids.in_process import InProcess

    raw = dict(spec) if isinstance(spec, dict) else None
    if raw is None and not isinstance(spec, grid_spec.GridSpec):
        spec = grid_spec.load(str(spec), scale)
    name = name or (spec.name if raw is None else "grid")
    if raw is None and name != spec.name:
        spec = dataclasses.replace(spec, name=name)
    if network is not None or data is not None:
        if raw is None:
            raw = {"kind": spec.kind, **spec.params, "seeds": list(spec.seeds)}
            raw.update({"setting": [dict(s) for s in spec.settings]} if spec.settings else {})
        if network is not None:
            raw["arch"] = arch_of(network)
        if data is not None:
            raw["dataset"] = dataset_of(data, raw.get("data_root"))
    if raw is not None:
        spec = grid_spec.from_dict(raw, name=name)
    missing = missing_data(spec)
    if missing:
        raise MissingData(missing)
    here = workers == 0 or in_this_process_only(str(spec.params.get("arch", "")))
    executor = InProcess() if here else make_executor(workers, scheduler, dask_local)
    with executor, DriverLock(out):
        store = open_grid(out, spec, command)
        if on_start is not None:
            on_start(len(store.todo()), spec.size(), executor.description)
        counts = run_grid(
            spec,
            out,
            executor,
            on_batch=on_batch,
            command=command,
            **({"run": task_runner} if task_runner else {}),
        )
    if counts["failed"]:
        raise GridFailed(counts, failed_cells(out))
    return collect_grid(out)
