"""`benign plot FILE` through typer's CliRunner on the whole app."""

import xarray as xr
from typer.testing import CliRunner

import benign.plots.grid_result
from benign.cli.app import app
from tests.plots.synthetic_results import PAPER_GRIDS, toy_grid

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(r):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("error:"), r.output


def test_a_toy_grid_gets_its_heatmap_and_collapse_next_to_it(tmp_path, monkeypatch):

    monkeypatch.setattr(benign.plots.grid_result, "DPI", 30)
    path = tmp_path / "fig14.nc"
    toy_grid().to_netcdf(path)
    r = run("plot", path)
    assert r.exit_code == 0, r.output
    for png in (tmp_path / "fig14.png", tmp_path / "fig14-collapse.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {png}" in r.output


def test_a_table_preset_writes_markdown_with_options_before_or_after_the_file(tmp_path):
    path = tmp_path / "t.nc"
    PAPER_GRIDS["table3"]().to_netcdf(path)
    r = run("plot", path, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "t.md").read_text().startswith("### table3")
    r = run("plot", "--kind", "table", "--var", "linear_final", path, "--out", tmp_path / "lin")
    assert r.exit_code == 0, r.output
    assert "linear probing" in (tmp_path / "lin" / "t.md").read_text()
    r = run("plot", path, "--out", tmp_path / "lin.md")  # --out names a folder
    assert r.exit_code == 2 and "--out names a folder" in r.output


def test_missing_junk_and_foreign_files_are_one_line_errors(tmp_path):
    one_line_error(run("plot", tmp_path / "missing.nc"))
    junk = tmp_path / "junk.nc"
    junk.write_text("not a netcdf file")
    one_line_error(run("plot", junk))
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(other)
    r = run("plot", other)
    one_line_error(r)
    assert "cannot tell what to draw" in r.output
    assert not (tmp_path / "other.png").exists()


def test_an_unknown_kind_or_variable_names_the_valid_ones(tmp_path):
    path = tmp_path / "g.nc"
    toy_grid().to_netcdf(path)
    r = run("plot", path, "--kind", "pie")
    one_line_error(r)
    assert "auto, heatmap, curves, layers, lines, table, collapse" in r.output
    r = run("plot", path, "--var", "nope")
    one_line_error(r)
    assert "knn_acc" in r.output
    one_line_error(run("plot", path, "--kind", "layers"))
