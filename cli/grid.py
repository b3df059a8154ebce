"""`benign grid ...`: run a grid spec (a preset or a TOML file) resumably, on local processes or Dask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
import xarray as xr
from rich.console import Console
from rich.table import Table

from benign.cli.errors import BadInput
from benign.cli.options import SCALE_HELP
from benign.cli.progress import CellsBar
from benign.grids import spec as grid_spec
from benign.grids.engine import (
    DriverLock,
    collect_grid,
    collected_name,
    driver_alive,
    failed_cells,
    load_grid,
)
from benign.store.cell_grid import DONE, FAILED, RUNNING, TODO
from benign.store.netcdf import save_atomic
from benign.store.provenance import command_line

app = typer.Typer(
    help="Grids of runs from a preset or a TOML file: resumable, on local processes or Dask.",
    no_args_is_help=True,
)

CONFIRM_ABOVE = 5000  # cells; a larger grid needs --yes


@app.command()
def run(
    source: str = typer.Argument(..., help=f"a preset ({', '.join(grid_spec.PRESETS)}) or a FILE.toml"),
    out: Path = typer.Option(
        ..., "--out", help="directory of the grid (grid.nc, spec.json); rerunning resumes it"
    ),
    scale: str = typer.Option(
        "small",
        "--scale",
        help=SCALE_HELP,
    ),
    workers: int = typer.Option(None, "--workers", help="local worker processes (default 2)"),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://HOST:PORT"),
    dask_local: int = typer.Option(None, "--dask-local", help="start a Dask LocalCluster of N workers"),
    yes: bool = typer.Option(False, "--yes", help=f"run a grid of more than {CONFIRM_ABOVE} cells"),
):
    """Run the cells not done yet of a grid; failed cells are retried."""
    spec = grid_spec.load(source, scale)
    if spec.size() > CONFIRM_ABOVE and not yes:
        raise BadInput(f"the grid has {spec.size()} cells (more than {CONFIRM_ABOVE}); add --yes to run it")
    from benign import api

    with CellsBar(say_start="{todo} of {size} cells to do on {where} -> " + str(out)) as bar:
        try:
            api.grid(
                spec,
                out,
                workers=workers,
                scheduler=scheduler,
                dask_local=dask_local,
                on_start=bar.on_start,
                on_batch=bar.on_batch,
                command=command_line(),
            )
        except api.MissingData as e:  # every cell would fail on it: said before any starts
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        except api.GridFailed as e:
            bar.stop()
            c = e.counts
            typer.echo(f"done {c['done']}, failed {c['failed']}, to do {c['todo']}")
            for line in e.failed:
                typer.echo(f"failed {line}", err=True)
            typer.echo(
                "rerun the same command to retry the failed cells; "
                f"`benign grid status {out}` shows their errors",
                err=True,
            )
            raise typer.Exit(1) from None
    status = load_grid(out)["status"].values  # (a one-run or profiles grid collects to its study's file)
    counts = {k: int((status == v).sum()) for k, v in (("done", DONE), ("todo", TODO))}
    typer.echo(f"done {counts['done']}, failed 0, to do {counts['todo']}")


@app.command()
def show(
    preset: str = typer.Argument(..., help=f"a preset ({', '.join(grid_spec.PRESETS)})"),
    scale: str = typer.Option("small", "--scale", help=SCALE_HELP),
):
    """Print a preset as the TOML file `grid run` takes: copy it, edit it, run it."""
    import textwrap

    from benign.grids.presets import SCALE_NOTES, preset_dict

    raw = preset_dict(preset, scale)
    head = f"preset {preset} at scale {scale}: benign grid run FILE.toml --out DIR\n"
    head += textwrap.fill(f"{scale}: {SCALE_NOTES[scale]}", 98)
    typer.echo(
        grid_spec.to_toml(raw, head),
        nl=False,
    )


@app.command()
def status(out: Path = typer.Argument(..., help="directory of a grid")):
    """Counts of done, running, failed and to-do cells, and the errors of failed ones."""
    ds = load_grid(out)
    s = ds["status"].values
    table = Table(title=f"grid {out} ({ds.attrs.get('grid_name') or 'from a file'})")
    for column in ("done", "running", "failed", "to do", "total"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            str(int(x))
            for x in ((s == DONE).sum(), (s == RUNNING).sum(), (s == FAILED).sum(), (s == TODO).sum(), s.size)
        )
    )
    console = Console(width=120)
    console.print(table)
    if (s == RUNNING).any() and driver_alive(out) is False:
        console.print("the cells marked running were left so by a driver that stopped: rerun to do them")
    for line in _running_training_cells(out, ds):
        console.print(line, markup=False)
    for line in failed_cells(out):
        console.print(f"failed {line}", markup=False)


def _running_training_cells(out: Path, ds) -> list[str]:
    """Training cells in progress: epochs done and the last k-NN probe, from each cell's history.nc."""
    if ds.attrs.get("grid_kind") != "train":
        return []
    from benign.grids.engine import CELLS_DIR
    from benign.grids.train_cells import cell_folder

    lines = []
    running = ds["status"].where(ds["status"] == RUNNING).to_dataframe().dropna().index
    for cell in list(running)[:20]:
        coords = dict(zip(ds["status"].dims, cell if isinstance(cell, tuple) else (cell,)))
        history = out / CELLS_DIR / cell_folder(coords) / "history.nc"
        where = ", ".join(f"{k}={v}" for k, v in coords.items())
        try:
            h = xr.load_dataset(history)
            # a grid's curve is along epoch, or along step under a step budget (curve_axis)
            axis = "step" if "step" in ds.dims else "epoch"
            done = float(h[axis][-1])
            lines.append(
                f"running {where}: {axis} {done:g} of {int(ds[axis][-1])}, k-NN {float(h.knn_accuracy[-1]):.3f}"
            )
        except (OSError, ValueError, IndexError):
            lines.append(f"running {where}: no epoch finished yet")
    return lines


@app.command()
def collect(
    out_dir: Path = typer.Argument(..., help="directory of a grid"),
    out: Path = typer.Option(
        None, "--out", help="folder to write grid.nc in (default: DIR itself, in place)"
    ),
):
    """One netCDF of the whole grid (docs/results-format.md), with its status and errors per cell."""
    from benign.cli.options import in_out_folder

    ds = collect_grid(out_dir)
    name = collected_name(ds)
    target = None if out is None or out.resolve() == out_dir.resolve() else in_out_folder(out, name)
    status = load_grid(out_dir)["status"].values
    counts = {
        key: int((status == code).sum()) for key, code in (("done", DONE), ("failed", FAILED), ("todo", TODO))
    }
    if target is None:  # in place: not while a driver rewrites that file
        out = out_dir / name
        with DriverLock(out_dir):
            save_atomic(ds, out)
    else:
        out = save_atomic(ds, target)
    typer.echo(f"wrote {out}: {counts['done']} cells done, {counts['failed']} failed, {counts['todo']} to do")
    if not np.all(status == DONE):
        typer.echo("the grid is not complete: cells not done hold NaN")
