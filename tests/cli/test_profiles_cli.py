import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app

runner = CliRunner()
TINY = [
    "--dataset",
    "synthetic",
    "--train-size",
    "64",
    "--examples",
    "48",
    "--networks",
    "2",
    "--augmentations",
    "3",
    "--epochs",
    "2",
    "--batch-size",
    "16",
    "--cnn-width",
    "4",
    "--projector-width",
    "16",
    "--actmax-channels",
    "2",
    "--device",
    "cpu",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prof") / "profiles.nc"
    r = runner.invoke(app, ["profiles", "run", *TINY, "--out", str(out.parent)])
    assert r.exit_code == 0, r.output
    assert "MAE" in r.output and "floor" in r.output
    return out


# What `profiles run TINY` wrote before the profiles kept their status in a store.cell_grid.CellGrid
# (commit ca2b8d0): per (method, seed, epoch) the number of recognised (augmentation, example)
# pairs, and the training losses.
BEFORE_THE_CELL_GRID = {
    "recognised_sum": [[[37, 38], [36, 36]], [[27, 27], [27, 27]], [[28, 38], [28, 27]], [[8, 4], [7, 6]]],
    "train_loss": [
        [[1.3831796646118164, 1.3641068935394287], [1.3686432838439941, 1.385352611541748]],
        [[1.3820273876190186, 1.3496513366699219], [1.4418902397155762, 1.3996682167053223]],
        [[1.3768184185028076, 1.3566467761993408], [1.4263269901275635, 1.4186135530471802]],
        [[6.879513740539551, 6.748147964477539], [6.294454097747803, 4.270636081695557]],
    ],
}


def test_run_gives_the_numbers_of_before(result):
    ds = xr.load_dataset(result)
    recognised = ds["recognised"].sum(("augmentation", "example")).values
    before = np.array(BEFORE_THE_CELL_GRID["recognised_sum"])
    # the classifiers exactly; SimCLR (last) was scored in one direction then, in both now
    np.testing.assert_array_equal(recognised[:3], before[:3])
    assert (recognised[3] >= before[3]).all() and (recognised[3] <= 2 * before[3] + 2 * 3 * 48).all()
    np.testing.assert_allclose(ds["train_loss"].values, BEFORE_THE_CELL_GRID["train_loss"], rtol=1e-6)
    assert ds["status"].attrs["flag_meanings"] == "todo done failed running"


def test_run_writes_a_labelled_result(result):
    ds = xr.load_dataset(result)
    for key in ("title", "created_at", "package_version", "git_commit", "command", "config_json"):
        assert key in ds.attrs
    assert json.loads(ds.attrs["config_json"])["networks"] == 2
    assert ds["recognised"].dims == ("method", "seed", "epoch", "augmentation", "example")
    assert ds["recognised"].shape == (4, 2, 2, 3, 48)
    assert set(np.unique(ds["recognised"].values)) <= {0, 1, 2}  # SimCLR: 2 views
    for code, views in zip(ds["method"].values, ds["views"].values):
        assert int(ds["recognised"].sel({"method": code}).max()) <= views
    assert sorted(ds["views"].values.tolist()) == [1, 1, 1, 2]  # SimCLR scored in both directions
    assert (ds["status"].values == 1).all()
    for v in ds.variables.values():
        assert "long_name" in v.attrs and "units" in v.attrs
    assert ds["method"].attrs["flag_meanings"] == "supervised random random_aug simclr"
    # random labels without augmentation: the M "augmentations" are the image itself
    rnd = ds["recognised"].sel({"method": 1}).values
    assert (rnd == rnd[:, :, :1]).all()


def test_rerun_resumes_without_training(result):
    before = xr.load_dataset(result)
    r = runner.invoke(app, ["profiles", "run", *TINY, "--out", str(result.parent)])
    assert r.exit_code == 0, r.output
    assert "seed 0: final loss" not in r.output  # every cell was done
    xr.testing.assert_equal(before["recognised"], xr.load_dataset(result)["recognised"])


def test_plot_writes_every_figure(result, tmp_path):
    r = runner.invoke(app, ["profiles", "plot", str(result), "--out", str(tmp_path / "fig")])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (tmp_path / "fig").iterdir()}
    assert names == {
        "fig1_profiles.png",
        "fig2_binomial.png",
        "fig3_aligned.png",
        "fig4_augmentations.png",
        "appC1_tsne.png",
        "appC2_actmax.png",
        "mae_table.txt",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--methods", "supervised,nope"],
        ["run", "--scale", "huge"],
        ["run", "--networks", "0"],
        ["run", "--examples", "100"],  # more than --train-size 64
        ["run", "--device", "tpu"],
        ["run", "--epochs", "-3"],
        ["run", "--augmentations", "0"],
        ["run", "--batch-size", "1"],
        ["run", "--cnn-width", "0"],
        ["run", "--projector-width", "-2"],
        ["run", "--train-size", "-1"],
        ["run", "--max-batch", "-1"],
    ],
)
def test_bad_run_input_is_one_line_and_exit_2(args, tmp_path):
    argv = ["profiles", args[0], *TINY, *args[1:], "--out", str(tmp_path / "x")]
    r = runner.invoke(app, argv)
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("error:")
    assert not (tmp_path / "x").exists()


def test_bad_plot_input(tmp_path):
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    for path in (tmp_path / "missing.nc", junk):
        r = runner.invoke(app, ["profiles", "plot", str(path), "--out", str(tmp_path / "f")])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output


def test_resume_refuses_another_configuration(result, tmp_path):
    r = runner.invoke(app, ["profiles", "run", *TINY, "--epochs", "3", "--out", str(result.parent)])
    assert r.exit_code == 2 and "different grid" in r.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--dask-local", "1"], "at most one of"),
        (["--max-batch", "-1"], "--max-batch must be >= 0"),
    ],
)
def test_bad_executor_input_is_one_line_and_exit_2(args, message, tmp_path):
    r = runner.invoke(app, ["profiles", "run", *TINY, *args, "--out", str(tmp_path / "x")])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and message in r.output
    assert not (tmp_path / "x").exists()


def test_max_batch_one_gives_the_batched_result_to_float_tolerance(result, tmp_path):
    out = tmp_path / "one" / "profiles.nc"
    r = runner.invoke(
        app,
        [
            "profiles",
            "run",
            *TINY,
            "--methods",
            "random_aug,simclr",
            "--max-batch",
            "1",
            "--actmax-channels",
            "0",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "epochs aligned by mean p_t" in r.output
    one, full = xr.load_dataset(out), xr.load_dataset(result).sel({"method": [2, 3]})
    np.testing.assert_allclose(one["train_loss"], full["train_loss"], rtol=1e-4)
    assert (one["recognised"].values != full["recognised"].values).mean() < 0.01


@pytest.mark.parametrize("scale", ["small", "cpu", "full"])
def test_every_preset_builds_a_valid_configuration(scale):
    from benign.empirical.profiles.run import ProfileConfig
    from benign.grids.presets.profiles import PRESETS

    cfg = ProfileConfig(**PRESETS[scale])
    cfg.validate()
    assert cfg.train_size == 0 or cfg.train_size >= cfg.examples


def test_cpu_preset_is_accepted_and_its_values_are_used(tmp_path):
    """--scale cpu runs (here shrunk to the tiny synthetic problem); the values not given on the command
    line are the preset's: N and M come from the tiny options, the learning rates from cpu."""
    from benign.grids.presets.profiles import PRESETS

    out = tmp_path / "cpu" / "profiles.nc"
    r = runner.invoke(
        app, ["profiles", "run", "--scale", "cpu", *TINY, "--methods", "supervised", "--out", str(out.parent)]
    )
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    config = json.loads(ds.attrs["config_json"])
    assert ds.sizes["seed"] == 2 and ds.sizes["augmentation"] == 3
    assert config["lr"] == PRESETS["cpu"]["lr"] and config["epochs"] == 2
