"""``shlepa validate``: check request files and list every problem at once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..request import RequestError, check_placement, collect_request_problems, iter_request_files
from ..yamlio import YamlError, load_yaml
from ._app import RootOption, app, console, resolve_root


def schema_problems(paths: list[Path], root: Path) -> list[str]:
    """Schema and placement problems of each file, every one of them."""
    problems: list[str] = []
    for path in paths:
        try:
            data = load_yaml(path)
        except YamlError as exc:
            problems.append(str(exc))
            continue
        parsed = collect_request_problems(data, path)
        if isinstance(parsed, list):
            problems += [str(p) for p in parsed]
            continue
        misplaced = check_placement(parsed, path, root)
        if misplaced:
            problems.append(str(misplaced))
    return problems


@app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="Request files (default: all under requests/)."),
    root: Path | None = RootOption,
) -> None:
    """Validate request files: schema and placement. Exit 1 if anything is wrong."""
    repo = resolve_root(root)
    files = list(paths) if paths else iter_request_files(repo)
    problems = schema_problems(files, repo)
    for p in problems:
        console.print(f"[red]✗[/] {escape(p)}", soft_wrap=True, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {len(files)} request file(s) valid")


__all__ = ["RequestError", "schema_problems", "validate"]
