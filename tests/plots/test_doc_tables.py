"""The docs' number tables are generated from the shipped result files: a page that disagrees with its
file fails here (regenerate with `make docs`)."""

from pathlib import Path

import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from benign.cli.app import app
from benign.plots.doc_tables import TABLES, decimal, render, table_names

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
runner = CliRunner()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_generated_table_agrees_with_its_result_file(page):
    text = page.read_text()
    assert render(text, RESULTS) == text, f"{page.name} is stale: run `make docs`"


def test_every_generated_table_is_used_by_a_page():
    used = {name for page in PAGES for name in table_names(page.read_text())}
    assert used == set(TABLES)


def test_a_changed_number_in_the_file_changes_the_page(tmp_path):
    page = (ROOT / "docs" / "cpu-scale.md").read_text()
    with xr.open_dataset(RESULTS / "table2-cpu.nc") as ds:
        changed = ds.load()
    changed["knn_final"][1, 0] = 0.5  # random + DA, seed 0: now below initialisation
    for f in RESULTS.glob("*.nc"):
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "table2-cpu.nc").unlink()
    changed.to_netcdf(tmp_path / "table2-cpu.nc")
    new = render(page, tmp_path)
    assert new != page and "| random + DA | 0.500 / 0.860 | -0.290 / +0.055 |" in new
    assert "benign / malign" in new  # one seed each way: both kinds named


def test_the_cli_checks_rewrites_and_refuses(tmp_path):
    page = tmp_path / "page.md"
    good = "intro\n<!-- table: unitmem-cpu -->\nold numbers\n<!-- /table -->\nend\n"
    page.write_text(good)
    result = runner.invoke(app, ["docs", str(page), "--check"])
    assert result.exit_code == 1 and "stale" in result.output and page.read_text() == good
    assert runner.invoke(app, ["docs", str(page)]).exit_code == 0
    assert "old numbers" not in page.read_text() and page.read_text().endswith("<!-- /table -->\nend\n")
    assert runner.invoke(app, ["docs", str(page), "--check"]).exit_code == 0
    page.write_text("<!-- table: no-such -->\n<!-- /table -->\n")
    result = runner.invoke(app, ["docs", str(page)])
    assert result.exit_code == 2 and "unknown generated table 'no-such'" in result.output
    page.write_text(good)
    result = runner.invoke(app, ["docs", str(page), "--results", str(tmp_path)])
    assert result.exit_code == 2 and "unitmem-cpu.nc" in result.output


def test_numbers_round_as_a_reader_rounds_them():
    assert decimal(1609 / 2000) == "0.805"  # stored a hair below 0.8045; Python's format says 0.804
    assert decimal(-0.0405, signed=True) == "-0.041" and decimal(0.859 - 0.79, signed=True) == "+0.069"
    assert decimal(1.0, 2) == "1.00" and decimal(float("nan")) == "–"


@given(st.floats(-10, 10, allow_nan=False), st.integers(0, 6))
def test_a_rounded_number_is_within_half_a_unit_of_its_last_place(value, places):
    assert abs(float(decimal(value, places)) - value) <= 0.5 * 10.0**-places + 1e-9
