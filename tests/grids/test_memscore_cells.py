"""Companion 3's turn-over dropout runs as cells of the grid engine: a status and a run.nc per cell,
the same numbers as a direct run, resuming without retraining, local processes, the corruption
sweep's picture and its claim (S10)."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app
from benign.empirical.memscore.experiment import run
from benign.grids import memscore_cells
from benign.grids import spec as grid_spec
from benign.grids.claims import judge_s10
from benign.grids.engine import CELLS_DIR, collect_grid, load_grid, run_grid
from benign.grids.executors import LocalProcesses
from benign.grids.in_process import InProcess
from benign.store.cell_grid import DONE

SWEEP = {
    "kind": "memscore",
    "dataset": "synthetic",
    "n_train": 60,
    "n_test": 20,
    "hidden": 16,
    "epochs": 2,
    "lr": 0.1,
    "batch_size": 16,
    "grad_every": 0,
    "influence_targets": 2,
    "corrupt_fraction": [0.0, 0.5],
    "seeds": [0, 1],
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    counts = run_grid(grid_spec.from_dict(SWEEP), out, InProcess())
    assert counts["done"] == 4 and counts["trained"] == 4 and counts["failed"] == 0
    return out


def test_every_cell_has_a_status_a_run_file_and_its_curves(sweep):
    ds = load_grid(sweep)
    assert ds.attrs["grid_kind"] == "memscore" and (ds["status"] == DONE).all()
    assert ds["accuracy_seen"].dims == ("corrupt_fraction", "seed", "epoch") and ds.sizes["epoch"] == 3
    runs = sorted((sweep / CELLS_DIR).glob(f"*/{memscore_cells.RUN_FILE}"))
    assert len(runs) == 4
    one = xr.load_dataset(sweep / CELLS_DIR / "corrupt_fraction=0.5_seed=1" / memscore_cells.RUN_FILE)
    cell = ds.sel(corrupt_fraction=0.5, seed=1)
    np.testing.assert_array_equal(cell["test_accuracy"].values, one["test_accuracy"].values)
    corrupted = one["corrupted"].values.astype(bool)
    assert cell["corrupted_share"].item() == corrupted.mean() == 0.5
    np.testing.assert_allclose(
        cell["accuracy_seen_corrupted"].values, one["correct_seen"].values[:, corrupted].mean(axis=1)
    )
    assert ds.sel(corrupt_fraction=0.0)["accuracy_seen_corrupted"].isnull().all()  # no corrupted example


def test_a_cell_gives_the_numbers_of_a_direct_run(sweep):
    params = grid_spec.from_dict(SWEEP).cell_params({"corrupt_fraction": 0.5, "seed": 1})
    direct = run(memscore_cells.run_config(params, seed=1), log=lambda *a, **k: None)
    cell = xr.load_dataset(sweep / CELLS_DIR / "corrupt_fraction=0.5_seed=1" / memscore_cells.RUN_FILE)
    for name in ("score", "influence", "correct_seen", "test_correct", "train_loss"):
        np.testing.assert_array_equal(cell[name].values, direct[name].values, err_msg=name)


def test_a_rerun_trains_nothing_and_a_written_run_is_not_trained_again(sweep, tmp_path):
    assert run_grid(grid_spec.from_dict(SWEEP), sweep, InProcess())["trained"] == 0
    # a driver that died after the worker wrote run.nc but before it recorded the cell: the cell is
    # to do, and its run.nc is read back, not retrained (a fake runner would fail if it trained)
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy)
    ds = load_grid(copy)
    ds["status"].loc[{"corrupt_fraction": 0.5, "seed": 1}] = 0
    from benign.store.netcdf import save_atomic

    save_atomic(ds, copy / "grid.nc")
    memscore_cells_run = memscore_cells.run_and_label
    try:
        memscore_cells.run_and_label = lambda *a, **k: (_ for _ in ()).throw(AssertionError("retrained"))
        counts = run_grid(grid_spec.from_dict(SWEEP), copy, InProcess())
    finally:
        memscore_cells.run_and_label = memscore_cells_run
    assert counts["trained"] == 1 and counts["failed"] == 0
    xr.testing.assert_equal(load_grid(copy)["test_accuracy"], load_grid(sweep)["test_accuracy"])


def test_local_processes_give_the_same_grid(sweep, tmp_path):
    with LocalProcesses(2) as executor:
        counts = run_grid(grid_spec.from_dict(SWEEP), tmp_path, executor)
    assert counts["done"] == 4
    a, b = collect_grid(tmp_path), collect_grid(sweep)
    for name in memscore_cells.EPOCH_VARIABLES:  # one thread a worker, as in this process's tests
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-6, err_msg=name)


def test_one_cell_collects_to_the_runs_own_file(tmp_path):
    one = {k: (v[1] if k == "corrupt_fraction" else v) for k, v in SWEEP.items()} | {"seeds": [3]}
    run_grid(grid_spec.from_dict(one), tmp_path, InProcess())
    ds = collect_grid(tmp_path)
    assert ds.attrs["title"] == "memorization scores by turn-over dropout" and "score" in ds
    assert ds.attrs["complete"] == "true" and ds.sizes["example"] == 60


def curves(train, test):
    """A grid file with given training / test curves, (levels, epochs) at one seed."""
    train, test = np.asarray(train, float)[:, None], np.asarray(test, float)[:, None]
    levels, epochs = train.shape[0], train.shape[2]
    coords = {"corrupt_fraction": [0.0, 0.5, 1.0][:levels], "seed": [0], "epoch": list(range(epochs))}
    dims = ("corrupt_fraction", "seed", "epoch")
    return xr.Dataset(
        {
            "accuracy_seen": (dims, train),
            "test_accuracy": (dims, test),
            "status": (dims[:2], np.full((levels, 1), DONE, np.int8)),
        },
        coords=coords,
    )


def test_s10_holds_on_slower_fits_and_a_peak_and_fails_otherwise():
    fit = [
        [0.1, 0.9, 1, 1, 1, 1, 1, 1],
        [0.1, 0.5, 0.7, 0.8, 0.9, 1, 1, 1],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    ]
    peak = [
        [0.1, 0.8, 0.85, 0.86, 0.86, 0.86, 0.86, 0.86],
        [0.1, 0.75, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6],
        [0.1] * 8,
    ]
    assert judge_s10(curves(fit, peak)).holds
    # a single low last epoch is not a drop: the last five epochs are averaged
    dip = [peak[0], [0.1, 0.7, 0.75, 0.76, 0.76, 0.76, 0.76, 0.68], [0.1] * 8]
    j = judge_s10(curves(fit, dip))
    assert not j.holds and j.why.startswith("no lasting drop at 0.5")
    faster = [fit[0], fit[2], fit[1]]
    j = judge_s10(curves(faster, peak))
    assert not j.holds and j.why == "the fit does not slow"


def test_grid_show_prints_the_corruption_preset_as_toml():
    r = CliRunner().invoke(app, ["grid", "show", "corruption", "--scale", "cpu"])
    assert r.exit_code == 0, r.output
    assert 'kind = "memscore"' in r.output and "corrupt_fraction = [0.0, 0.25, 0.5, 0.75, 1.0]" in r.output
