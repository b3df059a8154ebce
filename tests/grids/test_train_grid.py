"""Training grids (tables 2-4, figures 4-13) through the engine: layout, resume, interruption, GPU resources."""

import sys

import cloudpickle
import numpy as np
import pytest

from benign.grids import spec as grid_spec
from benign.grids.engine import _resources, load_grid, open_grid, run_grid
from benign.grids.executors import DaskCluster
from benign.store.cell_grid import DONE, RUNNING, TODO
from tests.grids.in_process import InProcess

cloudpickle.register_pickle_by_value(sys.modules[__name__])

TINY = {
    "kind": "train",
    "subset": 40,
    "test_subset": 60,
    "cnn_width": 4,
    "projector_width": 16,
    "batch_size": 20,
    "epochs": 2,
    "eval_every": 1,
    "probe_reference": "subset",  # the whole-split reference is tested in tests/empirical/test_probing.py
    "seeds": 1,
    "setting": [
        {"name": "random", "labels": "random", "augment": "none"},
        {"name": "clean+DA", "labels": "clean"},
    ],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train_grid")
    spec = grid_spec.from_dict({**TINY, "layer_probes": True})
    assert run_grid(spec, out, InProcess())["done"] == 2
    return out


def test_a_training_grid_holds_curves_layers_and_final_probes(trained):
    ds = load_grid(trained)
    assert ds.attrs["grid_kind"] == "train" and ds.attrs["random_guessing"] == 0.1
    assert list(ds.setting_name.values) == ["random", "clean+DA"]
    assert list(ds.epoch.values) == [0.0, 1.0, 2.0] and ds.knn_accuracy.dims == ("setting", "seed", "epoch")
    assert (
        ds.knn_clean.dims == ("setting", "seed", "epoch", "layer") and ds.layer_name.values[4] == "embedding"
    )
    for v in ("knn_accuracy", "knn_final", "linear_final", "linear_init", "knn_clean", "knn_noisy"):
        assert ((ds[v] >= 0) & (ds[v] <= 1)).all(), v
    assert np.isfinite(ds.invariance).all() and (ds.status == DONE).all()
    # both settings start from the network of seed 0: the same probe at initialisation
    assert ds.knn_init.sel(setting=0).item() == ds.knn_init.sel(setting=1).item()
    np.testing.assert_allclose(ds.knn_final, ds.knn_accuracy.isel(epoch=-1))
    # the embedding's layer probe is the learning curve's k-NN probe
    np.testing.assert_allclose(ds.knn_clean.isel(layer=4), ds.knn_accuracy, atol=1e-12)
    assert (trained / "cells" / "setting=1_seed=0" / "checkpoint.pt").is_file()


def test_rerun_of_a_done_training_grid_runs_nothing(trained):
    class Refuse(InProcess):
        def run(self, fn, tasks, **kw):
            assert tasks == []
            return iter(())

    spec = grid_spec.from_dict({**TINY, "layer_probes": True})
    assert run_grid(spec, trained, Refuse())["done"] == 2


class Interrupted(InProcess):
    """Hands out every task, finishes the first, then the driver is interrupted (Ctrl-C)."""

    def run(self, fn, tasks, on_submit=None, resources=None):
        for i in range(len(tasks)):
            on_submit(i)
        yield 0, fn(*tasks[0]), None
        raise KeyboardInterrupt


def fake_cell(task):
    assert task.kind == "train" and task.folder and len(task.cells) == 1
    return [{"knn_final": 0.5}]


def test_an_interrupted_driver_leaves_no_cell_running(tmp_path):
    spec = grid_spec.from_dict(TINY)
    with pytest.raises(KeyboardInterrupt):
        run_grid(spec, tmp_path, Interrupted(), run=fake_cell)
    ds = load_grid(tmp_path)
    assert list(ds.status.values.ravel()) == [DONE, TODO] and not (ds.status == RUNNING).any()
    assert not (tmp_path / "driver.json").exists()
    assert run_grid(spec, tmp_path, InProcess(), run=fake_cell)["done"] == 2


def test_a_cell_left_running_by_a_dead_driver_is_run_again(tmp_path):
    spec = grid_spec.from_dict(TINY)
    store = open_grid(tmp_path, spec)
    store.mark(store.cells(), RUNNING)  # as a driver killed with SIGKILL leaves them
    assert run_grid(spec, tmp_path, InProcess(), run=fake_cell) == {
        "todo": 0,
        "done": 2,
        "failed": 0,
        "running": 0,
        "resumed": 0,
        "shared": 0,
        "trained": 2,
    }


def test_training_cells_ask_dask_for_a_gpu_when_workers_have_one(tmp_path):
    spec = grid_spec.from_dict(TINY)
    with DaskCluster(local_workers=1, resources={"GPU": 1}) as cluster:
        assert cluster.has_gpus and _resources(spec, cluster) == {"GPU": 1}
        assert _resources(grid_spec.from_dict({**TINY, "device": "cpu"}), cluster) is None
        assert _resources(grid_spec.preset("fig14", "tiny"), cluster) is None
        assert run_grid(spec, tmp_path, cluster, run=fake_cell)["done"] == 2
    with DaskCluster(local_workers=1) as cluster:
        assert not cluster.has_gpus and _resources(spec, cluster) is None


def test_transfer_probes_the_embedding_on_another_dataset(tmp_path, monkeypatch):
    """Figure 10: Fashion-MNIST (Debian's copy) -> an MNIST written in its on-disk format."""
    from tests.empirical.fixtures import write_mnist_like

    write_mnist_like(tmp_path / "data", folder="MNIST", n_train=80, n_test=40)
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "data"))
    spec = grid_spec.from_dict(
        {
            **TINY,
            "setting": TINY["setting"][:1],
            "epochs": 1,
            "linear_probe": False,
            "transfer": "mnist",
            "transfer_subset": 50,
        }
    )
    assert run_grid(spec, tmp_path / "grid", InProcess())["done"] == 1
    ds = load_grid(tmp_path / "grid")
    assert ds.knn_transfer.dims == ("setting", "seed", "target") and list(ds.target_name.values) == ["mnist"]
    assert 0 <= ds.knn_transfer.item() <= 1 and 0 <= ds.knn_transfer_init.item() <= 1
    assert np.isnan(ds.linear_final.item())
    with pytest.raises(ValueError, match="transfer dataset: unknown dataset .cifar1000."):
        grid_spec.from_dict({**TINY, "transfer": "cifar1000"})


def test_the_linear_probe_is_fitted_on_the_knn_reference(tmp_path, monkeypatch):
    """Table 4: the linear probe is fitted where the k-NN probe is (the whole clean training split
    with its true labels by default), not on the training subset; and the cell records its labels'
    random share, which Definition 4.1 reads."""
    from benign.probes.linear_probe import LinearProbe

    fitted = []
    fit = LinearProbe.fit

    def spy(self, features, labels):
        fitted.append(len(labels))
        return fit(self, features, labels)

    monkeypatch.setattr(LinearProbe, "fit", spy)
    for reference in ("subset", "full"):
        spec = grid_spec.from_dict(
            {
                **TINY,
                "setting": TINY["setting"][:1],
                "epochs": 1,
                "eval_every": 0,
                "probe_reference": reference,
            }
        )
        assert run_grid(spec, tmp_path / reference, InProcess())["done"] == 1
        assert load_grid(tmp_path / reference).random_label_share.item() == 1.0
    assert fitted == [40, 40, 60000, 60000]  # (trained, at initialisation) per reference


def test_transfer_offline_to_held_out_classes_and_digits(tmp_path):
    """Figure 10 at cpu: trained on Fashion-MNIST's classes 0-4 (5 outputs), probed on its classes
    5-9 and on scikit-learn's digits, both on every machine."""
    spec = grid_spec.from_dict(
        {
            **TINY,
            "dataset": "fashion-mnist:0-4",
            "setting": TINY["setting"][:1],
            "epochs": 1,
            "linear_probe": False,
            "transfer": "fashion-mnist:5-9,digits",
            "transfer_subset": 200,
        }
    )
    assert run_grid(spec, tmp_path / "grid", InProcess())["done"] == 1
    ds = load_grid(tmp_path / "grid")
    assert list(ds.target_name.values) == ["fashion-mnist:5-9", "digits"]
    assert ds.random_guessing == 0.2  # five classes trained on
    assert ((ds.knn_transfer > 0.2) & (ds.knn_transfer <= 1)).all()  # a random network beats chance


def test_a_grid_from_before_a_parameter_was_added_is_the_same_grid(tmp_path):
    """A parameter added later (ADDED_LATER) at its neutral value computes what the grid without it
    computed: the old directory resumes; at another value it is another grid."""
    import json

    from benign.grids.engine import SPEC_FILE
    from benign.grids.shared_cells import cell_key

    spec = grid_spec.from_dict({**TINY, "setting": TINY["setting"][:1], "epochs": 1})
    open_grid(tmp_path, spec)
    stored = json.loads((tmp_path / SPEC_FILE).read_text())
    for name in ("cooldown", "image_size"):
        del stored["params"][name]
    (tmp_path / SPEC_FILE).write_text(json.dumps(stored))
    open_grid(tmp_path, spec)  # the same grid
    with pytest.raises(ValueError, match="holds a different grid"):
        open_grid(
            tmp_path,
            grid_spec.from_dict({**TINY, "setting": TINY["setting"][:1], "epochs": 1, "cooldown": 0.2}),
        )
    import xarray as xr

    from benign.grids.engine import GRID_FILE
    from benign.plots.memorization import random_label_share

    ds = xr.load_dataset(tmp_path / GRID_FILE).drop_vars("random_label_share")  # written before it existed
    ds.attrs["config_json"] = json.dumps(stored)
    ds.to_netcdf(tmp_path / GRID_FILE)
    store = open_grid(tmp_path, spec)  # the same grid, the variable added for the cells still to record
    assert store.ds.random_label_share.isnull().all()
    assert random_label_share(store.ds).values.tolist() == [[1.0]]  # read from the configuration meanwhile
    params = spec.cell_params({"setting": 0, "seed": 0})
    assert cell_key(params, 0) == cell_key({**params, "cooldown": 0.0, "image_size": 0}, 0)
    assert cell_key(params, 0) != cell_key({**params, "cooldown": 0.2}, 0)
