"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every write to ``results/`` and ``requests/`` goes through here: the bytes go to a
temporary file in the same directory, are flushed and fsynced, then renamed over
the target. A failure (disk full, permission denied) removes the temporary file
and leaves the previous content in place.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shlepa.errors import ShlepaError


class WriteError(ShlepaError, OSError):
    """A write failed; the target was left as it was."""

    def __init__(self, message: str, *, path: str | Path, errno: int | None = None) -> None:
        super().__init__(message, path=path)
        self.errno = errno


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would create: mkstemp's 0600 is for secrets, not results


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise WriteError(
            f"{exc.strerror or exc} (the write failed; the old file is kept)", path=path, errno=exc.errno
        ) from exc


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any, *, indent: int | None = 2) -> None:
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, default=str) + "\n")


def write_jsonl_gz(path: Path, rows: Iterable[dict[str, Any]]) -> bytes:
    """Compressed JSON Lines; ``mtime=0`` keeps the bytes reproducible. Returns the bytes written."""
    lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    data = gzip.compress(lines.encode("utf-8"), mtime=0)
    write_bytes(path, data)
    return data


def read_jsonl_gz(path: Path) -> list[dict[str, Any]]:
    """The rows of a file :func:`write_jsonl_gz` wrote (per-sample details, split details)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
