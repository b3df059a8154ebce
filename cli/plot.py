"""`benign plot ...`: pictures of result files."""
from __future__ import annotations

from pathlib import Path

import typer

from grids.netcdf import load_result

app = typer.Typer(help="Pictures of result files.", no_args_is_help=True)


@app.command()
def heatmap(
    file: Path = typer.Argument(..., help="a grid over n and B (benign toy grid)"),
    out: Path = typer.Option(None, "--out", help="PNG to write (default: FILE with .png)"),
    var: str = typer.Option("knn_acc", "--var", help="variable to draw"),
):
    """Figure 14: the grid's mean over seeds on log axes, with the line n = C_t / B."""
    from plots.heatmap import plot_heatmap

    ds = load_result(file, require_vars=[var, "status"])
    path = plot_heatmap(ds, out or file.with_suffix(".png"), var=var)
    typer.echo(f"wrote {path}")
