"""The n x B grid of a real network (preset nb): it builds at every scale, runs at tiny scale, reads
its capacity C_t off the B = 1 column and draws figure 14's heatmap with the line n = C_t / B."""

import sys

import cloudpickle
import numpy as np
import pytest
import xarray as xr

from grids import presets
from grids import spec as grid_spec
from grids.engine import load_grid, run_grid
from plots.auto import pick_kinds, plot_result
from plots.nb import as_heatmap, grid_capacity
from store.cell_grid import DONE
from tests.empirical.fixtures import write_mnist_like
from tests.grids.in_process import InProcess

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.mark.parametrize("scale", presets.SCALES)
def test_nb_builds_at_every_scale(scale):
    spec = grid_spec.preset("nb", scale)
    assert spec.dims == ["subset", "bank", "seed"] and 1 in spec.params["bank"]
    assert spec.params["labels"] == "random" and spec.params["bank_labels"] == "image"
    if scale != "full":  # one step an epoch: every cell trains the same t = epochs steps
        assert spec.params["batch_size"] >= max(spec.params["subset"])


def test_nb_runs_at_tiny_scale_and_draws_its_heatmap(tmp_path, monkeypatch):
    write_mnist_like(tmp_path / "data", "FashionMNIST", n_train=80, n_test=100)
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "data"))
    spec = grid_spec.preset("nb", "tiny")
    assert run_grid(spec, tmp_path / "grid", InProcess())["done"] == spec.size()
    ds = load_grid(tmp_path / "grid")
    assert (ds.status == DONE).all() and ds.attrs["grid_name"] == "nb"
    assert ds.bank_fit.dims == ("subset", "bank", "seed") and ((ds.bank_fit >= 0) & (ds.bank_fit <= 1)).all()
    lower, upper = grid_capacity(ds)
    assert lower in (0.0, 16.0, 32.0) and (np.isnan(upper) or upper > lower)
    heat = as_heatmap(ds)
    assert {"n", "B"} <= set(heat.knn_acc.dims) and "knn_acc_init" in heat
    assert pick_kinds(ds) == ("heatmap",)
    paths = plot_result(ds, tmp_path / "nb.png")
    assert paths == [tmp_path / "nb.png"] and paths[0].stat().st_size > 0


def _grid(fit: np.ndarray) -> xr.Dataset:
    n, b = [8, 16, 32, 64], [1, 4]
    shape = (len(n), len(b), fit.shape[-1])
    full = np.zeros(shape)
    full[:, 0, :] = fit
    return xr.Dataset(
        {
            "bank_fit": (("subset", "bank", "seed"), full),
            "knn_final": (("subset", "bank", "seed"), np.full(shape, 0.5)),
            "knn_init": (("subset", "bank", "seed"), np.full(shape, 0.4)),
            "status": (("subset", "bank", "seed"), np.full(shape, DONE)),
        },
        coords={"subset": n, "bank": b, "seed": list(range(fit.shape[-1]))},
    )


def test_capacity_from_the_b1_column():
    """lower = the largest n with every seed (labelling) fitted and all smaller n too; upper = the next."""
    all_fit = np.ones((4, 2))
    assert grid_capacity(_grid(all_fit))[0] == 64 and np.isnan(grid_capacity(_grid(all_fit))[1])
    one_fails = all_fit.copy()
    one_fails[2, 1] = 0.98  # one labelling of n = 32 misses 2% of its images
    assert grid_capacity(_grid(one_fails)) == (16.0, 32.0)
    first_fails = all_fit.copy()
    first_fails[0, 0] = 0.5
    assert grid_capacity(_grid(first_fails)) == (0.0, 8.0)
    with pytest.raises(ValueError, match="B = 1"):
        grid_capacity(_grid(all_fit).sel(bank=[4]))
