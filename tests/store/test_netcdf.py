"""store.netcdf: attributes netCDF cannot hold are encoded; a file that is not the result asked for is one ValueError."""

import json

import numpy as np
import pytest
import xarray as xr

from benign.store.netcdf import load_result, save_atomic


def test_bools_none_dicts_and_mixed_lists_survive_as_json(tmp_path):
    ds = xr.Dataset({"a": ("x", np.arange(3.0), {"long_name": "a", "units": "1", "fitted": True})})
    ds.attrs = {"title": "t", "flag": False, "missing": None, "config": {"K": 8}, "names": ["a", None]}
    path = save_atomic(ds, tmp_path / "r.nc")
    back = load_result(path, require_title="t", require_vars=("a",))
    assert back.attrs["flag"] == "false" and back.attrs["missing"] == "null"
    assert json.loads(back.attrs["config"]) == {"K": 8} and json.loads(back.attrs["names"]) == ["a", None]
    assert back["a"].attrs["fitted"] == "true" and back["a"].values.tolist() == [0.0, 1.0, 2.0]
    assert ds.attrs["flag"] is False  # the caller's Dataset is not changed


def test_load_result_is_complete_in_memory_so_the_file_can_be_rewritten(tmp_path):
    path = save_atomic(xr.Dataset({"a": ("x", np.zeros(4))}, attrs={"title": "t"}), tmp_path / "r.nc")
    ds = load_result(path)
    save_atomic(ds.assign(a=ds.a + 1), path)
    assert float(load_result(path).a.sum()) == 4.0


def test_files_that_are_not_the_result_asked_for_are_one_value_error(tmp_path):
    (tmp_path / "junk.nc").write_text("not netCDF")
    good = save_atomic(xr.Dataset({"a": ("x", np.zeros(2))}, attrs={"title": "t"}), tmp_path / "r.nc")
    for path, kwargs, words in [
        (tmp_path / "absent.nc", {}, "no such file"),
        (tmp_path / "junk.nc", {}, "not a readable netCDF"),
        (good, {"require_title": "other"}, "is not a 'other' result"),
        (good, {"require_vars": ("b",)}, "lacks the variables b"),
    ]:
        with pytest.raises(ValueError, match=words):
            load_result(path, **kwargs)
