"""The profiles keep a status per (method, seed) cell in a store.cell_grid.CellGrid: a failed task is
`failed` in the file and retried by a rerun, which trains nothing else."""

import numpy as np
import pytest
import xarray as xr

import benign.empirical.profiles.run as profiles_run
from benign.empirical.profiles.run import ProfileConfig, TasksFailed, run
from benign.grids.in_process import InProcess
from benign.store.cell_grid import DONE, FAILED, RUNNING

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ProfileConfig(
    dataset="synthetic",
    methods=["supervised", "random"],
    networks=2,
    augmentations=2,
    epochs=1,
    examples=16,
    train_size=32,
    cnn_width=2,
    projector_width=8,
    batch_size=16,
    actmax_channels=0,
    max_batch=1,
)


def test_a_failed_task_is_marked_failed_and_retried_alone(tmp_path, monkeypatch):
    out = tmp_path / "p.nc"
    real = profiles_run.run_task

    def failing(cfg_json, method, positions):
        if method == "random" and positions == [1]:
            raise RuntimeError("out of memory")
        return real(cfg_json, method, positions)

    monkeypatch.setattr(profiles_run, "run_task", failing)
    with pytest.raises(TasksFailed, match="random seeds \\[1\\]"):
        run(TINY, out, executor=InProcess(), log=None)
    ds = xr.load_dataset(out)
    assert ds["status"].values.tolist() == [[DONE, DONE], [DONE, FAILED]]
    assert not (ds["status"].values == RUNNING).any()
    assert (ds["recognised"].values[1, 1] == -1).all() and (ds["recognised"].values[0, 0] >= 0).all()

    trained = []
    monkeypatch.setattr(profiles_run, "run_task", lambda *t: trained.append(t[1:]) or real(*t))
    again = run(TINY, out, executor=InProcess(), log=None)
    assert trained == [("random", [1])]
    assert (again["status"].values == DONE).all()
    np.testing.assert_array_equal(again["recognised"].values[0], ds["recognised"].values[0])


def test_a_file_of_another_configuration_is_refused(tmp_path):
    out = tmp_path / "p.nc"
    run(TINY, out, log=None)
    with pytest.raises(ValueError, match="different grid"):
        run(ProfileConfig(**{**TINY.__dict__, "epochs": 2}), out, log=None)
