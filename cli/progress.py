"""The command line's progress bars: `new_bar` (description, bar, done / total, elapsed, eta), and
`CellsBar`, a grid's cells, started with the first cell so that an error before it (bad input, a
refused directory) stays the one line it is."""

from __future__ import annotations

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def new_bar(*extra, eta: bool = True) -> Progress:
    """The bar every long command shows; `extra` columns after it (e.g. the loss of a training run)."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if eta:
        columns += [TextColumn("eta"), TimeRemainingColumn()]
    return Progress(*columns, *extra)


class CellsBar:
    """`on_start(todo, size, where)` says what is to do and starts the bar, `on_batch(k)` advances it;
    use as a context manager, which stops a started bar."""

    def __init__(
        self, label: str = "cells", say_start: str | None = "{todo} of {size} cells to do on {where}"
    ):
        self.say_start = say_start
        self.bar = new_bar()
        self.task = self.bar.add_task(label, total=None)
        self.started = False

    def on_start(self, todo: int, size: int, where: str) -> None:
        if self.say_start:
            typer.echo(self.say_start.format(todo=todo, size=size, where=where))
        self.bar.update(self.task, total=todo)
        self.bar.start()
        self.started = True

    def on_batch(self, k: int) -> None:
        self.bar.advance(self.task, k)

    def stop(self) -> None:
        if self.started:
            self.bar.stop()
            self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
