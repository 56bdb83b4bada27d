"""``shlepa reproduce``: evaluate a results file's request again and compare every number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from shlepa.cli._app import RootOption, app, console, resolve_root


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value:.6g}"


@app.command()
def reproduce(
    results_file: Path = typer.Argument(..., help="A results file, e.g. results/ORG/MODEL/results_<time>.json."),
    work: Path | None = typer.Option(
        None, "--work", help="Scratch leaderboard folder for the rerun (default: a new temporary folder)."
    ),
    model_path: Path | None = typer.Option(
        None, "--model-path", help="Load the weights from this local folder (default: as the file records)."
    ),
    device: str | None = typer.Option(None, "--device", help="torch device (default: the recorded one)."),
    top: int = typer.Option(15, "--top", min=1, help="How many of the largest differences to print."),
    root: Path | None = RootOption,
) -> None:
    """Evaluate again from the file's recorded settings into a scratch folder and compare every metric and
    per-sample log-likelihood; exit 1 when one lies beyond the tolerance of the run's backend and precision."""
    from shlepa.config import load_settings
    from shlepa.details.read import results_details
    from shlepa.evaluation.reproduce import reproduce as run_reproduce

    repo_root = resolve_root(root)

    def read_details(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
        return results_details(path, data, repo_root, load_settings(repo_root).details)

    with console.status("reproducing…") as status:

        def progress(message: str) -> None:
            status.update(message)
            console.log(escape(message))

        outcome = run_reproduce(
            results_file,
            repo_root,
            work=work,
            model_path=model_path,
            device=device,
            progress=progress,
            read_details=read_details,
        )
    comparison = outcome.comparison
    for name, (before, after) in comparison.settings.items():
        console.print(
            f"[yellow]setting differs:[/] {escape(name)}: recorded {escape(repr(before))}, rerun {escape(repr(after))}"
        )
    table = Table(title=f"Largest differences ({len(comparison.compared)} numbers compared)")
    for column in ("", "what", "recorded", "reproduced", "|difference|", "tolerance"):
        table.add_column(column, justify="left" if column in ("", "what") else "right")
    for diff in comparison.largest(top):
        table.add_row(
            "[green]ok[/]" if diff.ok else "[bold red]FAIL[/]",
            escape(diff.where),
            _value(diff.recorded),
            _value(diff.reproduced),
            _value(diff.delta),
            _value(diff.tolerance),
        )
    console.print(table)
    console.print(f"rerun: {escape(str(outcome.results_file))}")
    failures = comparison.failures
    if failures:
        names = ", ".join(d.where for d in failures[:10]) + (" …" if len(failures) > 10 else "")
        console.print(f"[bold red]not reproduced:[/] {len(failures)} beyond tolerance: {escape(names)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[bold green]reproduced:[/] {len(comparison.compared)} numbers within tolerance")
