"""`benign`: the paper's experiments, one command each."""

from __future__ import annotations

import typer

from benign.cli import capacity as capacity_cmd
from benign.cli import claims as claims_cmd
from benign.cli import docs as docs_cmd
from benign.cli import grid, memscore, plot, profiles, toy
from benign.cli import probe as probe_cmd
from benign.cli import report as report_cmd
from benign.cli import train as train_cmd
from benign.cli.errors import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    help="Benign memorization: the toy of appendix E, its capacity, random-label training and probing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(toy.app, name="toy")
app.add_typer(plot.app, name="plot")
app.command("train")(train_cmd.train)
app.command("probe")(probe_cmd.probe)
app.command("capacity")(capacity_cmd.capacity)
app.add_typer(memscore.app, name="memscore")
app.add_typer(profiles.app, name="profiles")
app.add_typer(grid.app, name="grid")
app.command("report")(report_cmd.report)
app.command("claims")(claims_cmd.claims)
app.command("docs")(docs_cmd.docs)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
