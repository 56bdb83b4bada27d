"""A checkpoint series from local folders (the folder's content hash plays the commit sha)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shlepa.records.request import Request
from shlepa.submission.series import series_requests


def local_series(
    model: str,
    folders: dict[int, Path],
    sha_of: Callable[[Path], str],
    **kw: object,
) -> list[Request]:
    """A series from local checkpoint folders (tests, demos): each folder's content hash is its 'sha'."""
    by_ref = {f"step_{step}": Path(folder) for step, folder in folders.items()}
    return series_requests(model, [(s, f"step_{s}") for s in folders], lambda ref: sha_of(by_ref[ref]), **kw)  # type: ignore[arg-type]
