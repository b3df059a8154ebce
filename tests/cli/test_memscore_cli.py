import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny networks: two threads on a busy box crawl
TINY = [
    "--dataset",
    "synthetic",
    "--n-train",
    "120",
    "--n-test",
    "30",
    "--hidden",
    "32",
    "--epochs",
    "2",
    "--lr",
    "0.1",
    "--batch-size",
    "32",
    "--grad-every",
    "2",
    "--grad-chunk",
    "8",
    "--influence-targets",
    "3",
    "--show",
    "2",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ms") / "memscore.nc"
    r = runner.invoke(app, ["memscore", "run", *TINY, "--corrupt", "30", "--out", str(out.parent)])
    assert r.exit_code == 0, r.output
    assert "corrupted share of the top decile" in r.output
    return out


def test_run_writes_a_labelled_result(result):
    ds = xr.load_dataset(result)
    for key in ("title", "created_at", "package_version", "git_commit", "command", "config_json"):
        assert key in ds.attrs
    cfg = json.loads(ds.attrs["config_json"])
    assert cfg["corrupt"] == 30 and cfg["dataset"] == "synthetic"
    for name, v in ds.variables.items():
        if name in ds.data_vars:
            assert "long_name" in v.attrs and "units" in v.attrs, name
    assert ds.sizes["example"] == 120 and ds.sizes["epoch"] == 3 and ds.sizes["target"] == 3
    assert int(ds["corrupted"].sum()) == 30
    np.testing.assert_allclose(ds["score"], ds["loss_muted"] - ds["loss_seen"], rtol=1e-5, atol=1e-6)
    assert ds["influence"].dims == ("example", "target")
    assert ds.sizes["grad_step"] == 4  # 4 steps per epoch, every 2nd, 2 epochs
    assert np.isfinite(ds["contribution_all"]).all()
    assert ds.sizes["showcase"] == 4 * 2 * 2  # 4 classes x (2 lowest + 2 highest)


def test_plot_writes_every_figure(result, tmp_path):
    r = runner.invoke(app, ["memscore", "plot", str(result), "--out", str(tmp_path / "fig")])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (tmp_path / "fig").iterdir()}
    assert names == {
        "scores_histogram.png",
        "dynamics.png",
        "gradients.png",
        "examples_lowest.png",
        "examples_highest.png",
    }


def test_train_on_a_subset_defined_by_earlier_scores(result, tmp_path):
    out = tmp_path / "easy" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            *TINY,
            "--corrupt",
            "0",
            "--scores-from",
            str(result),
            "--train-subset",
            "easy",
            "--subset-fraction",
            "0.25",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    assert int(ds["trained"].sum()) == 30
    assert np.array_equal(ds["trained"].values, ds["in_easy"].values)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scale", "huge"], "--scale"),
        (["--scale", "cpu", "--model", "resnet"], "--model"),
        (["--train-subset", "easy"], "--scores-from"),
        (["--scores-from", "/nonexistent/x.nc"], "no such file"),
        (["--milestones", "a,b"], "--milestones"),
        (["--hidden", "31"], "even"),
        (["--corrupt", "500"], "cannot corrupt"),
        (["--device", "tpu"], "device"),
        (["--grad-method", "loop"], "--grad-method"),
        (["--n-train", "-3"], "--n-train"),  # was a silent run on the whole split
        (["--n-test", "-1"], "--n-test"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--hidden", "0"], "--hidden"),
        (["--width", "0"], "--width"),
        (["--grad-every", "-1"], "--grad-every"),
        (["--grad-chunk", "0"], "--grad-chunk"),
        (["--lr", "0"], "--lr"),
        (["--split", "valid"], "--split"),
        (["--test-scores-from", "/nonexistent/x.nc"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = runner.invoke(app, ["memscore", "run", *TINY, *args, "--out", str(tmp_path / "x")])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert [x for x in r.output.splitlines() if x.startswith("error:")] == [r.output.strip().splitlines()[-1]]
    assert not (tmp_path / "x").exists()


def test_vmap_and_gram_track_the_same_gradient_statistics(result, tmp_path):
    out = tmp_path / "vmap" / "memscore.nc"
    r = runner.invoke(
        app, ["memscore", "run", *TINY, "--corrupt", "30", "--grad-method", "vmap", "--out", str(out.parent)]
    )
    assert r.exit_code == 0, r.output
    fast, ref = xr.load_dataset(result), xr.load_dataset(out)  # the default (auto) takes the Gram path
    assert json.loads(fast.attrs["config_json"])["grad_method"] == "auto"
    for name in ("cosine_easy", "cosine_difficult", "contribution_easy", "contribution_all"):
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-3, atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(fast["score"], ref["score"])  # the statistics do not touch training


def test_test_subsets_from_a_run_on_the_test_split(result, tmp_path):
    scored = tmp_path / "test_scores" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            *TINY,
            "--split",
            "test",
            "--n-train",
            "30",
            "--n-test",
            "20",
            "--out",
            str(scored.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    sc = xr.load_dataset(scored)
    assert sc.attrs["split"] == "test" and int(sc["corrupted"].sum()) == 0  # true labels by default
    out = tmp_path / "fig5" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            *TINY,
            "--corrupt",
            "0",
            "--scores-from",
            str(result),
            "--test-scores-from",
            str(scored),
            "--subset-fraction",
            "0.2",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    assert ds["test_correct"].dims == ("epoch", "test_example") and ds["test_correct"].shape == (3, 30)
    np.testing.assert_allclose(ds["test_correct"].mean("test_example"), ds["test_accuracy"], rtol=1e-6)
    np.testing.assert_array_equal(ds["test_dataset_index"], sc["dataset_index"])
    np.testing.assert_array_equal(ds["test_score"], sc["score"])
    easy, hard = ds["in_test_easy"].values.astype(bool), ds["in_test_difficult"].values.astype(bool)
    assert easy.sum() == hard.sum() == 6 and not (easy & hard).any()
    assert ds["test_score"].values[easy].max() <= ds["test_score"].values[hard].min()
    assert int(ds["in_easy"].sum()) == 24  # training subsets from --scores-from
    fig = tmp_path / "fig"
    r = runner.invoke(app, ["memscore", "plot", str(out), "--out", str(fig)])
    assert r.exit_code == 0, r.output
    assert (fig / "dynamics.png").is_file()
    # the wrong split, or a run that does not cover the test pool, is one line and exit code 2
    for bad, message in ((result, "split"), (scored, "no score")):
        extra = ["--n-test", "40"] if bad == scored else []
        r = runner.invoke(
            app,
            [
                "memscore",
                "run",
                *TINY,
                *extra,
                "--test-scores-from",
                str(bad),
                "--out",
                str(tmp_path / "x"),
            ],
        )
        assert r.exit_code == 2 and message in r.output, r.output


def test_vgg11_runs_through_the_cli(tmp_path):
    out = tmp_path / "vgg" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            *TINY,
            "--model",
            "vgg11",
            "--width",
            "0.0625",
            "--corrupt",
            "30",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    cfg = json.loads(ds.attrs["config_json"])
    assert cfg["model"] == "vgg11" and cfg["batch_size"] == 32
    assert (
        ds.sizes["grad_step"] == 4 and np.isfinite(ds["cosine_easy"]).all()
    )  # Gram path through convolutions
    assert np.isfinite(ds["score"]).all()


def test_plot_rejects_foreign_files(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    for path in (bad, tmp_path / "missing.nc"):
        r = runner.invoke(app, ["memscore", "plot", str(path), "--out", str(tmp_path / "f")])
        assert r.exit_code == 2, r.output


FMNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


@pytest.mark.skipif(not FMNIST.is_file(), reason="Fashion-MNIST is not installed")
def test_tiny_fashion_mnist_run(tmp_path):
    out = tmp_path / "f" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            "--dataset",
            "fashion-mnist",
            "--n-train",
            "200",
            "--n-test",
            "50",
            "--corrupt",
            "40",
            "--hidden",
            "64",
            "--epochs",
            "1",
            "--grad-every",
            "0",
            "--influence-targets",
            "0",
            "--show",
            "1",
            "--device",
            "cpu",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    assert ds.attrs["dataset"] == "fashion-mnist" and ds["showcase_image"].shape[1:] == (1, 28, 28)
    assert "grad_step" not in ds.dims


def test_figure5_control_is_the_difficult_subset_of_a_run_trained_without_it(result, tmp_path):
    from benign.empirical.memscore.plots import control_curves

    control = tmp_path / "control" / "memscore.nc"
    r = runner.invoke(
        app,
        [
            "memscore",
            "run",
            *TINY,
            "--corrupt",
            "0",
            "--scores-from",
            str(result),
            "--train-subset",
            "not-difficult",
            "--out",
            str(control.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    main, ctrl = xr.load_dataset(result), xr.load_dataset(control)
    curves = control_curves(ctrl, ctrl)
    difficult = ctrl["in_difficult"].values.astype(bool)
    assert not (difficult & ctrl["trained"].values.astype(bool)).any()  # the control never trains on them
    np.testing.assert_allclose(curves["train"][1], ctrl["correct_seen"].values[:, difficult].mean(1))
    # matched by dataset index: a run is its own control exactly
    np.testing.assert_allclose(
        control_curves(main, main)["train"][1],
        main["correct_seen"].values[:, main["in_difficult"].values.astype(bool)].mean(1),
    )
    r = runner.invoke(
        app, ["memscore", "plot", str(control), "--control", str(control), "--out", str(tmp_path / "f")]
    )
    assert r.exit_code == 0 and (tmp_path / "f" / "dynamics.png").is_file(), r.output
    r = runner.invoke(
        app,
        ["memscore", "plot", str(result), "--control", str(tmp_path / "no.nc"), "--out", str(tmp_path / "g")],
    )
    assert r.exit_code == 2 and "no such file" in r.output


@pytest.mark.parametrize(
    "key", sorted(__import__("benign.grids.presets.memscore", fromlist=["PRESETS"]).PRESETS)
)
def test_every_preset_builds_a_valid_configuration(key):
    from benign.empirical.memscore.experiment import RunConfig
    from benign.grids.presets.memscore import PRESETS

    scale, model = key
    cfg = RunConfig(model=model, **PRESETS[key])
    cfg.validate()
    assert cfg.model in ("mlp", "vgg11") and scale in ("tiny", "small", "cpu", "full")


@pytest.mark.parametrize("model", ["mlp", "vgg11"])
def test_cpu_scale_is_accepted_for_both_models(tmp_path, model):
    """--scale cpu runs (shrunk to the tiny synthetic problem); what TINY does not set is the preset's."""
    from benign.grids.presets.memscore import PRESETS

    out = tmp_path / model / "memscore.nc"
    extra = ["--model", model] + (["--width", "0.0625"] if model == "vgg11" else [])
    r = runner.invoke(
        app, ["memscore", "run", *TINY, "--scale", "cpu", *extra, "--corrupt", "30", "--out", str(out.parent)]
    )
    assert r.exit_code == 0, r.output
    cfg = json.loads(xr.load_dataset(out).attrs["config_json"])
    assert cfg["momentum"] == PRESETS[("cpu", model)]["momentum"] and cfg["epochs"] == 2
