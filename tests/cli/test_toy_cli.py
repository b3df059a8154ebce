"""`benign toy` and `benign plot` through typer's CliRunner."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import benign.grids.toy_cells
from benign.cli.app import app

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
    out = tmp_path / "g"
    r = run("toy", "grid", *SMALL, "--out", out)
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out / "grid.nc")
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
    assert config["kind"] == "toy" and config["params"]["K"] == 8 and config["params"]["d1"] == 4
    assert ds.attrs["grid_name"] == "fig14" and ds.attrs["random_guessing"] == pytest.approx(0.2)
    assert ds.capacity_lower >= 1
    png = tmp_path / "pictures" / "g.png"  # DIR/grid.nc is drawn under the grid's name
    r = run("plot", out / "grid.nc", "--out", png.parent)
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# The numbers `benign toy grid SMALL` wrote with its own loop, before it became a front end of the
# grid engine (computed on commit ca2b8d0): the engine's route must give the same.
BEFORE_THE_ENGINE = {
    "knn_acc": [[[0.4, 0.5], [0.42, 0.5]], [[0.36, 0.52], [0.44, 0.48]]],
    "knn_acc_init": [[[0.4, 0.52], [0.4, 0.52]], [[0.4, 0.52], [0.4, 0.52]]],
    "mem_frac": [[[1.0, 1.0], [1.0, 1.0]], [[0.8333333134651184, 0.8333333134651184], [1.0, 1.0]]],
    "aug_mem_frac": [
        [[1.0, 1.0], [0.8333333134651184, 1.0]],
        [[0.8333333134651184, 0.8333333134651184], [0.9166666865348816, 1.0]],
    ],
    "final_loss": [
        [[0.20811833441257477, 0.411782830953598], [0.3498546779155731, 0.43991348147392273]],
        [[0.36008068919181824, 0.4333866536617279], [0.44993773102760315, 0.44291266798973083]],
    ],
    "noise_energy": [
        [[0.9140335321426392, 0.8882189989089966], [0.9099388718605042, 0.8843758702278137]],
        [[0.9135494828224182, 0.8956673741340637], [0.9045779705047607, 0.8962597250938416]],
    ],
    "invariance": [
        [[0.9848979115486145, 0.9807499051094055], [0.9813673496246338, 1.0220295190811157]],
        [[0.9239959716796875, 1.0013270378112793], [0.9503543972969055, 1.0354492664337158]],
    ],
    "capacity": [3.0, 4.0],
}


def test_grid_gives_the_numbers_of_its_own_loop_before(tmp_path):
    r = run("toy", "grid", *SMALL, "--out", tmp_path / "g")
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(tmp_path / "g" / "grid.nc")
    for name, before in BEFORE_THE_ENGINE.items():
        if name == "capacity":
            assert [float(ds.capacity_lower), float(ds.capacity_upper)] == before
        else:
            np.testing.assert_allclose(ds[name].values, before, rtol=1e-6, atol=1e-6, err_msg=name)


def test_grid_is_the_engines_fig14_grid(tmp_path):
    """The toy grid's directory is a grid of the engine: `benign grid status` reads it, and the
    defaults of `benign toy grid` are the `fig14` preset's."""
    from benign.grids import spec as grid_spec
    from benign.theory.toy_settings import ToySettings

    preset = grid_spec.preset("fig14", "small")
    assert preset.params == {k: v for k, v in ToySettings().to_dict().items() if k != "seeds"}
    assert preset.seeds == tuple(range(ToySettings().seeds))
    out = tmp_path / "g"
    assert run("toy", "grid", *SMALL, "--no-capacity", "--out", out).exit_code == 0
    r = run("grid", "status", out)
    assert r.exit_code == 0 and "8" in r.output, r.output


def test_grid_out_is_a_directory(tmp_path):
    r = run("toy", "grid", *SMALL, "--out", tmp_path / "g.nc")
    assert r.exit_code == 2 and r.output.startswith("error:") and "directory" in r.output


def test_interrupted_grid_resumes_without_losing_or_repeating_a_cell(tmp_path, monkeypatch):

    out = tmp_path / "g"
    real = benign.grids.toy_cells.run_toy_cells
    seen = []

    def interrupted(mixture, training, cells, *a, **k):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append([dict(c) for c in cells])
        return real(mixture, training, cells, *a, **k)

    monkeypatch.setattr(benign.grids.toy_cells, "run_toy_cells", interrupted)
    r = run("toy", "grid", *SMALL, "--chunk", "2", "--no-capacity", "--out", out)
    assert r.exit_code == 130 and "interrupted" in r.output
    partial = xr.load_dataset(out / "grid.nc")
    assert int((partial.status == 1).sum()) == 4 and int((partial.status == 3).sum()) == 0
    first = partial.knn_acc.where(partial.status == 1)

    done_later = []

    def counting(mixture, training, cells, *a, **k):
        done_later.extend(dict(c) for c in cells)
        return real(mixture, training, cells, *a, **k)

    monkeypatch.setattr(benign.grids.toy_cells, "run_toy_cells", counting)
    r = run("toy", "grid", *SMALL, "--chunk", "2", "--no-capacity", "--out", out)
    assert r.exit_code == 0, r.output
    final = xr.load_dataset(out / "grid.nc")
    assert (final.status == 1).all()
    before = [c for chunk in seen for c in chunk]
    assert len(done_later) == 4 and not any(c in before for c in done_later)
    xr.testing.assert_equal(final.knn_acc.where(partial.status == 1), first)


def test_a_different_grid_is_refused_instead_of_mixed(tmp_path):
    out = tmp_path / "g"
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
        ["--n-probe", "0"],
        ["--n-test", "-5"],
        ["--knn-k", "0"],
        ["--batch-size", "0"],
        ["--capacity-labellings", "0"],
        ["--chunk", "0"],
        ["--label-classes", "-1"],
        ["--n", "5,5"],
    ],
)
def test_grid_rejects_impossible_parameters_in_one_line(tmp_path, bad):
    r = run("toy", "grid", *SMALL, "--out", tmp_path / "x", *bad)
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
    """`benign toy capacity` is a grid of kind capacity on the engine: resumable, status per cell."""
    out = tmp_path / "cap" / "grid.nc"
    r = run(
        "toy",
        "capacity",
        "--K",
        "5,10",
        "--steps",
        "30",
        "--labellings",
        "2",
        "--n-max",
        "32",
        "--repeats",
        "2",
        "--device",
        "cpu",
        "--out",
        out.parent,
    )
    assert r.exit_code == 0, r.output
    assert "over 2 repeats lower" in r.output
    ds = xr.load_dataset(out)
    assert dict(ds.sizes) == {"K": 2, "seed": 2} and (ds.status == 1).all()
    assert ds.attrs["config_json"] and '"fixed_points": true' in ds.attrs["config_json"]
    assert (ds.capacity_lower <= ds.hard_bound).all()
    assert (ds.capacity_lower >= 1).all()
    assert ds.attrs["grid_kind"] == "capacity" and ds.attrs["grid_name"] == "toy-capacity"
    again = run("toy", "capacity", "--K", "5,10", "--steps", "30", "-R", "2", "--n-max", "32", "--repeats", "2",
                "--device", "cpu", "--out", out.parent)  # fmt: skip
    assert again.exit_code == 0 and "0 of 4 searches to do" in again.output  # resumed: nothing to do
    xr.testing.assert_identical(xr.load_dataset(out)[["capacity_lower"]], ds[["capacity_lower"]])
    r = run("toy", "capacity", "--K", "0", "--out", tmp_path / "c2")
    assert r.exit_code == 2 and r.output.startswith("error:")


def test_usage_errors_of_typers_own_click_are_one_line_too():
    """typer >= 0.29 parses with a bundled click: its usage errors must still be one line, exit 2."""
    r = runner.invoke(app, ["toy", "grid", "extra"])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: Got unexpected extra argument(s) (extra)"
    ]
    r = runner.invoke(app, ["toy"])  # a group without its command: the group's help
    assert r.exit_code == 2 and "grid" in r.output and "capacity" in r.output and "Traceback" not in r.output


def test_a_full_disk_is_one_line_naming_the_path(small_disk):
    from tests.store.full_disk import files_of, fill

    (small_disk / "older.nc").write_bytes(b"a result written before")
    fill(small_disk)
    out = small_disk / "g"
    r = run("toy", "grid", *SMALL, "--out", out)
    assert r.exit_code == 2, r.output
    last = r.output.strip().splitlines()[-1]  # the result file, or the first file its run writes
    assert last.startswith(f"error: cannot write {small_disk}/") and last.endswith(
        ": no space left on device"
    )
    assert "Traceback" not in r.output
    assert files_of(small_disk) == {"older.nc": b"a result written before"}


def test_plot_draws_a_capacity_sweep(tmp_path):
    """`benign plot` draws any result file, `benign toy capacity`'s too: C_t against K."""
    out = tmp_path / "cap" / "grid.nc"
    r = run(
        "toy",
        "capacity",
        "--K",
        "2,4",
        "--steps",
        "10",
        "--labellings",
        "1",
        "--n-max",
        "8",
        "--device",
        "cpu",
        "--out",
        out.parent,
    )
    assert r.exit_code == 0, r.output
    r = run("plot", out, "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the grid's name


def test_capacity_help_documents_every_option_in_80_columns():
    r = runner.invoke(app, ["toy", "capacity", "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert r.exit_code == 0
    text = " ".join(w for line in r.output.splitlines() for w in line.strip("│ ").split())
    for flag, words in {
        "--C": "classes of the mixture",
        "--d": "input dimension",
        "--d1": "signal coordinates",
        "--sigma": "noise scale",
        "--centre-scale": "cluster centres",
        "--lr": "Adam learning rate",
        "--batch-size": "(point, augmentation) pairs",
        "--device": "auto (CUDA when there is one)",
    }.items():
        assert flag in r.output and words in text, flag
    assert max(len(x) for x in r.output.splitlines()) <= 80


@pytest.mark.parametrize(
    "command",
    [
        ["toy", "grid"],
        ["toy", "capacity"],
        ["grid", "run"],
        ["train"],
        ["probe"],
        ["memscore", "run"],
        ["profiles", "run"],
        ["plot"],
    ],
)
def test_help_fits_80_columns(command):
    r = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert r.exit_code == 0, r.output
    assert max(len(x) for x in r.output.splitlines()) <= 80
