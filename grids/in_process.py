"""An executor that runs a grid's tasks in this process, one after the other (no worker to start):
for small grids, and for front ends that run where they are called. Same interface as
grids/executors.py: `run` yields (index, result, error) as each task finishes."""

from __future__ import annotations

from collections.abc import Callable, Iterator


class InProcess:
    workers = 1
    description = "this process"
    has_gpus = False

    def run(
        self,
        fn: Callable,
        tasks: list[tuple],
        on_submit: Callable[[int], None] | None = None,
        resources: dict | None = None,
    ) -> Iterator[tuple[int, object, BaseException | None]]:
        for i, task in enumerate(tasks):
            if on_submit is not None:
                on_submit(i)
            try:
                result = fn(*task)
            except Exception as e:  # the cell fails, as it would on a worker; Ctrl-C stops the grid
                yield i, None, e
            else:
                yield i, result, None

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
