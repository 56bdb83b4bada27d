"""``shlepa migrate``: results and details of the earlier format into the current layout."""

from __future__ import annotations

from pathlib import Path

import typer

from shlepa.cli._app import RootOption, app, resolve_root


@app.command()
def migrate(root: Path | None = RootOption) -> None:
    """Convert results and details written by the earlier format (lm-eval's whole output in
    each results file, full text in every details row) into slim results plus compact
    details and shared texts. Idempotent: files already converted are left as they are."""
    from shlepa.records.migrate import migrate as run

    report = run(resolve_root(root))
    for path in report.converted:
        typer.echo(f"converted {path}")
    typer.echo(
        f"converted {len(report.converted)} results file(s), {len(report.unchanged)} already current"
        + (
            f"; {report.bytes_before / 1e3:.0f} KB -> {report.bytes_after / 1e3:.0f} KB (results and details)"
            if report.converted
            else ""
        )
    )
