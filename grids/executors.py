"""Where a grid's batches run: local worker processes, or a Dask distributed cluster.

An executor runs `fn(*task)` for every task and yields (index of the task, result, error) as each
finishes, in any order; results come back to the driver, which alone writes the grid file. At most
`workers` tasks are handed out at a time (so `on_submit(index)` marks the tasks really running, and
an interrupted driver has little in flight); on Dask a task may ask for `resources` such as
{"GPU": 1}, which the workers advertise (`dask worker ... --resources GPU=1`).

Slurm, through dask-jobqueue (not a dependency; `pip install dask-jobqueue` on the cluster):

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=4, processes=1, memory="32GB", walltime="24:00:00",
                           job_extra_directives=["--gres=gpu:1"], worker_extra_args=["--resources", "GPU=1"])
    cluster.scale(jobs=8)
    print(cluster.scheduler_address)     # then: benign grid run fig11 --scale full --scheduler <address>

docs/grids.md, "Executors". Local workers end with their driver (`end_with_driver`): a driver killed with SIGKILL leaves no worker
training on under PID 1. Dask's workers belong to their cluster and outlive a client by design.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

CONNECT_TIMEOUT_S = 3
WATCH_PARENT_S = 1.0  # how often a local worker checks that its driver lives (where prctl is missing)
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15  # <linux/prctl.h>
WATCH_THREAD = "end-with-driver"


class LocalProcesses:
    def __init__(self, workers: int = 2):
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"
        self._pool: ProcessPoolExecutor | None = None

    def run(
        self,
        fn: Callable,
        tasks: list[tuple],
        on_submit: Callable[[int], None] | None = None,
        resources: dict | None = None,
    ) -> Iterator[tuple[int, object, BaseException | None]]:
        if not tasks:
            return
        # spawn, not fork: a forked child of a process that has used torch's OpenMP pool can hang.
        self._pool = self._pool or ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        yield from _throttled(
            lambda task: self._pool.submit(fn, *task),
            tasks,
            lambda: self.workers,
            on_submit,
            lambda futures: next(as_completed(futures)),
            _local_outcome,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _throttled(submit, tasks, limit: Callable[[], int], on_submit, first_done, outcome):
    """Keep at most `limit()` tasks in flight, asked anew as tasks finish (a Slurm cluster grows while
    its jobs start); yield (index, result, error) as each finishes."""
    pending, next_task = {}, 0
    try:
        while pending or next_task < len(tasks):
            while next_task < len(tasks) and len(pending) < limit():
                pending[submit(tasks[next_task])] = next_task
                if on_submit is not None:
                    on_submit(next_task)
                next_task += 1
            future = first_done(pending)
            yield pending.pop(future), *outcome(future)
    finally:
        for future in pending:
            future.cancel()


def _local_outcome(future):
    error = future.exception()
    return (None, error) if error else (future.result(), None)


def _dask_outcome(future):
    try:
        return future.result(), None
    except Exception as e:
        return None, e


def _start_worker(driver_pid: int) -> None:
    """A local worker: it ends with its driver, and uses one torch thread."""
    end_with_driver(driver_pid)
    # One thread per worker process: several threads per worker only contend for the cores.
    # (Dask's nanny already sets OMP_NUM_THREADS=1 in the workers it starts.)
    import torch

    torch.set_num_threads(1)


def end_with_driver(driver_pid: int, poll_s: float = WATCH_PARENT_S) -> None:
    """End this process when `driver_pid`, its parent, dies, however it dies (SIGKILL included).

    Otherwise a killed driver leaves its workers running under PID 1, still training and writing
    checkpoints. On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG; it
    fires when the parent *thread* that started the worker ends, which for a grid is the driver's main
    thread); everywhere a daemon thread also watches the parent pid, the portable fallback.
    """
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != driver_pid:  # the driver died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        if prctl is not None:  # `ps -L` shows the thread by this name (tests wait for it)
            prctl(PR_SET_NAME, WATCH_THREAD.encode(), 0, 0, 0)
        while os.getppid() == driver_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name=WATCH_THREAD, daemon=True).start()


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no prctl in this libc: the watch thread alone
        return None


class DaskCluster:
    """A distributed.Client on a running scheduler (`address`) or on a LocalCluster it starts."""

    def __init__(
        self,
        address: str | None = None,
        local_workers: int | None = None,
        connect_timeout: float | None = None,
        resources: dict | None = None,
    ):
        from distributed import Client, LocalCluster

        connect_timeout = connect_timeout or CONNECT_TIMEOUT_S

        self._cluster = None
        if local_workers is not None:
            if local_workers < 1:
                raise ValueError(f"--dask-local must be at least 1, got {local_workers}")
            self._cluster = LocalCluster(
                n_workers=local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                resources=resources,
            )
            self.client = Client(self._cluster)
            self.description = f"a Dask LocalCluster of {local_workers} workers"
        else:
            try:
                self.client = Client(address, timeout=connect_timeout)
            except Exception as e:  # OSError, TimeoutError, or ValueError on a malformed address
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ValueError(
                    f"cannot reach the Dask scheduler at {address} within {connect_timeout:g} s "
                    f"({reason[:120]})"
                ) from None
            self.description = f"the Dask scheduler at {address}"

    @property
    def workers(self) -> int:
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    @property
    def has_gpus(self) -> bool:
        return any(
            w.get("resources", {}).get("GPU", 0) > 0 for w in self.client.scheduler_info()["workers"].values()
        )

    def run(
        self,
        fn: Callable,
        tasks: list[tuple],
        on_submit: Callable[[int], None] | None = None,
        resources: dict | None = None,
    ) -> Iterator[tuple[int, object, BaseException | None]]:
        from distributed import wait

        def submit(task):
            return self.client.submit(fn, *task, pure=False, resources=resources)

        def first_done(futures):
            return next(iter(wait(list(futures), return_when="FIRST_COMPLETED").done))

        yield from _throttled(submit, tasks, lambda: self.workers, on_submit, first_done, _dask_outcome)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None):
    """One of the three; connecting (or starting a cluster) happens here, before any cell runs."""
    if sum(x is not None for x in (workers, scheduler, dask_local)) > 1:
        raise ValueError("give at most one of --workers, --scheduler and --dask-local")
    if scheduler is not None:
        return DaskCluster(address=scheduler)
    if dask_local is not None:
        return DaskCluster(local_workers=dask_local)
    return LocalProcesses(workers if workers is not None else 2)
