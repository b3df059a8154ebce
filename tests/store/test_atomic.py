"""store.atomic: a reader sees the old file or the whole new one; a refused write is one clear error."""

import errno
import os

import numpy as np
import pytest
import xarray as xr

from benign.store.atomic import WriteError, atomic_write, write_text_atomic
from benign.store.netcdf import save_atomic
from tests.store.full_disk import files_of, fill


def big_dataset(n=200_000):
    return xr.Dataset({"a": ("x", np.arange(n, dtype=float), {"long_name": "a", "units": "1"})})


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.txt"
    write_text_atomic(target, "old")

    def half_then_fail(tmp):
        tmp.write_text("half of the new")
        raise ValueError("the writer's own error")

    with pytest.raises(ValueError, match="the writer's own error"):  # not turned into a WriteError
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["r.txt"]

    def interrupted(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["r.txt"]


def test_files_are_readable_by_others_as_the_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "sub" / "r.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644 and path.read_text() == "x"


def test_a_full_disk_is_one_write_error_naming_the_path_and_the_old_file_stays(small_disk):
    target = small_disk / "r.nc"
    save_atomic(big_dataset(1000), target)
    before = files_of(small_disk)
    fill(small_disk)
    with pytest.raises(WriteError) as info:  # netCDF-C says only "NetCDF: HDF error" (a RuntimeError)
        save_atomic(big_dataset(), target)
    e = info.value
    assert isinstance(e, OSError) and e.errno == errno.ENOSPC and e.path == target
    assert str(e) == f"cannot write {target}: no space left on device"
    with pytest.raises(WriteError, match="cannot write .*t.txt: no space left on device"):
        write_text_atomic(small_disk / "t.txt", "x" * 100_000)  # Python's own OSError, same message
    assert files_of(small_disk) == before  # no temporary file left, the old result byte for byte
    assert xr.load_dataset(target)["a"].size == 1000


def test_a_folder_that_cannot_be_made_is_a_write_error(tmp_path):
    (tmp_path / "f").write_text("a file, not a folder")
    with pytest.raises(WriteError, match=f"cannot write {tmp_path}/f/r.txt: "):
        write_text_atomic(tmp_path / "f" / "r.txt", "x")
