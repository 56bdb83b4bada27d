"""``shlepa verify``: the details store holds every results file's details, unchanged."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import RootOption, app, console, resolve_root
from shlepa.config import load_settings


@app.command()
def verify(root: Path | None = RootOption) -> None:
    """Check that every results file's details exist in the configured store and match their sha256.

    Prints one line per problem (results file, store key, why) and exits 1 when there is any.
    """
    from shlepa.details import open_store
    from shlepa.details.verify import verify_details

    base = resolve_root(root)
    store = open_store(load_settings(base).details, base)
    checked, problems = verify_details(base, store)
    for problem in problems:
        typer.echo(problem.line(base))
    console.print(
        f"checked {checked} results file(s) against the {escape(store.describe())}: {len(problems)} problem(s)",
        highlight=False,
    )
    if problems:
        raise typer.Exit(1)
