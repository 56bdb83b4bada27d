"""Spreading the queue over a fleet: how many matrix jobs one evaluate run starts.

Every matrix job runs the same drain loop; the claim (a pushed RUNNING commit)
decides which runner evaluates which request, so the jobs need no fixed
assignment and a dead runner's share is simply picked up by the others.
"""

from __future__ import annotations

import json
from pathlib import Path

from shlepa.queue.store import pending


def runner_count(root: Path, wanted: int, max_runners: int) -> int:
    """min(wanted (0 = max_runners), max_runners, PENDING requests); 0 when nothing is PENDING."""
    n_pending = len(pending(root))
    return max(0, min(wanted or max_runners, max_runners, n_pending))


def matrix_json(count: int) -> str:
    """The ``runner`` list for ``strategy.matrix`` (``[]`` skips the GPU job)."""
    return json.dumps(list(range(count)), separators=(",", ":"))
