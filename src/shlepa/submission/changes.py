"""What a pull request changes, from ``git diff --raw BASE...HEAD``.

git runs with an argument list (never a shell string); file names come back
NUL-separated so no name, however odd, can split or inject anything. ``--raw`` also
gives each file's mode, so a symbolic link, an executable or a submodule dressed up
as a request file is seen (a type change is status ``T``, the new mode 120000).
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
#: The only git file mode a request file may have: a regular, non-executable file.
REGULAR_FILE_MODE = "100644"
#: The only diff statuses a submission may have: added and modified.
ALLOWED_STATUSES = ("A", "M")
STATUS_WORDS = {"D": "deletes", "R": "renames", "C": "copies", "T": "changes the type of", "U": "leaves unmerged"}


class ChangesError(ShlepaError, ValueError):
    pass


class Kind(StrEnum):
    request = "request"  # requests/<org>/<model>/<file>.yaml
    other = "other"  # anything else: results, workflows, code, docs...


@dataclass(frozen=True)
class Change:
    status: str  # A, M, D, R, C, T (U, X: broken merges)
    path: str
    old_path: str | None = None
    mode: str = REGULAR_FILE_MODE  # the file's git mode after the change (000000 when deleted)

    @property
    def kind(self) -> Kind:
        return Kind.request if REQUEST_PATH_RE.match(self.path) else Kind.other


def parse_name_status(raw: bytes) -> list[Change]:
    """Parse ``git diff --name-status -z`` output (no modes: every file counts as regular)."""
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


def parse_raw(raw: bytes) -> list[Change]:
    """Parse ``git diff --raw -z`` output: ``:oldmode newmode oldsha newsha STATUS\\0path\\0[path\\0]``."""
    parts = raw.decode("utf-8", errors="surrogateescape").split("\0")
    out: list[Change] = []
    i = 0
    while i < len(parts) and parts[i].startswith(":"):
        fields = parts[i][1:].split()
        if len(fields) < 5:
            raise ChangesError(f"git diff --raw: unexpected line {parts[i][:100]!r}")
        new_mode, status = fields[1], fields[4][0]
        if status in "RC":
            out.append(Change(status, parts[i + 2], parts[i + 1], new_mode))
            i += 3
        else:
            out.append(Change(status, parts[i + 1], None, new_mode))
            i += 2
    return out


def changed_files(root: Path, diff_range: str) -> list[Change]:
    """Files changed between the merge base of BASE and HEAD, and HEAD, with their new modes."""
    if not _RANGE_RE.match(diff_range) or diff_range.startswith("-"):
        raise ChangesError(f"--changed: expected BASE...HEAD (two refs joined by '...'), got {diff_range!r}")
    cmd = ["git", "-C", str(root), "diff", "--raw", "-z", "--no-renames", "--no-abbrev", diff_range, "--"]
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise ChangesError(f"--changed {diff_range}: git diff failed: {msg[0] if msg else proc.returncode}")
    return parse_raw(proc.stdout)


def change_problem(change: Change) -> str | None:
    """Why a submission may not make this change, or None: only added or edited regular files."""
    if change.status not in ALLOWED_STATUSES:
        verb = STATUS_WORDS.get(change.status, f"makes a change of type {change.status} to")
        return f"this PR {verb} the file (git status {change.status}); a submission may only add or edit files"
    if change.mode != REGULAR_FILE_MODE:
        what = {"120000": "a symbolic link", "100755": "an executable file", "160000": "a submodule"}.get(
            change.mode, f"git mode {change.mode}"
        )
        return f"the file is {what}; request files must be regular files (git mode {REGULAR_FILE_MODE})"
    return None


__all__ = [
    "ALLOWED_STATUSES",
    "REGULAR_FILE_MODE",
    "Change",
    "ChangesError",
    "Kind",
    "change_problem",
    "changed_files",
    "parse_name_status",
    "parse_raw",
]
