"""A worker killed mid-grid on a real Dask LocalCluster costs no cell and duplicates none (issue 4)."""

import functools
import os
import sys
from pathlib import Path

import cloudpickle
import xarray as xr

from benign.grids import spec as grid_spec
from benign.grids.engine import run_grid, run_task
from benign.grids.executors import DaskCluster
from benign.theory.toy_grid import VARIABLES

TINY = {
    "n": [3, 6],
    "B": [1, 2],
    "seeds": 2,
    "steps": 20,
    "K": 8,
    "n_probe": 50,
    "n_test": 50,
    "capacity": False,
}

# Workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def dying_batch(task, marker_dir):
    """The first batch to start kills its worker process (as an OOM kill or a lost node would);
    every batch that gets to the end logs its cells."""
    marker = Path(marker_dir) / "killed"
    if not marker.exists():
        marker.write_text("a worker died here")
        os._exit(1)
    results = run_task(task)
    cells = task.cells
    with open(Path(marker_dir) / "finished.log", "a") as log:
        log.write("".join(f"{c['n']},{c['B']},{c['seed']}\n" for c in cells))
    return results


def test_a_killed_worker_costs_no_cell_and_duplicates_none(tmp_path):
    spec = grid_spec.from_dict(TINY)
    recorded = []
    with DaskCluster(local_workers=2) as cluster:
        counts = run_grid(
            spec,
            tmp_path / "dask",
            cluster,
            max_batch=2,
            on_batch=recorded.append,
            run=functools.partial(dying_batch, marker_dir=str(tmp_path)),
        )
    assert (tmp_path / "killed").exists()  # a worker really died mid-grid
    assert counts == {
        "todo": 0,
        "done": 8,
        "failed": 0,
        "running": 0,
        "resumed": 0,
        "shared": 0,
        "trained": 8,
    }
    assert sum(recorded) == 8  # the driver recorded every cell exactly once
    finished = (tmp_path / "finished.log").read_text().split()
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 8  # no cell computed twice
    ref = tmp_path / "ref"
    from benign.grids.executors import LocalProcesses

    with LocalProcesses(2) as local:
        run_grid(spec, ref, local)
    xr.testing.assert_allclose(
        xr.load_dataset(tmp_path / "dask" / "grid.nc")[list(VARIABLES)],
        xr.load_dataset(ref / "grid.nc")[list(VARIABLES)],
    )
