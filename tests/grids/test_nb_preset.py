"""The n x B grid of a real network (preset nb): it builds at every scale with dimensions n and B, runs
at tiny scale, stores at collect the capacity C_t read off its B = 1 column, and draws figure 14's
heatmap with the line n = C_t / B (older files with dimensions subset and bank too)."""

import math
import sys

import cloudpickle
import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from benign.cli.app import app
from benign.grids import presets
from benign.grids import spec as grid_spec
from benign.grids.engine import GRID_FILE, open_grid, plan, run_grid
from benign.grids.train_cells import nb_capacity
from benign.plots.auto import pick_kinds, plot_result
from benign.plots.nb import as_heatmap
from benign.store.cell_grid import DONE, TODO
from benign.store.netcdf import load_result, save_atomic
from tests.empirical.fixtures import write_mnist_like
from tests.grids.in_process import InProcess

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def reference_bracket(ns, fit, status) -> tuple[float, float]:
    """C_t from a B = 1 column, one n at a time: fit and status over (n, seed)."""
    lower = 0.0
    for n, row, done in sorted(zip(ns, fit, status), key=lambda x: x[0]):
        if not (done == DONE).all():
            return lower, math.nan
        if not (row >= 1.0).all():
            return lower, float(n)
        lower = float(n)
    return lower, math.nan


@pytest.mark.parametrize("scale", presets.SCALES)
def test_nb_builds_at_every_scale(scale):
    spec = grid_spec.preset("nb", scale)
    assert spec.dims == ["n", "B", "seed"] and 1 in spec.coords["B"]
    assert spec.coords["n"] == spec.params["subset"] and spec.coords["B"] == spec.params["bank"]
    assert "subset" not in spec.fixed and "bank" not in spec.fixed
    params = spec.cell_params({"n": spec.coords["n"][-1], "B": spec.coords["B"][-1], "seed": 0})
    assert params["subset"] == spec.params["subset"][-1] and params["bank"] == spec.params["bank"][-1]
    assert "n" not in params and "B" not in params
    assert spec.params["labels"] == "random" and spec.params["bank_labels"] == "image"
    if scale != "full":  # every cell trains the same t steps: a step budget, or one step an epoch
        assert spec.params["steps"] > 0 or spec.params["batch_size"] >= max(spec.params["subset"])


def test_a_bank_grid_without_a_subset_axis_keeps_its_dimension_name():
    spec = grid_spec.preset("fig6", "tiny")
    assert "bank" in spec.dims and "B" not in spec.dims


def test_nb_runs_collects_its_capacity_and_draws_its_heatmap(tmp_path, monkeypatch):
    write_mnist_like(tmp_path / "data", "FashionMNIST", n_train=80, n_test=100)
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "data"))
    spec = grid_spec.preset("nb", "tiny")
    grid = tmp_path / "grid"
    assert run_grid(spec, grid, InProcess())["done"] == spec.size()
    # one seed, one network at init; tiny probes against the training subset, so one probe per n
    assert spec.params["probe_reference"] == "subset"
    assert len(list((grid / "init-probes").glob("*.json"))) == len(spec.coords["n"])
    r = CliRunner().invoke(app, ["grid", "collect", str(grid)])
    assert r.exit_code == 0, r.output
    ds = load_result(grid / GRID_FILE)
    assert (ds.status == DONE).all() and ds.attrs["grid_name"] == "nb" and ds.attrs["complete"] == "true"
    assert ds.bank_fit.dims == ("n", "B", "seed") and ((ds.bank_fit >= 0) & (ds.bank_fit <= 1)).all()
    assert list(ds.n.values) == [16, 32] and list(ds.B.values) == [1, 4]
    column = ds.sel(B=1)
    lower, upper = reference_bracket(ds.n.values, column.bank_fit.values, column.status.values)
    assert float(ds.capacity_lower) == lower
    assert float(ds.capacity_upper) == upper or (math.isnan(upper) and np.isnan(ds.capacity_upper))
    for name in ("capacity_lower", "capacity_upper"):
        assert ds[name].dims == () and ds[name].attrs["units"] == "1"
        assert "B = 1" in ds[name].attrs["comment"] and ds[name].attrs["long_name"].startswith("capacity C_t")
    heat = as_heatmap(ds)
    assert {"n", "B"} <= set(heat.knn_acc.dims) and "knn_acc_init" in heat and "capacity_lower" in heat
    assert pick_kinds(ds) == ("heatmap",)
    paths = plot_result(ds, tmp_path / "nb.png")
    assert paths == [tmp_path / "nb.png"] and paths[0].stat().st_size > 0
    # the grid collected in place resumes: nothing left to do, and no capacity task planned for it
    assert plan(spec, open_grid(grid, spec), grid, workers=1) == []
    ran = []
    assert run_grid(spec, grid, InProcess(), on_batch=ran.append)["done"] == spec.size() and not ran
    # so does one written with the former dimension names: renamed, its done cells kept
    save_atomic(
        ds.drop_vars(["capacity_lower", "capacity_upper"]).rename(n="subset", B="bank"), grid / GRID_FILE
    )
    assert run_grid(spec, grid, InProcess(), on_batch=ran.append)["done"] == spec.size() and not ran
    assert load_result(grid / GRID_FILE).bank_fit.dims == ("n", "B", "seed")


def _grid(fit: np.ndarray, dims=("n", "B", "seed"), status=None) -> xr.Dataset:
    """A collected-looking n x B grid over n = 8..64, B = 1, 4 whose B = 1 column is fit (n, seed)."""
    n, b = [8, 16, 32, 64], [1, 4]
    shape = (len(n), len(b), fit.shape[-1])
    full = np.zeros(shape)
    full[:, 0, :] = fit
    status = np.full(shape, DONE) if status is None else status
    return xr.Dataset(
        {
            "bank_fit": (dims, full),
            "knn_final": (dims, np.full(shape, 0.5)),
            "knn_init": (dims, np.full(shape, 0.4)),
            "status": (dims, status),
        },
        coords={dims[0]: n, dims[1]: b, "seed": list(range(fit.shape[-1]))},
        attrs={"grid_kind": "train"},
    )


def _bracket(ds: xr.Dataset) -> tuple[float, float]:
    c = nb_capacity(ds)
    return float(c.capacity_lower), float(c.capacity_upper)


def test_capacity_from_the_b1_column():
    """lower = the largest n with every seed (labelling) fitted and all smaller n too; upper = the next."""
    all_fit = np.ones((4, 2))
    lower, upper = _bracket(_grid(all_fit))
    assert lower == 64 and np.isnan(upper)
    one_fails = all_fit.copy()
    one_fails[2, 1] = 0.98  # one labelling of n = 32 misses 2% of its images
    assert _bracket(_grid(one_fails)) == (16.0, 32.0)
    first_fails = all_fit.copy()
    first_fails[0, 0] = 0.5
    assert _bracket(_grid(first_fails)) == (0.0, 8.0)
    not_done = np.full((4, 2, 2), DONE)
    not_done[1, 0, 0] = TODO  # n = 16 not known yet: the bracket stops at n = 8
    lower, upper = _bracket(_grid(one_fails, status=not_done))
    assert lower == 8 and np.isnan(upper)
    with pytest.raises(ValueError, match="B = 1"):
        nb_capacity(_grid(all_fit).sel(B=[4]))


@given(
    fit=arrays(np.float64, (4, 3, 2), elements=st.sampled_from([0.5, 0.99, 1.0])),
    done=arrays(np.bool_, (4, 3, 2), elements=st.sampled_from([True, True, True, False])),
)
def test_capacity_per_value_of_another_swept_parameter_matches_one_n_at_a_time(fit, done):
    """A grid sweeping lr besides n and B: one bracket per lr, each its B = 1 column's."""
    shape = (4, 2, 3, 2)  # n, B, lr, seed
    dims = ("n", "B", "lr", "seed")
    full = np.zeros(shape)
    full[:, 0] = fit
    status = np.full(shape, DONE, dtype=np.int8)
    status[:, 0] = np.where(done, DONE, TODO)
    ns = [64, 8, 32, 16]  # not sorted on the file
    ds = xr.Dataset(
        {"bank_fit": (dims, full), "status": (dims, status)},
        coords={"n": ns, "B": [1, 2], "lr": [1e-4, 3e-4, 1e-3], "seed": [0, 1]},
    )
    c = nb_capacity(ds)
    assert c.capacity_lower.dims == ("lr",)
    for i in range(3):
        lower, upper = reference_bracket(ns, fit[:, i], status[:, 0, i])
        assert float(c.capacity_lower[i]) == lower
        assert float(c.capacity_upper[i]) == upper or (math.isnan(upper) and np.isnan(c.capacity_upper[i]))


def test_an_older_file_with_subset_and_bank_is_drawn(tmp_path):
    old = _grid(np.ones((4, 2)), dims=("subset", "bank", "seed"))
    old.attrs["grid_name"] = "nb"
    heat = as_heatmap(old)
    assert {"n", "B"} <= set(heat.knn_acc.dims) and "capacity_lower" not in heat
    assert pick_kinds(old) == ("heatmap",)
    assert plot_result(old, tmp_path / "old.png")[0].stat().st_size > 0


def test_a_step_budget_trains_every_cell_t_steps_whatever_its_n(tmp_path, monkeypatch):
    """Under `steps = t` (epochs = 0) a cell of 16 and one of 32 images at batch 16 both take t steps
    (2t and t epochs' worth), the curve is along `step` = [0, t], and a table of the grid reads it."""
    import torch

    from benign.plots.tables import markdown_table

    write_mnist_like(tmp_path / "data", "FashionMNIST", n_train=80, n_test=100)
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "data"))
    raw = {**presets.preset_dict("nb", "tiny"), "batch_size": 16, "epochs": 0, "steps": 3}
    spec = grid_spec.from_dict(raw, name="nb")
    grid = tmp_path / "grid"
    assert run_grid(spec, grid, InProcess())["done"] == spec.size()
    ds = load_result(grid / GRID_FILE)
    assert ds.knn_accuracy.dims == ("n", "B", "seed", "step") and list(ds.step.values) == [0.0, 3.0]
    assert "epoch" not in ds.dims and np.isfinite(ds.knn_accuracy).all()
    assert (ds.knn_accuracy.isel(step=-1) == ds.knn_final).all()
    for folder in (grid / "cells").iterdir():
        assert torch.load(folder / "checkpoint.pt", weights_only=False)["step"] == 3
    assert "| " in markdown_table(ds)


def test_a_step_budget_with_a_learning_curve_is_refused_in_one_line(tmp_path):
    path = tmp_path / "nb.toml"
    path.write_text(
        'kind = "train"\nsubset = [16, 32]\nbank = [1, 4]\nepochs = 0\nsteps = 3\neval_every = 1\n'
    )
    r = CliRunner().invoke(app, ["grid", "run", str(path), "--out", str(tmp_path / "g")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "step budget" in r.output and "eval_every = 0" in r.output
    assert not (tmp_path / "g").exists()
