"""`benign grid run/status/collect` through typer's CliRunner, on local processes and a real Dask LocalCluster."""

import pytest
import xarray as xr
from distributed import LocalCluster
from typer.testing import CliRunner

import benign.grids.executors
from benign.cli.app import app
from benign.theory.toy_grid import VARIABLES

runner = CliRunner()
TINY_TOML = (
    "n = [3, 6]\nB = [1, 2]\nseeds = 2\nsteps = 20\nK = 8\nn_probe = 50\nn_test = 50\ncapacity = false\n"
)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(r, *words):
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    for w in words:
        assert w in lines[0]


@pytest.fixture(scope="module")
def toml(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


@pytest.fixture(scope="module")
def local_run(toml, tmp_path_factory):
    """The tiny grid on two local worker processes, collected into one file."""
    root = tmp_path_factory.mktemp("local")
    r = run("grid", "run", toml, "--out", root / "grid", "--workers", 2)
    assert r.exit_code == 0, r.output
    assert "8 of 8 cells to do" in r.output and "done 8, failed 0, to do 0" in r.output
    r = run("grid", "collect", root / "grid", "--out", root / "all")
    assert r.exit_code == 0, r.output
    return root


def test_local_processes_complete_and_collect_in_specs_format(local_run):
    ds = xr.load_dataset(local_run / "all" / "grid.nc")
    assert dict(ds.sizes) == {"n": 2, "B": 2, "seed": 2}
    assert (ds.status == 1).all() and ds.attrs["complete"] == "true" and ds.attrs["grid_name"] == "tiny"
    for key in ("title", "created_at", "package_version", "git_commit", "command", "config_json"):
        assert ds.attrs[key] != ""
    for v in (*VARIABLES, "status", "error"):
        assert ds[v].attrs["long_name"] and "units" in ds[v].attrs


def test_status_shows_the_counts(local_run):
    r = run("grid", "status", local_run / "grid")
    assert r.exit_code == 0, r.output
    assert (
        "done" in r.output
        and "to do" in r.output
        and "│    8 │       0 │      0 │     0 │     8 │" in r.output
    )


def test_rerun_skips_done_cells(local_run, toml):
    before = xr.load_dataset(local_run / "grid" / "grid.nc")
    r = run("grid", "run", toml, "--out", local_run / "grid", "--workers", 2)
    assert r.exit_code == 0, r.output
    assert "0 of 8 cells to do" in r.output
    xr.testing.assert_identical(
        xr.load_dataset(local_run / "grid" / "grid.nc")[list(VARIABLES)], before[list(VARIABLES)]
    )


def test_dask_local_cluster_collects_the_same_file(local_run, toml, tmp_path):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        r = run("grid", "run", toml, "--out", tmp_path / "grid", "--scheduler", cluster.scheduler_address)
        assert r.exit_code == 0, r.output
        assert "Dask scheduler" in r.output and "done 8, failed 0" in r.output
    finally:
        cluster.close()
    r = run("grid", "collect", tmp_path / "grid", "--out", tmp_path / "all")
    assert r.exit_code == 0, r.output
    dask, local = (
        xr.load_dataset(tmp_path / "all" / "grid.nc"),
        xr.load_dataset(local_run / "all" / "grid.nc"),
    )
    xr.testing.assert_allclose(dask[list(VARIABLES)], local[list(VARIABLES)])


def test_a_different_spec_is_refused(local_run, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(TINY_TOML.replace("steps = 20", "steps = 21"))
    one_line_error(run("grid", "run", other, "--out", local_run / "grid"), "different grid")


def test_unknown_preset_parameter_and_scale_name_the_valid_ones(tmp_path):
    one_line_error(run("grid", "run", "fig99", "--out", tmp_path / "g"), "unknown preset 'fig99'", "fig14")
    bad = tmp_path / "bad.toml"
    bad.write_text("n = [3]\nstepz = 3\n")
    one_line_error(run("grid", "run", bad, "--out", tmp_path / "g"), "unknown parameter stepz", "steps")
    one_line_error(
        run("grid", "run", "fig14", "--scale", "huge", "--out", tmp_path / "g"), "small, full, tiny"
    )
    assert not (tmp_path / "g").exists()


def test_unreachable_scheduler_is_one_line_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(benign.grids.executors, "CONNECT_TIMEOUT_S", 0.5)
    r = run("grid", "run", "fig14", "--out", tmp_path / "g", "--scheduler", "tcp://127.0.0.1:1")
    one_line_error(r, "cannot reach the Dask scheduler at tcp://127.0.0.1:1")
    assert not (tmp_path / "g").exists()


def test_a_large_grid_asks_for_yes(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(f"n = {list(range(1, 101))}\nB = {list(range(1, 52))}\nseeds = 1\n")
    one_line_error(run("grid", "run", big, "--out", tmp_path / "g"), "5100 cells", "--yes")
    assert not (tmp_path / "g").exists()


def test_status_of_a_directory_without_a_grid(tmp_path):
    one_line_error(run("grid", "status", tmp_path), "holds no grid")


def test_status_lists_failed_cells_with_their_error(tmp_path):
    from benign.grids.engine import run_grid
    from benign.grids.spec import load_toml

    class FailingInProcess:
        workers = 1

        def run(self, fn, tasks, **kw):
            for i, _ in enumerate(tasks):
                yield i, None, RuntimeError("out of memory")

    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(TINY_TOML)
    assert run_grid(load_toml(spec_file), tmp_path / "grid", FailingInProcess())["failed"] == 8
    r = run("grid", "status", tmp_path / "grid")
    assert r.exit_code == 0, r.output
    assert "│    0 │       0 │      8 │     0 │     8 │" in r.output
    assert "failed n=3, B=1, seed=0: RuntimeError: out of memory" in r.output


def test_status_tells_cells_left_running_by_a_dead_driver(tmp_path):
    from benign.grids.engine import open_grid
    from benign.grids.spec import load_toml
    from benign.store.cell_grid import RUNNING

    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(TINY_TOML)
    store = open_grid(tmp_path / "grid", load_toml(spec_file))
    store.mark(store.cells()[:3], RUNNING)  # what a driver killed with SIGKILL leaves behind
    r = run("grid", "status", tmp_path / "grid")
    assert r.exit_code == 0, r.output
    assert "│    0 │       3 │      0 │     5 │     8 │" in r.output
    assert "left so by a driver that stopped: rerun" in " ".join(r.output.split())


def test_status_shows_the_progress_of_running_training_cells(tmp_path):
    from benign.grids.engine import open_grid
    from benign.grids.spec import from_dict
    from benign.store.cell_grid import RUNNING

    spec = from_dict({"kind": "train", "epochs": 4, "eval_every": 2, "seeds": 2})
    store = open_grid(tmp_path, spec)
    store.mark(store.cells(), RUNNING)
    folder = tmp_path / "cells" / "seed=0"
    folder.mkdir(parents=True)
    xr.Dataset({"knn_accuracy": ("epoch", [0.3, 0.55])}, coords={"epoch": [0.0, 2.0]}).to_netcdf(
        folder / "history.nc"
    )
    r = run("grid", "status", tmp_path)
    assert r.exit_code == 0, r.output
    assert "running seed=0: epoch 2 of 4, k-NN 0.550" in r.output
    assert "running seed=1: no epoch finished yet" in r.output


def test_a_full_disk_is_one_line_naming_the_path_and_the_grid_stays_intact(small_disk, toml):
    from benign.grids.engine import open_grid
    from benign.grids.spec import load_toml
    from benign.store.cell_grid import TODO
    from tests.store.full_disk import files_of, fill

    out = small_disk / "grid"
    assert run("grid", "run", toml, "--out", out, "--workers", 1).exit_code == 0
    store = open_grid(out, load_toml(toml))
    store.mark(store.cells()[:4], TODO)  # half the grid to do again, and then the disk is full
    fill(small_disk, leave=8192)  # room for driver.json, not for the grid file
    before = files_of(small_disk)
    r = run("grid", "run", toml, "--out", out, "--workers", 1)
    assert r.exit_code == 2, r.output
    last = r.output.strip().splitlines()[-1]  # after the "cells to do" line and the progress bar
    assert last == f"error: cannot write {out / 'grid.nc'}: no space left on device", r.output
    assert "Traceback" not in r.output and "HDF error" not in r.output
    assert files_of(small_disk) == before  # no temporary file left; grid.nc as it was, byte for byte


def test_collect_without_out_writes_the_grid_file_in_place(local_run, tmp_path):
    import shutil
    import subprocess
    import sys

    grid = tmp_path / "grid"
    shutil.copytree(local_run / "grid", grid)
    r = run("grid", "collect", grid)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"wrote {grid / 'grid.nc'}: 8 cells done"), r.output
    ds = xr.load_dataset(grid / "grid.nc")
    assert ds.attrs["complete"] == "true" and (ds.status == 1).all()
    assert float(abs(ds.knn_acc - xr.load_dataset(local_run / "all" / "grid.nc").knn_acc).max()) == 0
    holder = subprocess.Popen(  # a driver running (another process): collecting in place would race it
        [sys.executable, "-c", HOLD_LOCK, str(grid)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        one_line_error(run("grid", "collect", grid), f"is being run by the driver pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()


HOLD_LOCK = (
    "import sys, time\nfrom benign.grids.engine import DriverLock\n"
    "with DriverLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n"
)


def test_grid_run_with_its_data_missing_fails_fast_in_one_line(tmp_path, monkeypatch):
    """Every cell would fail on it: the run stops before any cell, exit 1, saying where it looked."""
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "empty"))
    r = runner.invoke(app, ["grid", "run", "fig10", "--scale", "tiny", "--out", str(tmp_path / "g")])
    assert r.exit_code == 1 and r.output.strip().startswith("error: mnist not found at"), r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "g").exists()


def test_grid_run_exits_1_naming_the_failed_cells(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(
        'kind = "train"\nsubset = [70000]\ntest_subset = 50\ncnn_width = 4\nprojector_width = 8\n'
        'batch_size = 16\nepochs = 1\nprobe_reference = "subset"\nseeds = 1\n'
    )
    r = runner.invoke(app, ["grid", "run", str(toml), "--out", str(tmp_path / "g"), "--workers", "1"])
    assert r.exit_code == 1, r.output
    assert (
        "done 0, failed 1" in r.output and "failed subset=70000, seed=0: ValueError: subset size" in r.output
    )


def test_a_grid_of_one_turnover_run_collects_and_draws_as_the_run_and_keeps_its_grid(tmp_path):
    """A one-cell memscore grid collects to the run's own file (memscore.nc beside grid.nc, never over
    it: a rerun still finds its grid) and `benign plot` draws companion 3's figures of it."""
    toml = tmp_path / "one.toml"
    toml.write_text(
        'kind = "memscore"\ndataset = "synthetic"\nn_train = 60\nn_test = 20\nhidden = 16\nepochs = 2\n'
        "lr = 0.1\nbatch_size = 16\ncorrupt_fraction = 0.25\ngrad_every = 2\ninfluence_targets = 2\nseeds = [0]\n"
    )
    out = tmp_path / "g"
    r = runner.invoke(app, ["grid", "run", str(toml), "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0 and "done 1, failed 0" in r.output, r.output
    r = runner.invoke(app, ["grid", "collect", str(out)])
    assert r.exit_code == 0 and f"wrote {out / 'memscore.nc'}" in r.output, r.output
    assert xr.load_dataset(out / "memscore.nc").attrs["title"] == "memorization scores by turn-over dropout"
    assert xr.load_dataset(out / "grid.nc").attrs["title"] == "benign grid"
    r = runner.invoke(app, ["grid", "run", str(toml), "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0 and "done 1, failed 0" in r.output, r.output
    r = runner.invoke(app, ["plot", str(out / "grid.nc"), "--out", str(tmp_path / "fig")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fig" / "dynamics.png").is_file()
