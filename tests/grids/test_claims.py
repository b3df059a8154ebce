"""The claims scoreboard on grid files it can and cannot judge; `benign claims` on bad folders."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from benign.cli.app import app
from benign.cli.claims import SHIPPED as CLAIMS_DIR
from benign.grids import spec as grid_spec
from benign.grids.claims import CLAIMS, IDS, VERDICTS, ClaimsError, scoreboard

SETTINGS = ["random", "random+DA", "clean", "clean+DA"]
CPU_TABLE2 = json.dumps(grid_spec.preset("table2", "cpu").to_dict())


def table2(knn: list[float], fit: list[float], init: float = 0.8, seeds: int = 2) -> xr.Dataset:
    """A collected table 2 grid: knn_final per setting (same for every seed), fits of the settings."""
    shape = (len(SETTINGS), seeds)
    coords = {"setting": range(4), "seed": range(seeds), "setting_name": ("setting", SETTINGS)}
    var = lambda v: (("setting", "seed"), np.repeat(np.asarray(v, float)[:, None], seeds, 1))  # noqa: E731
    return xr.Dataset(
        {
            "knn_final": var(knn),
            "knn_init": (("setting", "seed"), np.full(shape, init)),
            "linear_final": var(knn),
            "linear_init": (("setting", "seed"), np.full(shape, init)),
            "train_accuracy_final": var(fit),
            "status": (("setting", "seed"), np.ones(shape, np.int8)),
        },
        coords=coords,
        attrs={"title": "benign grid", "grid_name": "table2", "config_json": CPU_TABLE2},
    )


def row(rows, id_):
    return next(r for r in rows if r.id == id_)


def test_every_claim_listed_once_with_a_verdict(tmp_path):
    rows = scoreboard(tmp_path, "cpu")
    assert [r.id for r in rows] == list(IDS) == [c.id for c in CLAIMS]
    assert {"T1", "T2", "T3", "T4", "F3", "F4", "F7", "F8", "F9", "F10", "F11", "F12", "P2", "S"} <= set(IDS)
    assert all(r.verdict == "not run" and r.why for r in rows)


@pytest.mark.parametrize(
    "knn, fit, verdict",
    [
        ([0.6, 0.85, 0.84, 0.9], [1.0, 0.995, 1, 1], "holds"),
        ([0.6, 0.85, 0.84, 0.9], [1.0, 0.5, 1, 1], "fails"),  # random + DA not memorised (Definition 4.1)
        ([0.6, 0.82, 0.84, 0.9], [1.0, 1.0, 1, 1], "fails"),  # benign by 0.02 < the 0.03 margin
        ([0.85, 0.85, 0.84, 0.9], [1.0, 1.0, 1, 1], "fails"),  # random without DA not malign
        ([0.6, 0.95, 0.84, 0.9], [1.0, 1.0, 1, 1], "fails"),  # clean + DA not highest
    ],
)
def test_t2_under_definition_4_1(tmp_path, knn, fit, verdict):
    table2(knn, fit).to_netcdf(tmp_path / "table2-cpu.nc")
    r = row(scoreboard(tmp_path, "cpu"), "T2")
    assert r.verdict == verdict
    assert r.project.startswith("cpu: random 0.600 / 0.600") or verdict == "fails"
    assert (r.why == "") == (verdict == "holds")


def test_one_seed_failing_fails_the_claim(tmp_path):
    ds = table2([0.6, 0.85, 0.84, 0.9], [1.0, 1.0, 1, 1])
    ds["train_accuracy_final"][1, 1] = 0.9  # seed 1 of random + DA short of the fit
    ds.to_netcdf(tmp_path / "table2-cpu.nc")
    r = row(scoreboard(tmp_path, "cpu"), "T2")
    assert r.verdict == "fails" and "seed 1" in r.why and "seed 0" not in r.why


def test_foreign_and_corrupt_files(tmp_path):
    table2([0.6, 0.85, 0.84, 0.9], [1, 1, 1, 1]).assign_attrs(grid_name="fig8").to_netcdf(
        tmp_path / "table2.nc"
    )
    r = row(scoreboard(tmp_path, "cpu"), "T2")
    assert r.verdict == "not run" and "not table2" in r.why
    (tmp_path / "fig13.nc").write_bytes(b"not netcdf")
    with pytest.raises(ClaimsError, match="fig13.nc"):
        scoreboard(tmp_path, "cpu")


def test_cli(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["claims", "--results", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "claims.md").read_text().count("**not run**") == len(IDS)
    (tmp_path / "table2-cpu.nc").write_bytes(b"garbage")
    res = runner.invoke(app, ["claims", "--results", str(tmp_path)])
    assert res.exit_code == 2 and "table2-cpu.nc" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["claims", "--results", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such folder" in res.output


def test_shipped_results_judged():
    """The files in docs/results are judged, each verdict one of the three."""
    rows = scoreboard(CLAIMS_DIR, "cpu")
    assert {r.verdict for r in rows} <= set(VERDICTS)
    assert row(rows, "T2").verdict != "not run"


def test_the_readme_shows_the_scoreboard_of_the_shipped_results():
    """README's scoreboard is `benign claims` on docs/results/ (rewrite it with
    `benign claims --readme README.md`): it cannot drift from the files."""
    from benign.grids.claims import markdown, readme_block

    readme = (CLAIMS_DIR.parents[1] / "README.md").read_text()
    assert readme_block(readme) == markdown(scoreboard(CLAIMS_DIR, "cpu")).strip()


def test_readme_option_rewrites_only_the_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- claims:begin -->\nold\n<!-- claims:end -->\nrest\n")
    r = CliRunner().invoke(app, ["claims", "--results", str(tmp_path), "--readme", str(page)])
    assert r.exit_code == 0, r.output
    text = page.read_text()
    assert text.startswith("intro\n<!-- claims:begin -->\n| id |") and text.endswith(
        "<!-- claims:end -->\nrest\n"
    )
    assert "\nold\n" not in text
    page.write_text("no block")
    r = CliRunner().invoke(app, ["claims", "--results", str(tmp_path), "--readme", str(page)])
    assert r.exit_code == 2 and "no <!-- claims:begin -->" in r.output


def test_a_file_from_another_setting_of_the_preset_is_not_judged(tmp_path):
    """The scoreboard judges the presets as they are: a file run with other parameters is not run."""
    old = json.loads(CPU_TABLE2)
    old["params"]["subset"] = 1000
    table2([0.6, 0.85, 0.84, 0.9], [1, 1, 1, 1]).assign_attrs(config_json=json.dumps(old)).to_netcdf(
        tmp_path / "table2-cpu.nc"
    )
    r = row(scoreboard(tmp_path, "cpu"), "T2")
    assert r.verdict == "not run" and "other parameters than the cpu preset table2" in r.why


def test_numbers_and_failing_seeds_over_extra_dimensions():
    """A preset with one setting (table 1 at cpu: setting x seed) reads per seed like any other."""
    from benign.grids.claims import per_seed, seeds_failing

    v = xr.DataArray([[0.5, 0.25]], dims=("setting", "seed"), coords={"seed": [0, 1]})
    assert per_seed(v) == "0.500 / 0.250"
    assert seeds_failing(v > 0.3) == "seed 1" and seeds_failing(v > 0.1) == ""


def fz(scores, mislabelled, fit=1.0, models=4) -> xr.Dataset:
    n = len(scores)
    return xr.Dataset(
        {
            "fz_score": ("example", np.asarray(scores, float)),
            "example_mislabelled": (
                ("seed", "example"),
                np.tile(np.asarray(mislabelled, float), (models, 1)),
            ),
            "train_accuracy_final": ("seed", np.full(models, fit)),
            "status": ("seed", np.ones(models, np.int8)),
        },
        coords={"seed": range(models), "example": range(n)},
        attrs={
            "title": "benign grid",
            "grid_name": "fz",
            "config_json": json.dumps(grid_spec.preset("fz", "cpu").to_dict()),
        },
    )


@pytest.mark.parametrize(
    "scores, fit, verdict",
    [
        ([0.9, 0.8, 0.1, 0.2, 0.3, 0.0], 1.0, "holds"),  # the mislabelled first: AUROC 1
        ([0.1, 0.8, 0.9, 0.2, 0.3, 0.0], 1.0, "fails"),  # AUROC 0.625
        ([0.9, 0.8, 0.1, 0.2, 0.3, 0.0], 0.9, "fails"),  # the models do not fit their labels
    ],
)
def test_fz_holds_when_the_score_finds_the_wrong_labels(tmp_path, scores, fit, verdict):
    fz(scores, [1, 1, 0, 0, 0, 0], fit).to_netcdf(tmp_path / "fz-cpu.nc")
    r = row(scoreboard(tmp_path, "cpu"), "FZ")
    assert r.verdict == verdict, r
    assert "AUROC" in r.project


def test_ssl_holds_when_sslmem_finds_the_injected_outliers(tmp_path):
    ds = fz([0.2, 0.3, 0.0, 0.1, -0.1, 0.05], [0, 0, 0, 0, 0, 0]).rename(fz_score="sslmem_score")
    ds["example_outlier"] = (("seed", "example"), np.tile([1.0, 1, 0, 0, 0, 0], (4, 1)))
    ds["knn_final"] = ("seed", np.full(4, 0.5))
    ds.attrs["grid_name"] = "sslmem"
    ds.attrs["config_json"] = json.dumps(grid_spec.preset("sslmem", "cpu").to_dict())
    ds.to_netcdf(tmp_path / "sslmem-cpu.nc")
    r = row(scoreboard(tmp_path, "cpu"), "SSL")
    assert r.verdict == "holds" and "AUROC 1.000" in r.project, r


@pytest.mark.parametrize(
    "ratios, holds",
    [
        ({"simclr": 2.0, "random": 3.0, "supervised": 9.0}, True),
        ({"simclr": 4.6, "random": 3.8, "supervised": 8.1}, False),
    ],
)
def test_p2_reads_the_profiles_modes_by_their_names(monkeypatch, ratios, holds):
    """The profiles' mode names are lowercase (simclr, supervised, ...): the judge must find them."""
    import benign.empirical.profiles.summary as summary
    from benign.grids.claims import judge_p2

    rows = [{"method": m, "at": "mean~0.5", "mae_nm": r, "floor_nm": 1.0} for m, r in ratios.items()]
    monkeypatch.setattr(summary, "mae_table", lambda ds: rows)
    j = judge_p2(xr.Dataset())
    assert j.holds is holds and "simclr" in j.number, j
