"""The Python API (benign.train / probe / capacity / grid) on a user's network and torch Datasets."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset
from typer.testing import CliRunner

import benign
from benign.cli.app import app

EXAMPLE = "examples/your_own/network.py:encoder"


class Stripes(Dataset):
    """n grey 12x12 images of two classes (horizontal or vertical bars), float in [0, 1]."""

    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % 2
        bars = (torch.arange(12) % 4 < 2).float()
        self.images = [
            (
                (bars[:, None] if y == 0 else bars[None, :]).expand(12, 12) * 0.8
                + 0.2 * torch.rand(12, 12, generator=g)
            )[None]
            for y in self.labels.tolist()
        ]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], int(self.labels[i])


def small_encoder() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )


FAST = dict(batch_size=16, projector_width=32, device="cpu", probe_reference="subset", eval_every=1)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "data"))
    return Stripes(32, 0), Stripes(16, 1)


def test_train_then_probe_a_factory_on_torch_datasets(tmp_path, data):
    history = benign.train(small_encoder, data, labels="random", epochs=2, out=tmp_path / "run", **FAST)
    assert history["epoch"].values.tolist() == [0.0, 1.0, 2.0]
    run = json.loads(history.attrs["config_json"])
    assert run["arch"].endswith("test_api:small_encoder")  # importable again: the provenance names it
    assert run["dataset"].startswith("npz:") and (tmp_path / "data" / "arrays").is_dir()
    layers = benign.probe(tmp_path / "run", linear=False, device="cpu")
    assert list(layers["layer_name"].values) == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "embedding",
        "projector_hidden",
        "output",
    ]
    assert np.all((layers["knn_clean"] >= 0) & (layers["knn_clean"] <= 1))
    unit_mem = dict(zip(layers["layer_name"].values, layers["unit_mem"].values))
    assert 0 <= unit_mem["embedding"] <= 1 and 0 <= unit_mem["2"] <= 1  # after the ReLU
    assert np.isnan(unit_mem["0"]) and np.isnan(unit_mem["output"])  # negative activations: none
    again = benign.train(small_encoder, data, labels="random", epochs=2, out=tmp_path / "run", **FAST)
    assert again["knn_accuracy"].values.tolist() == history["knn_accuracy"].values.tolist()  # resumed, done


def test_the_same_data_is_written_once_under_its_content_name(tmp_path, data):
    a = benign.config("small_cnn", data)
    b = benign.config("small_cnn", (Stripes(32, 0), Stripes(16, 1)))
    c = benign.config("small_cnn", (Stripes(32, 2), Stripes(16, 1)))
    assert a.dataset == b.dataset != c.dataset


def test_bad_options_and_data_are_value_errors(data):
    with pytest.raises(ValueError, match="unknown option"):
        benign.config("small_cnn", data, epoch=3)
    with pytest.raises(ValueError, match="pair"):
        benign.config("small_cnn", data[0])
    mixed = [(torch.rand(1, 4, 4), 0), (torch.rand(1, 5, 5), 1)]
    with pytest.raises(ValueError, match="several shapes"):
        benign.config("small_cnn", (mixed, mixed))
    with pytest.raises(ValueError, match="not a int"):
        benign.config(3, data)


def test_capacity_of_a_users_network(data):
    ds = benign.capacity(small_encoder, data, steps=3, labellings=2, n_start=4, n_max=8, lr=1e-2, **{
        k: v for k, v in FAST.items() if k not in ("probe_reference", "eval_every")
    })  # fmt: skip
    assert int(ds["capacity_lower"]) >= 0 and set(ds["n"].values) <= {2, 3, 4, 5, 6, 7, 8}
    assert json.loads(ds.attrs["config_json"])["arch"].endswith("small_encoder")


def test_a_grid_of_an_nn_module_instance_runs_in_this_process_with_its_layers(tmp_path, data):
    torch.manual_seed(0)
    spec = {
        "kind": "train",
        "labels": ["random", "clean"],
        "epochs": 1,
        "seeds": 1,
        "layer_probes": True,
        **{k: v for k, v in FAST.items() if k != "device"},
    }
    ds = benign.grid(spec, tmp_path / "grid", network=small_encoder(), data=data)
    assert ds.attrs["complete"] == "true" and ds.sizes["labels"] == 2
    assert list(ds["layer_name"].values)[-3:] == ["embedding", "projector_hidden", "output"]
    assert np.isfinite(ds["knn_final"].values).all()


def test_the_cli_trains_and_probes_a_network_file_on_a_folder_of_pngs(tmp_path):
    from tests.empirical.test_own_data import write_folder

    root = write_folder(tmp_path / "pets", size=(16, 16), mode="L")
    run = CliRunner().invoke(
        app,
        ["train", "--arch", EXAMPLE, "--dataset", f"folder:{root}", "--epochs", "2", "--batch-size", "6",
         "--projector-width", "32", "--device", "cpu", "--out", str(tmp_path / "run")],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    probe = CliRunner().invoke(app, ["probe", str(tmp_path / "run"), "--no-linear", "--device", "cpu"])
    assert probe.exit_code == 0 and "| block2 |" in probe.output, probe.output


@pytest.mark.parametrize(
    "arch, words",
    [
        ("nowhere/net.py:encoder", "cannot import"),
        ("examples/your_own/network.py:nothing", "has no function"),
    ],
)
def test_the_cli_refuses_a_network_it_cannot_load_in_one_line(tmp_path, arch, words):
    r = CliRunner().invoke(app, ["train", "--arch", arch, "--out", str(tmp_path / "r"), "--device", "cpu"])
    assert r.exit_code == 2 and words in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_the_your_own_example_runs(tmp_path):
    r = subprocess.run(
        [sys.executable, "examples/your_own/run.py", str(tmp_path / "yours"), "40"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "block1: k-NN" in r.stdout and "gain of the embedding's k-NN probe over initialisation" in r.stdout
    assert len(list((tmp_path / "yours" / "train" / "checker").glob("*.png"))) == 64
