"""The typer application and the one place where an error becomes an exit.

Commands let project errors (:class:`~shlepa.errors.ShlepaError`) propagate; the
group below turns any of them into one ``error:`` line on stderr and exit 1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from shlepa.errors import ShlepaError
from shlepa.io.workspace import find_root


class _ProjectErrorsAsOneLine(typer.core.TyperGroup):
    """Every command runs inside this group: a project error is printed, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except ShlepaError as exc:
            fail(str(exc))


app = typer.Typer(
    cls=_ProjectErrorsAsOneLine,
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
# Options several commands share, defined once so their names and help never drift apart.
HubEndpointOption = typer.Option(None, "--hub-endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co).")
GithubRepoOption = typer.Option(
    None, "--github-repo", help="OWNER/NAME of the leaderboard (default: $GITHUB_REPOSITORY)."
)
GithubApiOption = typer.Option(None, "--github-api", help="GitHub API URL (default: api.github.com).")
#: OWNER/NAME of a GitHub repository, as --repo takes it.
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, non-zero exit: the message already names file, field and cause."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def resolve_root(root: Path | None) -> Path:
    return find_root(root)
