"""Where the leaderboard repository is: the folder holding ``eval/``, ``requests/``, ``results/``."""

from __future__ import annotations

from pathlib import Path

from shlepa.errors import ShlepaError


class WorkspaceError(ShlepaError, ValueError):
    pass


def is_root(path: Path) -> bool:
    return (path / "eval" / "suites").is_dir()


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that has ``eval/suites``."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_root(candidate):
            return candidate
    raise WorkspaceError(
        f"{here}: not inside a leaderboard repository (no eval/suites/ found here or above); "
        "run from the repository or pass --root"
    )
