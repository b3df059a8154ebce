"""`benign claims`: the scoreboard of the papers' claims on the result files of one scale."""

from __future__ import annotations

from pathlib import Path

import typer

from benign.grids.claims import README_MARKERS, ClaimsError, markdown, scoreboard, with_readme_block
from benign.store.atomic import write_text_atomic

SHIPPED = Path(__file__).resolve().parent.parent / "docs" / "results"


def claims(
    results: Path = typer.Option(
        SHIPPED, "--results", help="folder of result files (<preset>-<scale>.nc or <preset>.nc)"
    ),
    scale: str = typer.Option("cpu", help="the scale whose files to judge: tiny, small, cpu or full"),
    out: Path = typer.Option(None, help="folder for claims.md (default: the results folder)"),
    readme: Path = typer.Option(
        None, help="a Markdown file whose <!-- claims:begin/end --> block is rewritten with the table"
    ),
) -> None:
    """One row per claim of the three papers: the paper's number, the criterion, the project's number
    and a verdict (holds, fails, not run); printed, and written to claims.md."""
    if scale not in ("tiny", "small", "cpu", "full"):
        raise ValueError(f"unknown --scale {scale!r}; valid: tiny, small, cpu, full")
    if not results.is_dir():
        raise ValueError(f"no such folder: {results}")
    try:
        rows = scoreboard(results, scale)
    except ClaimsError as e:
        raise ValueError(str(e)) from None
    for r in rows:
        typer.echo(f"{r.id:<4} {r.verdict:<8} {r.project if r.verdict != 'not run' else r.why}")
    table = markdown(rows)
    target = (out or results) / "claims.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, f"# Claims at the {scale} scale\n\n" + table)
    typer.echo(f"wrote {target}")
    if readme is not None:
        text = readme.read_text()
        if any(marker not in text for marker in README_MARKERS):
            raise ValueError(f"{readme} has no {README_MARKERS[0]} ... {README_MARKERS[1]} block")
        write_text_atomic(readme, with_readme_block(text, rows))
        typer.echo(f"rewrote the scoreboard in {readme}")
