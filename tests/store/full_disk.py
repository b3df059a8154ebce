"""Helpers for tests on a full disk (the `small_disk` fixture, a tmpfs, is in tests/conftest.py)."""

import errno
import os
from pathlib import Path


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk with a file of zeros, to its last byte or to the last `leave` bytes (whole pages)."""
    reserve = disk / "reserve"
    if leave:
        reserve.write_bytes(b"\0" * leave)
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    reserve.unlink(missing_ok=True)
    st = os.statvfs(disk)
    assert st.f_bavail * st.f_frsize == (leave + st.f_frsize - 1) // st.f_frsize * st.f_frsize
    return filler


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under folder but the filler, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "filler"
    }
