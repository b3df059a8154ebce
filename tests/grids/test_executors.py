"""grids.executors: local workers end with their driver, however the driver ends."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from benign.grids.engine import DriverLock
from benign.grids.executors import WATCH_THREAD, _start_worker

# Cells slow enough (minutes) that the workers are surely still computing when the driver is killed.
SLOW_TOML = (
    "n = [40, 80]\nB = [16]\nseeds = 2\nsteps = 400000\nK = 8\nn_probe = 50\nn_test = 50\ncapacity = false\n"
)


def children(pid: int) -> set[int]:
    """Every descendant of pid, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def thread_names(pid: int) -> set[str]:
    try:
        return {(t / "comm").read_text().strip() for t in Path(f"/proc/{pid}/task").iterdir()}
    except OSError:
        return set()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent has not reaped it yet


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_workers_end_when_their_driver_is_killed(tmp_path):
    toml, out = tmp_path / "slow.toml", tmp_path / "grid"
    toml.write_text(SLOW_TOML)
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benign.cli.app",
            "grid",
            "run",
            str(toml),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        deadline, armed = time.monotonic() + 180, set()
        while len(armed) < 2:  # both workers started, past their initializer
            assert driver.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
            workers = children(driver.pid)
            armed = {p for p in workers if WATCH_THREAD in thread_names(p)}
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    deadline = time.monotonic() + 5
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in workers if alive(p)]
    for p in left:  # do not leave them behind even when the test fails
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived their driver"
    with DriverLock(out):  # and the dead driver holds no lock
        pass


def test_a_worker_whose_driver_is_gone_at_start_ends():
    # pid 1 is not the worker's parent: the worker ends at once (os._exit), and the pool says so.
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(1,)
    )
    with pytest.raises(BrokenProcessPool):
        pool.submit(divmod, 7, 2).result(timeout=120)
    pool.shutdown()
