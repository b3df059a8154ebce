"""The one atomic writer: every file the project writes goes through `atomic_write`.

A reader sees either the old file or the whole new one, never a half-written one: the bytes go to a
temporary file in the target's folder, are flushed and fsync'ed, then renamed over the target
(rename within one file system is atomic on POSIX). On any failure, Ctrl-C included, the temporary
file is removed and the target is left as it was.

A write that the file system refuses (a full disk, a read-only or foreign folder) raises `WriteError`,
an OSError whose one-line message names the path and the reason, whichever library did the writing:
netCDF-C reports a full disk as `RuntimeError: NetCDF: HDF error` (or as EACCES when the file cannot
even be created) and torch as a RuntimeError, so a full disk is read from the file system itself.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

# Less free space than this in the target's folder after a failed write means the disk was full.
FULL_BELOW_BYTES = 1 << 20


class WriteError(OSError):
    """A file could not be written: `str()` is "cannot write PATH: REASON", one line."""

    def __init__(self, path: Path, reason: str, code: int | None = None):
        super().__init__(code or 0, reason, str(path))
        self.path, self.reason = Path(path), reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` to fill a temporary file, then move it onto `path` in one step."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _write_error(path, e, path.parent) from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; results are meant to be shared
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        error = _write_error(path, e, path.parent)  # before the unlink frees the space it took
        tmp.unlink(missing_ok=True)
        raise error from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def _write_error(path: Path, e: BaseException, folder: Path) -> WriteError:
    if isinstance(e, WriteError):
        return e
    code = getattr(e, "errno", None)
    if not isinstance(code, int) or code <= 0:  # netCDF4 puts its own negative codes in errno
        code = None
    if code not in (errno.ENOSPC, errno.EDQUOT) and _free_bytes(folder) < FULL_BELOW_BYTES:
        code = errno.ENOSPC  # netCDF-C reports a full disk as EACCES, or with no errno at all
    if code:
        return WriteError(path, os.strerror(code).lower(), code)
    message = str(e).strip()
    return WriteError(path, message.splitlines()[0] if message else type(e).__name__)


def _free_bytes(folder: Path) -> float:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return float("inf")
    return st.f_bavail * st.f_frsize
