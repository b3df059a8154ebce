"""Profiles as grid tasks: the file made on a real Dask LocalCluster equals the one made by local
processes; a rerun (here in-process) resumes from the per-cell status and trains only what is left."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from benign.empirical.profiles.run import DONE, TODO, ProfileConfig, run, tasks_todo
from benign.grids.executors import DaskCluster, LocalProcesses

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ProfileConfig(
    dataset="synthetic",
    methods=["supervised", "simclr"],
    networks=3,
    augmentations=2,
    epochs=2,
    examples=16,
    train_size=32,
    cnn_width=2,
    projector_width=8,
    simclr_dim=8,
    batch_size=16,
    actmax_channels=1,
    actmax_steps=2,
    max_batch=2,
)  # 4 tasks: chunks of 2 and 1 networks
DATA = ["recognised", "train_loss", "status", "embedding", "actmax", "actmax_channel"]


def test_tasks_are_methods_times_chunks_of_seeds():
    ds = xr.Dataset({"status": (("method", "seed"), np.zeros((2, 3), dtype=np.int8))})
    assert tasks_todo(TINY, ds) == [
        ("supervised", [0, 1]),
        ("supervised", [2]),
        ("simclr", [0, 1]),
        ("simclr", [2]),
    ]
    ds["status"].values[0, 1] = DONE
    assert tasks_todo(dataclasses.replace(TINY, max_batch=0), ds) == [
        ("supervised", [0, 2]),
        ("simclr", [0, 1, 2]),
    ]


def test_dask_cluster_file_equals_local_processes_file(tmp_path):
    with LocalProcesses(2) as local:
        run(TINY, tmp_path / "local.nc", executor=local, log=None)
    with DaskCluster(local_workers=1) as cluster:
        run(TINY, tmp_path / "dask.nc", executor=cluster, log=None)
    local, dask = (xr.load_dataset(tmp_path / f"{k}.nc") for k in ("local", "dask"))
    assert (local["status"].values == DONE).all()
    assert set(np.unique(local["recognised"].values)) <= {0, 1, 2}  # SimCLR: 2 views
    xr.testing.assert_equal(local[DATA], dask[DATA])

    # resume in this process: a cell marked not done is the only work a rerun does
    ds = xr.load_dataset(tmp_path / "dask.nc")
    ds["status"].values[1, 2] = TODO
    ds["recognised"].values[1, 2] = -1
    ds.to_netcdf(tmp_path / "resume.nc")
    trained = []
    again = run(TINY, tmp_path / "resume.nc", log=trained.append)
    assert len(trained) == 1 and trained[0].startswith("simclr seed 2:")
    xr.testing.assert_allclose(again[DATA], local[DATA])
