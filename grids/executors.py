"""Where a grid's batches run: local worker processes, or a Dask distributed cluster.

An executor runs `fn(*task)` for every task and yields (index of the task, result, error) as each
finishes, in any order; results come back to the driver, which alone writes the grid file.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Iterator

CONNECT_TIMEOUT_S = 3


class LocalProcesses:
    def __init__(self, workers: int = 2):
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"
        self._pool: ProcessPoolExecutor | None = None

    def run(self, fn: Callable, tasks: list[tuple]) -> Iterator[tuple[int, object, BaseException | None]]:
        if not tasks:
            return
        # spawn, not fork: a forked child of a process that has used torch's OpenMP pool can hang.
        self._pool = self._pool or ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=_one_torch_thread)
        futures = {self._pool.submit(fn, *task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], None if error else future.result(), error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _one_torch_thread() -> None:
    # One thread per worker process: several threads per worker only contend for the cores.
    # (Dask's nanny already sets OMP_NUM_THREADS=1 in the workers it starts.)
    import torch

    torch.set_num_threads(1)


class DaskCluster:
    """A distributed.Client on a running scheduler (`address`) or on a LocalCluster it starts."""

    def __init__(self, address: str | None = None, local_workers: int | None = None,
                 connect_timeout: float | None = None):
        from distributed import Client, LocalCluster

        connect_timeout = connect_timeout or CONNECT_TIMEOUT_S

        self._cluster = None
        if local_workers is not None:
            if local_workers < 1:
                raise ValueError(f"--dask-local must be at least 1, got {local_workers}")
            self._cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
            self.description = f"a Dask LocalCluster of {local_workers} workers"
        else:
            try:
                self.client = Client(address, timeout=connect_timeout)
            except Exception as e:  # OSError, TimeoutError, or ValueError on a malformed address
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ValueError(f"cannot reach the Dask scheduler at {address} within {connect_timeout:g} s "
                                 f"({reason[:120]})") from None
            self.description = f"the Dask scheduler at {address}"

    @property
    def workers(self) -> int:
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def run(self, fn: Callable, tasks: list[tuple]) -> Iterator[tuple[int, object, BaseException | None]]:
        from distributed import as_completed as dask_as_completed

        futures = [self.client.submit(fn, *task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_as_completed(futures):
            try:
                yield index[future.key], future.result(), None
            except Exception as e:
                yield index[future.key], None, e

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
