"""`benign report`: every preset of a scale run end to end, into one Markdown page of pictures and tables."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from benign.cli.options import SCALE_HELP
from benign.cli.progress import new_bar
from benign.grids.executors import make_executor
from benign.store.provenance import command_line


def report(
    scale: str = typer.Option(
        "small",
        "--scale",
        help=SCALE_HELP,
    ),
    out: Path = typer.Option(
        Path("results/report"), "--out", help="folder of the report; rerunning resumes it"
    ),
    presets: str = typer.Option(
        "", "--presets", help="comma-separated presets to include (default: every preset of the scale)"
    ),
    workers: int = typer.Option(None, "--workers", help="local worker processes (default 2)"),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://HOST:PORT"),
    dask_local: int = typer.Option(None, "--dask-local", help="start a Dask LocalCluster of N workers"),
):
    """Run the presets' grids (resumably), collect and draw each, and write OUT/report.md."""
    from benign.grids.report import presets_at, report_specs, run_report

    names = [p.strip() for p in presets.split(",") if p.strip()] or presets_at(scale)
    specs = report_specs(names, scale)
    total = sum(s.size() for n, s in specs.items() if n != "table4" or "table2" not in names)
    t0 = time.perf_counter()
    with make_executor(workers, scheduler, dask_local) as executor:
        typer.echo(f"{len(names)} presets, {total} cells, scale {scale}, on {executor.description} -> {out}")
        with new_bar() as bar:
            task = bar.add_task("cells", total=total)

            def on_preset(name, size):
                bar.update(task, description=name)
                return lambda k: bar.advance(task, k)

            page, problems = run_report(
                scale, out, executor, names, command=command_line(), on_preset=on_preset
            )
    typer.echo(f"wrote {page} in {time.perf_counter() - t0:.0f} s")
    if problems:  # the page is written; the exit code says it is not whole
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(1)
