"""The typer application and the shared way to report an error and exit."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from shlepa.io.workspace import WorkspaceError, find_root

app = typer.Typer(
    name="shlepa",
    help="Shlepa: the GitHub-native open LLM leaderboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

RootOption = typer.Option(
    None, "--root", help="Leaderboard repository (default: the one containing the current folder)."
)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, non-zero exit: the message already names file, field and cause."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def resolve_root(root: Path | None) -> Path:
    try:
        return find_root(root)
    except WorkspaceError as exc:
        fail(str(exc))
