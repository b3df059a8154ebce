"""Companion 3's figure 10 from a corruption grid: picked by `auto`, drawn, and judged (S10)."""

import pytest

from benign.grids import spec as grid_spec
from benign.grids.claims import judge_s10
from benign.grids.engine import collect_grid, run_grid
from benign.grids.in_process import InProcess
from benign.plots.auto import pick_kinds, plot_result
from benign.plots.corruption import corruption_dim, is_corruption
from tests.grids.test_memscore_cells import SWEEP


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    run_grid(grid_spec.from_dict(SWEEP), out, InProcess())
    return out


def test_the_corruption_picture_and_the_s10_claim(sweep, tmp_path):
    ds = collect_grid(sweep)
    assert pick_kinds(ds) == ("corruption",)
    (png,) = plot_result(ds, tmp_path / "corruption.png")
    assert png.stat().st_size > 10_000
    assert judge_s10(ds).number.startswith("mean training accuracy over the epochs 0:")


def test_a_grid_without_a_corruption_axis_is_not_drawn_as_one(sweep):
    ds = collect_grid(sweep).isel(corrupt_fraction=0, drop=True)
    assert not is_corruption(ds)
    with pytest.raises(ValueError, match="corrupt"):
        corruption_dim(ds)
