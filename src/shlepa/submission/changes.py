"""What a pull request changes, from ``git diff --name-status BASE...HEAD``.

git runs with an argument list (never a shell string); file names come back
NUL-separated so no name, however odd, can split or inject anything.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from shlepa.errors import ShlepaError

_RANGE_RE = re.compile(r"^[A-Za-z0-9_./-]{1,200}\.\.\.[A-Za-z0-9_./-]{1,200}$")
REQUEST_PATH_RE = re.compile(r"^requests/[^/]+/[^/]+/[^/]+\.yaml$")


class ChangesError(ShlepaError, ValueError):
    pass


class Kind(StrEnum):
    request = "request"  # requests/<org>/<model>/<file>.yaml
    other = "other"  # anything else: results, workflows, code, docs...


@dataclass(frozen=True)
class Change:
    status: str  # A, M, D, R, C, T
    path: str
    old_path: str | None = None

    @property
    def kind(self) -> Kind:
        return Kind.request if REQUEST_PATH_RE.match(self.path) else Kind.other


def parse_name_status(raw: bytes) -> list[Change]:
    """Parse ``git diff --name-status -z`` output."""
    parts = raw.decode("utf-8", errors="surrogateescape").split("\0")
    out: list[Change] = []
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i][0]
        if status in "RC":
            out.append(Change(status, parts[i + 2], parts[i + 1]))
            i += 3
        else:
            out.append(Change(status, parts[i + 1]))
            i += 2
    return out


def changed_files(root: Path, diff_range: str) -> list[Change]:
    """Files changed between the merge base of BASE and HEAD, and HEAD."""
    if not _RANGE_RE.match(diff_range) or diff_range.startswith("-"):
        raise ChangesError(f"--changed: expected BASE...HEAD (two refs joined by '...'), got {diff_range!r}")
    cmd = ["git", "-C", str(root), "diff", "--name-status", "-z", "--no-renames", diff_range, "--"]
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise ChangesError(f"--changed {diff_range}: git diff failed: {msg[0] if msg else proc.returncode}")
    return parse_name_status(proc.stdout)


__all__ = ["Change", "ChangesError", "Kind", "changed_files", "parse_name_status"]
