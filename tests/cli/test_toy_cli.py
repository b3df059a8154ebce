"""`benign toy` and `benign plot` through typer's CliRunner."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import cli.toy
from cli.app import app

runner = CliRunner()
SMALL = [
    "--n",
    "3,6",
    "--B",
    "1,2",
    "--seeds",
    "2",
    "--steps",
    "20",
    "--K",
    "8",
    "--n-probe",
    "50",
    "--n-test",
    "50",
    "--device",
    "cpu",
]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_grid_writes_the_contract_with_provenance(tmp_path):
    out = tmp_path / "g.nc"
    r = run("toy", "grid", *SMALL, "--out", out)
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    assert dict(ds.sizes) == {"n": 2, "B": 2, "seed": 2}
    for v in (
        "knn_acc",
        "knn_acc_init",
        "mem_frac",
        "aug_mem_frac",
        "final_loss",
        "noise_energy",
        "invariance",
        "status",
    ):
        assert v in ds and ds[v].attrs["long_name"] and "units" in ds[v].attrs
    assert (ds.status == 1).all() and np.isfinite(ds.knn_acc).all()
    for key in ("title", "created_at", "package_version", "git_commit", "command", "config_json"):
        assert ds.attrs[key] != ""
    config = json.loads(ds.attrs["config_json"])
    assert config["training"]["K"] == 8 and config["mixture"]["d1"] == 4
    assert ds.capacity_lower >= 1
    png = tmp_path / "g.png"
    r = run("plot", out, "--out", png)
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_interrupted_grid_resumes_without_losing_or_repeating_a_cell(tmp_path, monkeypatch):
    out = tmp_path / "g.nc"
    real = cli.toy.run_toy_cells
    seen = []

    def interrupted(mixture, training, cells, *a, **k):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append([dict(c) for c in cells])
        return real(mixture, training, cells, *a, **k)

    monkeypatch.setattr(cli.toy, "run_toy_cells", interrupted)
    r = run("toy", "grid", *SMALL, "--chunk", "2", "--no-capacity", "--out", out)
    assert r.exit_code == 130 and "interrupted" in r.output
    partial = xr.load_dataset(out)
    assert int((partial.status == 1).sum()) == 4
    first = partial.knn_acc.where(partial.status == 1)

    done_later = []

    def counting(mixture, training, cells, *a, **k):
        done_later.extend(dict(c) for c in cells)
        return real(mixture, training, cells, *a, **k)

    monkeypatch.setattr(cli.toy, "run_toy_cells", counting)
    r = run("toy", "grid", *SMALL, "--chunk", "2", "--no-capacity", "--out", out)
    assert r.exit_code == 0, r.output
    final = xr.load_dataset(out)
    assert (final.status == 1).all()
    before = [c for chunk in seen for c in chunk]
    assert len(done_later) == 4 and not any(c in before for c in done_later)
    xr.testing.assert_equal(final.knn_acc.where(partial.status == 1), first)


def test_a_different_grid_is_refused_instead_of_mixed(tmp_path):
    out = tmp_path / "g.nc"
    assert run("toy", "grid", *SMALL, "--no-capacity", "--out", out).exit_code == 0
    r = run("toy", "grid", *SMALL, "--no-capacity", "--lr", "0.5", "--out", out)
    assert r.exit_code == 2 and "different grid" in r.output


@pytest.mark.parametrize(
    "bad",
    [
        ["--n", "0,5"],
        ["--B", "-1"],
        ["--n", "a,b"],
        ["--K", "0"],
        ["--d1", "40"],
        ["--d1", "0"],
        ["--seeds", "0"],
        ["--sigma", "-1"],
        ["--steps", "-3"],
        ["--vote", "majority"],
        ["--device", "tpu"],
        ["--label-noise", "2"],
    ],
)
def test_grid_rejects_impossible_parameters_in_one_line(tmp_path, bad):
    r = run("toy", "grid", *SMALL, "--out", tmp_path / "x.nc", *bad)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("error:")


def test_heatmap_rejects_missing_and_foreign_files(tmp_path):
    r = run("plot", tmp_path / "missing.nc")
    assert r.exit_code == 2 and r.output.startswith("error:")
    junk = tmp_path / "junk.nc"
    junk.write_text("not a netcdf file")
    r = run("plot", junk)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(other)
    r = run("plot", other)
    assert r.exit_code == 2 and "cannot tell what to draw" in r.output


def test_capacity_command_stores_capacity_against_K(tmp_path):
    out = tmp_path / "cap.nc"
    r = run(
        "toy",
        "capacity",
        "--K",
        "5,10",
        "--steps",
        "30",
        "--R",
        "2",
        "--n-max",
        "32",
        "--repeats",
        "2",
        "--device",
        "cpu",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    assert "over 2 repeats lower" in r.output
    ds = xr.load_dataset(out)
    assert dict(ds.sizes) == {"K": 2, "steps": 1, "repeat": 2}
    assert ds.attrs["config_json"] and '"fixed_points": true' in ds.attrs["config_json"]
    assert (ds.capacity_lower <= ds.hard_bound).all()
    assert (ds.capacity_lower >= 1).all()
    assert ds.attrs["title"] == "benign toy capacity"
    r = run("toy", "capacity", "--K", "0", "--out", tmp_path / "c2.nc")
    assert r.exit_code == 2 and r.output.startswith("error:")


def test_usage_errors_of_typers_own_click_are_one_line_too():
    """typer >= 0.29 parses with a bundled click: its usage errors must still be one line, exit 2."""
    r = runner.invoke(app, ["toy", "grid", "extra"])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: Got unexpected extra argument(s) (extra)"
    ]
    r = runner.invoke(app, ["toy"])  # a group without its command: the group's help
    assert r.exit_code == 2 and "grid" in r.output and "capacity" in r.output and "Traceback" not in r.output
