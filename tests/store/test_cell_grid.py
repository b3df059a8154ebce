"""store.cell_grid: cells recorded as they finish, resumed after a stop, never mixed with another grid."""

import numpy as np
import pytest
import xarray as xr

from benign.store.cell_grid import DONE, FAILED, RUNNING, TODO, CellGrid

COORDS = {"n": [3, 6], "seed": [0, 1, 2]}
VARIABLES = {"acc": {"long_name": "accuracy", "units": "1"}}


def grid(path, config=None, coords=COORDS):
    return CellGrid(path, coords, VARIABLES, "test grid", config or {"steps": 10})


def test_a_reopened_grid_resumes_with_the_cells_not_done(tmp_path):
    path = tmp_path / "g.nc"
    g = grid(path)
    assert path.is_file() and len(g.todo()) == 6  # the file exists from the start
    g.record([({"n": 3, "seed": 0}, {"acc": 0.5}), ({"n": 6, "seed": 2}, {"acc": 0.75})])
    g.mark([{"n": 3, "seed": 1}], RUNNING)  # left so by a driver that died: not done
    g.mark_failed([{"n": 6, "seed": 0}])
    again = grid(path)
    assert again.counts() == {"todo": 2, "done": 2, "failed": 1, "running": 1}
    assert {(c["n"], c["seed"]) for c in again.todo()} == {(3, 1), (3, 2), (6, 0), (6, 1)}
    assert again.cells(DONE) == [{"n": 3, "seed": 0}, {"n": 6, "seed": 2}]
    ds = xr.load_dataset(path)
    assert float(ds.acc.sel(n=6, seed=2)) == 0.75 and np.isnan(ds.acc.sel(n=3, seed=1))
    assert ds.status.attrs["flag_meanings"] == "todo done failed running"
    assert ds.status.sel(n=6, seed=0) == FAILED and ds.status.sel(n=3, seed=2) == TODO


def test_another_grid_in_the_same_file_is_refused(tmp_path):
    path = tmp_path / "g.nc"
    grid(path)
    with pytest.raises(ValueError, match="holds a different grid"):
        grid(path, config={"steps": 20})
    with pytest.raises(ValueError, match="holds a different grid"):
        grid(path, coords={"n": [3, 7], "seed": [0, 1, 2]})
