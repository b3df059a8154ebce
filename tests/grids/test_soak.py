"""Soak: a 200-cell grid on a Dask LocalCluster whose workers are killed every few seconds ends with
every cell done and recorded exactly once, and the same file as a run without kills."""

import functools
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import xarray as xr

from benign.grids import spec as grid_spec
from benign.grids.engine import run_grid, run_task
from benign.grids.executors import DaskCluster, LocalProcesses
from benign.theory.toy_grid import VARIABLES

GRID = {
    "n": [3, 5, 8, 12, 16],
    "B": [1, 2, 4, 8, 16],
    "seeds": 8,  # 200 cells
    "steps": 10,
    "K": 8,
    "n_probe": 30,
    "n_test": 30,
    "capacity": False,
}

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def slow_cell(task, log_dir):
    """A cell that takes a little while (so that kills land mid-cell) and logs that it finished."""
    time.sleep(0.05)
    results = run_task(task)
    with open(Path(log_dir) / f"{os.getpid()}.log", "a") as log:
        log.write("".join(f"{c['n']},{c['B']},{c['seed']}\n" for c in task.cells))
    return results


def test_soak_killing_workers_every_few_seconds(tmp_path):
    spec = grid_spec.from_dict(GRID)
    assert spec.size() == 200
    recorded, kills, done = [], [], threading.Event()
    (tmp_path / "logs").mkdir()
    with DaskCluster(local_workers=2) as cluster:

        def killer():
            rng = random.Random(0)
            while not done.wait(1.5) and len(kills) < 6:
                pids = list(cluster.client.run(os.getpid).values())
                victim = rng.choice(pids)
                os.kill(victim, signal.SIGKILL)  # as an OOM kill or a lost node would
                kills.append(victim)

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        t0 = time.monotonic()
        try:
            counts = run_grid(
                spec,
                tmp_path / "soak",
                cluster,
                max_batch=1,
                on_batch=recorded.append,
                run=functools.partial(slow_cell, log_dir=str(tmp_path / "logs")),
            )
        finally:
            done.set()
            thread.join()
    assert time.monotonic() - t0 < 240
    assert len(kills) >= 2  # workers really died mid-grid
    assert counts["done"] == 200 and counts["failed"] == 0 and counts["todo"] == 0
    assert sum(recorded) == 200  # every cell recorded once by the driver
    finished = {line for f in (tmp_path / "logs").iterdir() for line in f.read_text().split()}
    assert len(finished) == 200
    with LocalProcesses(2) as local:
        run_grid(spec, tmp_path / "ref", local, max_batch=1)
    xr.testing.assert_allclose(
        xr.load_dataset(tmp_path / "soak" / "grid.nc")[list(VARIABLES)],
        xr.load_dataset(tmp_path / "ref" / "grid.nc")[list(VARIABLES)],
    )
