"""`benign report`: presets run end to end into one Markdown page; reruns resume; bad input is one line."""

import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app

runner = CliRunner()


def tiny_report(out, presets: str) -> list[str]:
    return ["report", "--scale", "tiny", "--presets", presets, "--out", str(out), "--workers", "1"]


def test_report_runs_draws_and_resumes(tmp_path):
    args = tiny_report(tmp_path, "table2,table4")
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    page = (tmp_path / "report.md").read_text()
    assert "## table2" in page and "## table4" in page and "| random+DA |" in page
    assert "k-NN" in page and "linear" in page.lower() and "total wall time" in page
    # the scoreboard of what the report holds: table 2 and 4 judged (tiny networks fit few labels), the
    # claims of presets not run said so
    claims = (tmp_path / "claims.md").read_text()
    assert "## Claims" in page and "| T2 |" in claims and "| T1 |" in claims
    t1, t2 = (next(line for line in claims.splitlines() if line.startswith(f"| {i} |")) for i in ("T1", "T2"))
    assert "**not run** (no table1-tiny.nc or table1.nc" in t1 and "not run" not in t2
    t2, t4 = xr.load_dataset(tmp_path / "table2.nc"), xr.load_dataset(tmp_path / "table4.nc")
    assert t2.attrs["grid_name"] == "table2" and t4.attrs["grid_name"] == "table4"
    xr.testing.assert_identical(t2.linear_final, t4.linear_final)  # table 4 probes table 2's runs
    assert not (tmp_path / "grids" / "table4").exists()
    # preset | wall | trained | from another preset | done before | done / all | cells' training seconds
    assert "| table2 |" in page and _row(page, "table2")[1:5] == ["4", "0", "0", "4 / 4"]
    assert _row(page, "table4")[1:5] == ["0", "0", "4", "4 / 4"]  # table 2's cells, probed linearly
    seconds = float(_row(page, "table2")[5])
    assert abs(seconds - float(t2.train_time.sum())) <= 0.5
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "4 cells" in again.output
    xr.testing.assert_identical(xr.load_dataset(tmp_path / "table2.nc").knn_final, t2.knn_final)
    # a rerun trains nothing: its wall time is not the cells', which keep theirs
    rerun = _row((tmp_path / "report.md").read_text(), "table2")
    assert rerun[1:6] == ["0", "0", "4", "4 / 4", f"{seconds:.0f}"]


def _row(page: str, preset: str) -> list[str]:
    """The wall-time table's cells of one preset, after its name."""
    line = next(line for line in page.splitlines() if line.startswith(f"| {preset} |"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_unknown_preset_or_scale_is_one_line(tmp_path):
    for args, word in (
        (["--presets", "table2,fig99"], "unknown preset fig99"),
        (["--scale", "huge"], "tiny"),
    ):
        r = runner.invoke(app, ["report", "--out", str(tmp_path / "r"), *args])
        assert r.exit_code == 2 and r.output.strip().startswith("error:") and word in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_preset_whose_data_is_absent_is_skipped_with_the_reason(tmp_path, monkeypatch):
    """The page says why; the exit code says the report is not whole."""
    monkeypatch.setenv("BENIGN_DATA_ROOT", str(tmp_path / "empty"))  # no MNIST for figure 10's transfer
    r = runner.invoke(app, ["report", "--scale", "tiny", "--presets", "fig10", "--out", str(tmp_path / "r")])
    assert r.exit_code == 1 and "fig10 skipped: mnist not found" in r.output, r.output
    page = (tmp_path / "r" / "report.md").read_text()
    assert "## fig10" in page and "Skipped: mnist not found" in page
    assert not (tmp_path / "r" / "grids").exists()


def test_figure_13_reuses_table_2s_cells_at_noise_0_and_1(tmp_path):
    """Label noise 0 / 1 are table 2's clean / random labels: the report trains those cells once."""
    r = runner.invoke(app, tiny_report(tmp_path, "table2,fig13"))
    assert r.exit_code == 0, r.output
    t2, f13 = xr.load_dataset(tmp_path / "table2.nc"), xr.load_dataset(tmp_path / "fig13.nc")
    assert (f13.status == 1).all() and list(f13.label_noise.values) == [0.0, 1.0]
    assert not (tmp_path / "grids" / "fig13" / "cells").exists()  # nothing trained for figure 13
    assert _row((tmp_path / "report.md").read_text(), "fig13")[1:4] == ["0", "4", "0"]
    assert len(list((tmp_path / "grids" / "shared" / "init-probes").glob("*.json"))) == 1  # one seed
    setting = {name: i for i, name in enumerate(t2.setting_name.values)}
    for noise, without, with_da in ((0.0, "clean", "clean+DA"), (1.0, "random", "random+DA")):
        for f13_setting, t2_name in ((0, without), (1, with_da)):
            for var in ("knn_final", "knn_init", "linear_final", "train_accuracy_final", "knn_accuracy"):
                a = f13[var].sel(setting=f13_setting, label_noise=noise)
                b = t2[var].sel(setting=setting[t2_name])
                assert (a.values == b.values).all(), (var, noise, t2_name)


def test_report_runs_the_companion_studies_and_judges_them(tmp_path):
    """Profiles and both turn-over dropout runs inside a report: their files, pictures, sections and
    claims (P2, S judged: neither `not run`); a rerun keeps the score files."""
    args = tiny_report(tmp_path, "profiles,memscore,memscore-mlp")
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    for name in ("profiles.nc", "memscore.nc", "memscore-mlp.nc"):
        assert (tmp_path / name).is_file()
    page = (tmp_path / "report.md").read_text()
    assert "## profiles" in page and "## memscore-mlp" in page and ".png)" in page
    claims = (tmp_path / "claims.md").read_text().splitlines()
    for claim in ("P2", "S"):
        line = next(x for x in claims if x.startswith(f"| {claim} |"))
        assert "not run" not in line, line
    stamp = (tmp_path / "memscore.nc").stat().st_mtime_ns
    assert runner.invoke(app, args).exit_code == 0
    assert (tmp_path / "memscore.nc").stat().st_mtime_ns == stamp


def test_report_refuses_a_companion_without_a_version_at_the_scale(tmp_path, monkeypatch):
    from benign.grids.presets import profiles

    monkeypatch.delitem(profiles.PRESETS, "full")  # every companion has every scale: take one away
    r = runner.invoke(app, ["report", "--scale", "full", "--presets", "profiles", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "profiles has no full version" in r.output
