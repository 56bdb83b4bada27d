"""The queue's order, as data: which PENDING request the runners claim next, and since when it waits.

Shared by the runners (``queue.store``) and the site's queue page (``site.render``), so the
page always lists requests in the order they are claimed. The order uses the time git
recorded the merge of each request file, never a field the request's author wrote.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shlepa.records.request import Request, Status

log = logging.getLogger("shlepa.records.queue_order")

#: RUNNING first, then PENDING (the next to claim), FAILED, FINISHED.
STATUS_ORDER = [Status.running, Status.pending, Status.failed, Status.finished]


@dataclass(frozen=True)
class QueueEntry:
    path: Path
    request: Request

    @property
    def status(self) -> Status:
        return self.request.status

    @property
    def since(self) -> datetime:
        """When the request entered its current status."""
        return self.request.history[-1].at if self.request.history else self.request.submitted_at

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.since

    @property
    def runner(self) -> str | None:
        return self.request.history[-1].runner if self.request.history else None


def merge_times(root: Path) -> dict[str, int] | None:
    """When each request file came onto the checked-out branch: ``requests/...`` -> unix time.

    The committer time of the newest commit on the branch's first-parent history that
    added the file: on main that is the merge (or squash, or rebase) commit GitHub made
    when the PR was merged, a time the PR's author cannot choose. One ``git log`` for
    every file. None outside a git repository (or when git fails). A shallow clone knows
    only its own commits: check out main with its full history to order by merge time.
    """
    cmd = ["git", "-C", str(root), "log", "--first-parent", "--no-renames", "--diff-filter=A"]
    cmd += ["--format=%x01%ct", "-z", "--name-only", "--relative", "HEAD", "--", "requests"]
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("queue order: git log failed (%s); ordering by submitted_at", exc)
        return None
    if proc.returncode != 0:
        return None
    times: dict[str, int] = {}
    current = 0
    for token in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0"):
        token = token.lstrip("\n")
        if token.startswith("\x01"):
            current = int(token[1:])
        elif token:
            times.setdefault(token, current)  # newest add first: a re-added file queues from its re-add
    return times


def queue_order(root: Path, entries: list[QueueEntry], times: Mapping[str, int] | None = None) -> list[QueueEntry]:
    """The queue's one order: status, then merge time, then path; files git does not know after every merged one.

    ``submitted_at`` only breaks ties within one merge commit (the requests of one PR, so
    one author orders only their own requests) and orders files git does not know (outside
    a repository, or not committed yet). ``times`` is :func:`merge_times` (read here when
    not given); the site's queue page orders with this function too.
    """
    times = (merge_times(root) or {}) if times is None else times
    base = Path(root).resolve()

    def key(e: QueueEntry) -> tuple[int, int, int, datetime, str]:
        rel = _posix_rel(base, e.path)
        merged = times.get(rel)
        known = 0 if merged is not None else 1
        return (STATUS_ORDER.index(e.status), known, merged or 0, e.request.submitted_at, rel)

    return sorted(entries, key=key)


def merged_at(root: Path, path: Path, times: Mapping[str, int]) -> datetime | None:
    """When git merged this request file (the time :func:`queue_order` orders by); None when git does not know it."""
    merged = times.get(_posix_rel(Path(root).resolve(), path))
    return datetime.fromtimestamp(merged, UTC) if merged is not None else None


def _posix_rel(base: Path, path: Path) -> str:
    """``path`` relative to the resolved ``base``, as git names it. Lexical first: resolving
    every one of 10,000 request paths costs a system call per folder of each (seconds a build);
    only a path that leaves ``base`` that way (reached through a symlink) is resolved."""
    rel = os.path.relpath(os.path.normpath(base / path), base)
    if rel == ".." or rel.startswith(("../", "/")):
        rel = os.path.relpath(Path(base / path).resolve(), base)
    return Path(rel).as_posix()
