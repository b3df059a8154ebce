"""`benign train` / `benign probe` end to end on tiny fixture data (seconds on a CPU)."""

import dataclasses
import json

import numpy as np
import pytest
import torch
import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app
from benign.empirical.training import TrainConfig, load_checkpoint, train
from tests.empirical.fixtures import write_cifar10, write_mnist_like, write_tinyimagenet

runner = CliRunner()
TINY = [
    "--dataset",
    "fashion-mnist",
    "--arch",
    "small_cnn",
    "--cnn-width",
    "4",
    "--projector-width",
    "16",
    "--batch-size",
    "16",
    "--device",
    "cpu",
    "--knn-k",
    "3",
]


@pytest.fixture
def fmnist(tmp_path):
    write_mnist_like(tmp_path, "FashionMNIST", n_train=60, n_test=30)
    return tmp_path


def test_train_then_probe(fmnist, tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(
        app, ["train", *TINY, "--data-root", str(fmnist), "--epochs", "2", "--out", str(out), "--mixup", "xy"]
    )
    assert r.exit_code == 0, r.output
    h = xr.load_dataset(out / "history.nc")
    assert list(h.epoch.values) == [0.0, 1.0, 2.0] and h.attrs["title"] == "training curve"
    for v in ("train_loss", "train_accuracy", "knn_accuracy"):
        assert h[v].attrs["long_name"] and "units" in h[v].attrs
    assert "config_json" in h.attrs and "git_commit" in h.attrs
    ck = load_checkpoint(out / "checkpoint.pt")
    assert ck["step"] == 8 and ck["labels"].shape == (60,)
    r = runner.invoke(
        app,
        [
            "probe",
            str(out / "checkpoint.pt"),
            "--knn-k",
            "3",
            "--invariance-images",
            "8",
            "--no-linear",
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if line.startswith("| layer"))
    assert "linear" not in header and "nan" not in r.output  # --no-linear: no columns of NaN
    assert len(header.split("|")) == len(r.output.splitlines()[3].split("|"))
    p = xr.load_dataset(out / "probe.nc")
    assert p.sizes["layer"] == 7 and list(p.layer_name.values)[-1] == "output"
    assert {"knn_clean", "knn_noisy", "invariance", "knn_clean_init"} <= set(p.data_vars)
    assert (p.knn_clean >= 0).all() and (p.invariance >= 0).all()


def _cfg(root, out, **kw):
    base = TrainConfig(
        dataset="fashion-mnist",
        data_root=str(root),
        arch="small_cnn",
        cnn_width=4,
        projector_width=16,
        batch_size=16,
        device="cpu",
        knn_k=3,
        out=str(out),
        augment="simclr",
        mixup="xy",
        labels="random",
    )
    return dataclasses.replace(base, **kw)


def test_resume_is_bit_for_bit(fmnist, tmp_path):
    full = train(_cfg(fmnist, tmp_path / "a", epochs=2))
    # interrupted mid-epoch (a simulated Ctrl-C after 5 steps), then resumed with the same command
    cfg = _cfg(fmnist, tmp_path / "b", epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, stop_at_step=5)
    assert load_checkpoint(tmp_path / "b")["step"] == 5
    resumed = train(cfg)
    a, b = full["model"].state_dict(), resumed["model"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ha, hb = (
        [(h["epoch"], h["train_loss"], h["knn_accuracy"]) for h in full["history"]],
        [(h["epoch"], h["train_loss"], h["knn_accuracy"]) for h in resumed["history"]],
    )
    np.testing.assert_equal(ha, hb)  # the learning curve continues without a seam
    # extending a finished run's budget continues it too
    more = train(dataclasses.replace(cfg, epochs=3))
    assert more["step"] == 12 and [h["epoch"] for h in more["history"]] == [0.0, 1.0, 2.0, 3.0]


def test_bank_and_iid_and_label_variants(fmnist, tmp_path):
    r = train(_cfg(fmnist, tmp_path / "bank", steps=2, bank=4, bank_labels="random", labels="classes:20"))
    assert r["data"].aug_labels.shape == (60, 4) and r["step"] == 2
    r = train(_cfg(fmnist, tmp_path / "iid", steps=2, iid=2, subset=20, augment="none", mixup="off"))
    assert r["data"].iid_bank.shape == (20, 2)
    r = train(
        _cfg(
            fmnist,
            tmp_path / "ps",
            steps=1,
            labels="per-sample",
            loss="ce",
            mixup="x",
            augment="randaugment:5",
        )
    )
    assert r["model"].projector.out.out_features == 60


def test_paper_presets_plumbing(tmp_path):
    write_cifar10(tmp_path, n_train=40, n_test=20)
    write_tinyimagenet(tmp_path, per_class=4)
    for preset, _extra in (("cifar10-resnet18", []), ("cifar10-vgg11", []), ("tinyimagenet-resnet18", [])):
        r = runner.invoke(
            app,
            [
                "train",
                "--preset",
                preset,
                "--data-root",
                str(tmp_path),
                "--steps",
                "1",
                "--batch-size",
                "8",
                "--projector-width",
                "32",
                "--device",
                "cpu",
                "--knn-k",
                "2",
                "--out",
                str(tmp_path / preset),
            ],
        )
        assert r.exit_code == 0, r.output
        ck = load_checkpoint(tmp_path / preset)
        assert ck["config"]["arch"] == preset.split("-")[1] and ck["config"]["mixup"] == "xy"
    assert ck["model"]["stem.0.weight"].shape[-1] == 3  # tinyimagenet: stride-2 stem chosen (auto)


def test_config_file(fmnist, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(f'data_root = "{fmnist}"\nlabels = "noise:0.5"\nsteps = 1\n')
    r = runner.invoke(app, ["train", *TINY, "--config", str(toml), "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert load_checkpoint(tmp_path / "c")["config"]["labels"] == "noise:0.5"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--arch", "resnet50"], "unknown architecture"),
        (["--labels", "noise:2"], "bad label spec"),
        (["--augment", "blur"], "unknown augmentation"),
        (["--iid", "3"], "need --subset"),
        (["--dataset", "cifar10"], "benign train --dataset cifar10 --download"),
    ],
)
def test_bad_input_is_one_line_exit_2(fmnist, tmp_path, args, needle):
    r = runner.invoke(
        app, ["train", *TINY, "--data-root", str(fmnist), "--steps", "1", "--out", str(tmp_path / "x"), *args]
    )
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_checkpoint_of_another_model(fmnist, tmp_path):
    out = tmp_path / "run"
    assert (
        runner.invoke(
            app, ["train", *TINY, "--data-root", str(fmnist), "--steps", "1", "--out", str(out)]
        ).exit_code
        == 0
    )
    r = runner.invoke(
        app,
        ["train", *TINY, "--data-root", str(fmnist), "--steps", "1", "--out", str(out), "--cnn-width", "8"],
    )
    assert r.exit_code == 2 and "different run" in r.output
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    ck["config"]["cnn_width"] = 8  # weights of a 4-wide CNN under an 8-wide config
    torch.save(ck, out / "checkpoint.pt")
    r = runner.invoke(app, ["probe", str(out / "checkpoint.pt"), "--device", "cpu", "--no-linear"])
    assert r.exit_code == 2 and "do not fit" in r.output
    (out / "junk.pt").write_bytes(b"junk")
    r = runner.invoke(app, ["probe", str(out / "junk.pt")])
    assert r.exit_code == 2 and "not a readable checkpoint" in r.output


# Table 2 at tiny scale as the grid engine computed it (`benign grid run table2 --scale tiny`) on the
# fixture data below, on commit ca2b8d0: `benign train --preset table2-tiny` must give the same.
TABLE2_TINY_BEFORE = {
    "knn_final": [[0.53], [0.53], [0.55], [0.55]],
    "knn_init": [[0.66], [0.66], [0.66], [0.66]],
    "train_accuracy_final": [[0.015625], [0.078125], [0.109375], [0.109375]],
    "linear_final": [[0.77], [0.73], [0.72], [0.7]],
    "linear_init": [[0.98], [0.98], [0.98], [0.98]],
    "knn_accuracy": [[[0.66, 0.55, 0.53]], [[0.66, 0.53, 0.53]], [[0.66, 0.57, 0.55]], [[0.66, 0.53, 0.55]]],
}


def test_table2_preset_is_the_grid_preset_on_the_engine(tmp_path, monkeypatch):
    write_mnist_like(tmp_path, "FashionMNIST", n_train=120, n_test=100)
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path))
    out = tmp_path / "t2"
    # the numbers of before: PyTorch's initialisation then (the authors' is the default now), float32
    # (precision auto is bf16 on a CPU with bf16 units)
    args = ["--init", "pytorch", "--precision", "float32", "--out", str(out)]
    r = runner.invoke(app, ["train", "--preset", "table2-tiny", *args])
    assert r.exit_code == 0, r.output
    assert "| random+DA |" in r.output and "| initialisation |" in r.output
    g = xr.load_dataset(out / "grid.nc")
    assert g.attrs["grid_name"] == "table2" and list(g.setting_name.values) == [
        "random",
        "random+DA",
        "clean",
        "clean+DA",
    ]
    for name, before in TABLE2_TINY_BEFORE.items():
        np.testing.assert_allclose(g[name].values, before, rtol=1e-6, atol=1e-6, err_msg=name)
    from benign.grids import spec as grid_spec

    spec = grid_spec.preset("table2", "tiny")
    params = json.loads(g.attrs["config_json"])["params"]
    assert params.pop("init") == "pytorch" and params.pop("precision") == "float32"
    assert params == json.loads(
        json.dumps({k: v for k, v in spec.params.items() if k not in ("init", "precision")})
    )


def test_table2_preset_takes_options_as_grid_parameters():
    from benign.cli.train import table2_spec
    from benign.grids import spec as grid_spec

    spec = table2_spec("small", {"epochs": 3, "seed": 5, "out": "x"})
    assert spec.params["epochs"] == 3 and spec.seeds == (5,)
    assert {k: v for k, v in spec.params.items() if k != "epochs"} == {
        k: v for k, v in grid_spec.preset("table2", "small").params.items() if k != "epochs"
    }
    with pytest.raises(ValueError, match="--data-root"):
        table2_spec("small", {"data_root": "/x"})


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--preset", "table2-huge"], "unknown preset"),
        (["--preset", "table2-tiny", "--epochs", "0"], "budget"),
        (["--preset", "table2-tiny", "--download"], "--download"),
    ],
)
def test_table2_preset_bad_input_is_one_line(tmp_path, args, needle):
    r = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and needle in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_bfloat16_autocast_trains_close_to_float32(fmnist, tmp_path):
    """--precision bfloat16 autocasts the forward pass on the CPU too: the weights stay float32 and the
    losses follow the float32 run's to bf16 accuracy; an unknown precision is one line and exit 2."""
    runs = {}
    for p in ("float32", "bfloat16"):
        out = tmp_path / p
        argv = ["train", *TINY, "--data-root", str(fmnist), "--epochs", "2", "--out", str(out)]
        r = runner.invoke(app, [*argv, "--precision", p])
        assert r.exit_code == 0, r.output
        runs[p] = (load_checkpoint(out / "checkpoint.pt"), xr.load_dataset(out / "history.nc"))
    (_, h32), (c16, h16) = runs["float32"], runs["bfloat16"]
    assert all(v.dtype == torch.float32 for v in c16["model"].values() if v.is_floating_point())
    loss32, loss16 = h32.train_loss.values[1:], h16.train_loss.values[1:]
    assert not np.array_equal(loss32, loss16)  # the products did run in bfloat16
    np.testing.assert_allclose(loss16, loss32, rtol=0.05)
    r = runner.invoke(app, ["train", *TINY, "--data-root", str(fmnist), "--precision", "fp8"])
    assert r.exit_code == 2 and "precision must be" in r.output and "Traceback" not in r.output


def test_runs_sharing_their_initialisation_share_its_knn_probe(fmnist, tmp_path):
    """The probe at step 0 is read from init_probes when a run of the same network at initialisation,
    the same reference and test sets and k wrote it; the training accuracy is still this run's."""
    probes = tmp_path / "probes"
    first = train(_cfg(fmnist, tmp_path / "a", steps=1, subset=40), init_probes=probes)
    (entry,) = probes.glob("*.json")
    assert json.loads(entry.read_text())["knn_accuracy"] == first["history"][0]["knn_accuracy"]
    entry.write_text(json.dumps({"knn_accuracy": 0.123}))  # a marker: read, not recomputed
    other_labels = train(_cfg(fmnist, tmp_path / "b", steps=1, subset=40, labels="clean"), init_probes=probes)
    row = other_labels["history"][0]
    assert row["knn_accuracy"] == 0.123 and row["train_accuracy"] != first["history"][0]["train_accuracy"]
    assert other_labels["history"][-1]["knn_accuracy"] != 0.123  # only step 0 is shared
    for kw in ({"seed": 1}, {"knn_k": 5}, {"test_subset": 20}, {"cnn_width": 8}):  # another probe
        run = train(_cfg(fmnist, tmp_path / str(kw), steps=1, subset=40, **kw), init_probes=probes)
        assert run["history"][0]["knn_accuracy"] != 0.123, kw
    assert len(list(probes.glob("*.json"))) == 5
