"""Memorization profiles as cells of the grid engine: fixed blocks of seeds per task, the same file on
local processes and on a real Dask LocalCluster, a failed block retried alone with the same partners,
resuming without training, and the collected file in the profiles layout."""

import numpy as np
import pytest
import xarray as xr

from benign.grids import engine, profiles_cells
from benign.grids import spec as grid_spec
from benign.grids.engine import collect_grid, load_grid, run_grid
from benign.grids.executors import DaskCluster, LocalProcesses
from benign.grids.in_process import InProcess
from benign.store.cell_grid import DONE, FAILED, RUNNING, TODO
from benign.store.netcdf import save_atomic

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {
    "kind": "profiles",
    "dataset": "synthetic",
    "method": ["supervised", "simclr"],
    "augmentations": 2,
    "epochs": 2,
    "examples": 16,
    "train_size": 32,
    "cnn_width": 2,
    "projector_width": 8,
    "simclr_dim": 8,
    "batch_size": 16,
    "actmax_channels": 1,
    "actmax_steps": 2,
    "block": 2,
    "seeds": [0, 1, 2],
}  # 4 tasks: blocks [0, 1] and [2] of each method
DATA = ["recognised", "train_loss", "status", "embedding", "actmax", "actmax_channel"]


def test_tasks_are_methods_times_fixed_blocks_of_seeds(tmp_path):
    spec = grid_spec.from_dict(TINY)
    cells = [{"method": m, "seed": s} for m in (0, 1) for s in (0, 1, 2)]
    assert [[c["seed"] for c in b] for b in profiles_cells.blocks([0, 1, 2], 2, cells)] == [
        [0, 1],
        [2],
        [0, 1],
        [2],
    ]
    # a block with one cell to do still trains its whole block (the partners decide the bits)
    assert profiles_cells.block_seeds([0, 1, 2], 2, 1) == [0, 1]
    assert [[c["seed"] for c in b] for b in profiles_cells.blocks([0, 1, 2], 0, cells[1:3])] == [[1, 2]]
    store = engine.open_grid(tmp_path, spec)
    work = engine.plan(spec, store, tmp_path, workers=2)
    assert [(t.params["method"], [c["seed"] for c in t.cells]) for t in work] == [
        ("supervised", [0, 1]),
        ("supervised", [2]),
        ("simclr", [0, 1]),
        ("simclr", [2]),
    ]


def test_dask_cluster_file_equals_local_processes_file_and_a_rerun_resumes(tmp_path):
    spec = grid_spec.from_dict(TINY)
    with LocalProcesses(2) as local:
        run_grid(spec, tmp_path / "local", local)
    with DaskCluster(local_workers=1) as cluster:
        run_grid(spec, tmp_path / "dask", cluster)
    local, dask = collect_grid(tmp_path / "local"), collect_grid(tmp_path / "dask")
    assert local.attrs["title"] == "memorization profiles" and (local["status"].values == DONE).all()
    assert set(np.unique(local["recognised"].values)) <= {0, 1, 2}  # SimCLR: 2 views
    assert local["method"].values.tolist() == [0, 3] and local["views"].values.tolist() == [1, 2]
    xr.testing.assert_equal(local[DATA], dask[DATA])

    # a cell marked not done is the only block a rerun trains, in this process
    grid = load_grid(tmp_path / "dask")
    grid["status"].loc[{"method": 1, "seed": 2}] = TODO
    grid["recognised"].loc[{"method": 1, "seed": 2}] = -1
    save_atomic(grid, tmp_path / "dask" / "grid.nc")
    counts = run_grid(spec, tmp_path / "dask", InProcess())
    assert counts["trained"] == 1 and counts["resumed"] == 5
    xr.testing.assert_allclose(collect_grid(tmp_path / "dask")[DATA], local[DATA])


def test_a_failed_block_is_marked_failed_and_retried_alone(tmp_path):
    spec = grid_spec.from_dict({**TINY, "actmax_channels": 0})
    trained = []

    def failing(task):
        seeds = [c["seed"] for c in task.cells]
        if task.params["method"] == "simclr" and seeds == [2]:
            raise RuntimeError("out of memory")
        trained.append((task.params["method"], seeds))
        return engine.run_task(task)

    counts = run_grid(spec, tmp_path, InProcess(), run=failing)
    assert counts["failed"] == 1 and counts["done"] == 5
    grid = load_grid(tmp_path)
    assert grid["status"].values.tolist() == [[DONE] * 3, [DONE, DONE, FAILED]]
    assert not (grid["status"].values == RUNNING).any() and "out of memory" in str(grid["error"].values[1, 2])
    assert (grid["recognised"].values[1, 2] == -1).all() and (grid["recognised"].values[0, 0] >= 0).all()
    trained.clear()
    run_grid(
        spec,
        tmp_path,
        InProcess(),
        run=lambda t: trained.append([c["seed"] for c in t.cells]) or engine.run_task(t),
    )
    assert trained == [[2]]
    assert (load_grid(tmp_path)["status"].values == DONE).all()
