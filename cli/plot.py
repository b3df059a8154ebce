"""`benign plot FILE`: the picture(s) or table a result file calls for (see plots/auto.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from benign.plots.auto import KINDS
from benign.store.netcdf import load_result

app = typer.Typer(
    help="Pictures and tables of result files.",
    no_args_is_help=True,
    context_settings={"allow_interspersed_args": True},
)  # options after FILE


@app.callback(invoke_without_command=True)
def plot(
    file: Path = typer.Argument(
        ...,
        help="a result file (.nc): a toy grid, a toy capacity sweep, a training grid (DIR/grid.nc), "
        "a profiles file or a turn-over dropout run",
    ),
    out: Path = typer.Option(
        None, "--out", help="folder to write FILE's picture(s) or table in (default: FILE's folder)"
    ),
    kind: str = typer.Option("auto", "--kind", help=f"what to draw: {'|'.join(KINDS)}"),
    var: str = typer.Option(None, "--var", help="variable to draw (default: the figure's own)"),
):
    """Heatmaps (figures 6, 14), curves over epochs (figures 7-9, 11, 12), layer-wise probing (figure 4),
    final accuracy against label noise (figures 10, 13), Markdown tables (tables 2-4) and the scaling
    collapse of a toy grid against n*B / C_t, the capacity C_t against K or t (`benign toy capacity`);
    `auto` picks from the file's preset and dimensions."""
    from benign.cli.options import in_out_folder
    from benign.grids.engine import GRID_FILE, collect_grid
    from benign.grids.report import study_plots
    from benign.plots.auto import plot_result

    # a grid's working file: collected first (the scores and capacities computed at collect)
    # a grid's working file is drawn under the grid's name: DIR/grid.nc -> DIR's name .png
    name = (file.parent.resolve().name if file.name == GRID_FILE else file.stem) + ".png"
    target = in_out_folder(out if out is not None else file.parent, name)
    ds = collect_grid(file.parent) if file.name == GRID_FILE else load_result(file)
    target.parent.mkdir(parents=True, exist_ok=True)
    study = study_plots(ds) if kind == "auto" else None
    if study is not None:  # a profiles file or a turn-over dropout run: its study's figures
        for path in study(ds, target.parent):
            typer.echo(f"wrote {path}")
        return
    for path in plot_result(ds, target, kind=kind, var=var):
        typer.echo(f"wrote {path}")
    if {"knn_acc_init", "mem_frac", "capacity_lower"} <= set(ds.variables) and {"n", "B"} <= set(ds.dims):
        from benign.plots.benign_gain import gains_table

        typer.echo("mean gain over the probe at initialisation (memorised B = 1 cells; n*B > 10 C_t):")
        typer.echo(gains_table(ds))
