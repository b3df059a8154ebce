"""`benign docs`: the number tables of Markdown pages, generated from the shipped result files."""

from __future__ import annotations

from pathlib import Path

import typer

from benign.plots.doc_tables import render, table_names
from benign.store.atomic import write_text_atomic

REPOSITORY = Path(__file__).resolve().parent.parent
SHIPPED = REPOSITORY / "docs" / "results"


def docs(
    pages: list[Path] = typer.Argument(None, help="Markdown pages (default: README.md and docs/*.md)"),
    results: Path = typer.Option(SHIPPED, "--results", help="folder of the result files the tables read"),
    check: bool = typer.Option(False, "--check", help="rewrite nothing; exit 1 where a page is stale"),
) -> None:
    """Rewrite every <!-- table: NAME --> ... <!-- /table --> block of the pages with the table computed
    from its result file, so that no number in the docs is pasted by hand."""
    if not results.is_dir():
        raise ValueError(f"no such folder: {results}")
    pages = pages or [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
    stale = []
    for page in pages:
        if not page.is_file():
            raise ValueError(f"no such page: {page}")
        text = page.read_text()
        names = table_names(text)
        if not names:
            continue
        try:
            new = render(text, results)
        except FileNotFoundError as e:
            raise ValueError(str(e)) from None
        if new == text:
            continue
        stale.append(page)
        if not check:
            write_text_atomic(page, new)
        typer.echo(f"{'stale' if check else 'rewrote'} {page} ({', '.join(names)})")
    if check and stale:
        raise typer.Exit(1)
