"""The grid engine on local processes and on a real Dask LocalCluster; resume, retry, refusal."""

import numpy as np
import pytest
import xarray as xr

from benign.grids import spec as grid_spec
from benign.grids.engine import load_grid, open_grid, run_grid
from benign.grids.executors import DaskCluster, LocalProcesses, make_executor
from benign.store.cell_grid import DONE, FAILED
from benign.theory.toy_grid import VARIABLES
from tests.grids.in_process import InProcess

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
WITH_CAPACITY = {**TINY, "capacity": True}


def fake_batch(task, fail_n=None):
    if any(c["n"] == fail_n for c in task.cells):
        raise RuntimeError(f"boom at n={fail_n}")
    return [{v: float(c["n"] * 10 + c["B"]) for v in VARIABLES} for c in task.cells]


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory):
    """The real toy batches, in this process (tests/cli/test_grid_cli.py runs them on processes and Dask)."""
    out = tmp_path_factory.mktemp("local")
    counts = run_grid(grid_spec.from_dict(WITH_CAPACITY), out, InProcess())
    assert counts == {
        "todo": 0,
        "done": 8,
        "failed": 0,
        "running": 0,
        "resumed": 0,
        "shared": 0,
        "trained": 8,
    }
    return out


def test_toy_batches_complete_the_grid(local_dir):
    ds = load_grid(local_dir)
    assert dict(ds.sizes) == {"n": 2, "B": 2, "seed": 2}
    assert (ds.status == DONE).all() and np.isfinite(ds.knn_acc).all()
    assert (ds.error == "").all() and ds.attrs["config_json"]
    assert 1 <= float(ds.capacity_lower) < float(ds.capacity_upper)  # C_t at the grid's budget
    assert ds.attrs["grid_kind"] == "toy" and ds.attrs["random_guessing"] == 0.2
    for v in (*VARIABLES, "status", "error"):
        assert ds[v].attrs["long_name"] and "units" in ds[v].attrs


def test_local_processes_run_tasks_and_return_errors():
    with LocalProcesses(1) as ex:
        out = sorted(ex.run(divmod, [(7, 2), (1, 0)]), key=lambda r: r[0])
    assert out[0] == (0, (3, 1), None)
    assert out[1][1] is None and isinstance(out[1][2], ZeroDivisionError)


def test_rerun_skips_done_cells(local_dir):
    before = load_grid(local_dir)

    class NothingToRun(InProcess):
        def run(self, fn, tasks, **kw):
            assert tasks == []
            return iter(())

    counts = run_grid(grid_spec.from_dict(WITH_CAPACITY), local_dir, NothingToRun())
    assert (counts["done"], counts["resumed"], counts["trained"]) == (8, 8, 0)
    xr.testing.assert_identical(load_grid(local_dir)[list(VARIABLES)], before[list(VARIABLES)])


def test_failed_cells_keep_their_error_and_are_retried(tmp_path):
    spec = grid_spec.from_dict(TINY)
    counts = run_grid(spec, tmp_path, InProcess(), run=lambda task: fake_batch(task, fail_n=6))
    assert counts == {
        "todo": 0,
        "done": 4,
        "failed": 4,
        "running": 0,
        "resumed": 0,
        "shared": 0,
        "trained": 4,
    }
    ds = load_grid(tmp_path)
    assert (ds.status.sel(n=6) == FAILED).all() and (ds.error.sel(n=6) == "RuntimeError: boom at n=6").all()
    assert (ds.error.sel(n=3) == "").all()
    seen = []
    counts = run_grid(
        spec, tmp_path, InProcess(), run=lambda task: seen.extend(task.cells) or fake_batch(task)
    )
    # the retry trains the 4 failed cells; the 4 done ones were done before it
    assert counts == {
        "todo": 0,
        "done": 8,
        "failed": 0,
        "running": 0,
        "resumed": 4,
        "shared": 0,
        "trained": 4,
    }
    assert {c["n"] for c in seen} == {6} and len(seen) == 4
    ds = load_grid(tmp_path)
    assert (ds.error == "").all() and float(ds.knn_acc.sel(n=6, B=2, seed=0)) == 62.0


def test_a_directory_of_another_spec_is_refused(tmp_path):
    open_grid(tmp_path, grid_spec.from_dict(TINY))
    with pytest.raises(ValueError, match="different grid"):
        open_grid(tmp_path, grid_spec.from_dict({**TINY, "steps": 21}))
    (tmp_path / "spec.json").unlink()  # the grid file alone still refuses
    with pytest.raises(ValueError, match="different grid"):
        open_grid(tmp_path, grid_spec.from_dict({**TINY, "seeds": 3}))


def test_unreachable_scheduler_is_a_value_error_before_anything_starts():
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:1"):
        DaskCluster(address="tcp://127.0.0.1:1", connect_timeout=0.5)
    with pytest.raises(ValueError, match="at most one"):
        make_executor(workers=2, dask_local=2)


def test_throttle_follows_a_growing_cluster_and_runs_every_task_once():
    """At most limit() tasks in flight, re-read as tasks finish (Slurm workers join while jobs start)."""
    from concurrent.futures import Future

    from benign.grids.executors import _local_outcome, _throttled

    limits = iter([1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3])
    state = {"limit": 1, "in_flight": 0, "max": 0}

    def limit():
        state["limit"] = next(limits)
        return state["limit"]

    def submit(task):
        state["in_flight"] += 1
        state["max"] = max(state["max"], state["in_flight"])
        assert state["in_flight"] <= state["limit"]
        f = Future()
        f.set_result(task[0] * 2)
        return f

    def first_done(pending):
        state["in_flight"] -= 1
        return next(iter(pending))

    out = list(_throttled(submit, [(i,) for i in range(6)], limit, None, first_done, _local_outcome))
    assert sorted(out) == [(i, 2 * i, None) for i in range(6)] and state["max"] == 3


def test_two_drivers_on_one_directory_never_compute_a_cell_twice(tmp_path):
    import json
    import subprocess
    import sys
    import time

    from typer.testing import CliRunner

    from benign.cli.app import app
    from tests.grids.counting_driver import GRID, counted

    out, log = tmp_path / "grid", tmp_path / "cells.log"
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.grids.counting_driver", str(out), str(log), "1.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not log.exists():  # the first driver holds the lock and computes its first task
            assert first.poll() is None and time.monotonic() < deadline, "the first driver did not start"
            time.sleep(0.05)
        with pytest.raises(ValueError, match=f"is being run by the driver pid {first.pid} on "):
            run_grid(grid_spec.from_dict(GRID), out, InProcess(), run=counted(str(log), 0))
        toml = tmp_path / "tiny.toml"
        toml.write_text("".join(f"{k} = {json.dumps(v).lower()}\n" for k, v in GRID.items()))
        r = CliRunner().invoke(app, ["grid", "run", str(toml), "--out", str(out), "--workers", "1"])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
        assert r.output.startswith(f"error: {out} is being run by the driver pid {first.pid}"), r.output
        assert first.poll() is None  # refused while the first one still runs
        assert first.wait(timeout=120) == 0
    finally:
        first.kill()
    cells = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(cells) == 8 and len({tuple(sorted(c.items())) for c in cells}) == 8  # each cell once
    assert (load_grid(out).status == DONE).all() and not (out / "driver.json").exists()
    # the lock went with its driver: a third driver runs (and finds nothing to do)
    assert run_grid(grid_spec.from_dict(GRID), out, InProcess(), run=counted(str(log), 0))["done"] == 8
    assert len(log.read_text().splitlines()) == 8


def test_plan_hands_out_typed_tasks(tmp_path):
    """A task is a frozen record: its kind, its parameters (no n, B or seed), the cells it fills."""
    import dataclasses

    from benign.grids.engine import Task, plan

    spec = grid_spec.from_dict(WITH_CAPACITY)
    store = open_grid(tmp_path, spec)
    work = plan(spec, store, tmp_path, workers=2, max_batch=72)
    assert all(isinstance(t, Task) for t in work)
    toy = [t for t in work if t.kind == "toy"]
    assert sorted((c["n"], c["B"], c["seed"]) for t in toy for c in t.cells) == sorted(
        (c["n"], c["B"], c["seed"]) for c in store.cells()
    )
    assert all(not {"n", "B", "seed"} & set(t.params) and t.folder == "" for t in toy)
    assert [t.cells for t in work if t.kind == "capacity"] == [({},)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        toy[0].kind = "train"
    with pytest.raises(ValueError, match="unknown task kind"):
        Task("bake", {}, ())
