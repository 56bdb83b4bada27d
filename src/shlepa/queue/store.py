"""The evaluation queue: the request files on main, read by status.

The queue is ordered by when git recorded each request's merge into the branch (see
:func:`merge_times`), never by ``submitted_at``, which the author writes.

A request is PENDING until a runner claims it by committing it as RUNNING (runner
name, run URL, start time) and pushing; the push decides who won. A RUNNING
request whose runner died is put back to PENDING by :func:`sweep` once it is
older than ``runner.stale_after_minutes``; each such requeue records one dead
runner in the request's history, and a request that already had
``runner.max_attempts`` of them is ended FAILED by the next sweep instead, so a
request that kills its runner every time cannot take the queue over. :func:`requeue` does what the rerun
button does for a FAILED (or FINISHED) request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shlepa.config import RunnerSettings
from shlepa.errors import ShlepaError
from shlepa.queue.git import Change, GitRepo
from shlepa.records.queue_order import QueueEntry, merge_times, merged_at, queue_order
from shlepa.records.request import (
    Failure,
    Request,
    RequestError,
    Status,
    load_all_requests,
    load_request,
    save_request,
    utcnow,
)
from shlepa.records.results import ResultsError, iter_results_files, load_results

log = logging.getLogger("shlepa.queue.store")


class QueueError(ShlepaError, ValueError):
    """A queue operation is not allowed (e.g. requeue of a RUNNING request)."""


def list_queue(root: Path) -> tuple[list[QueueEntry], list[RequestError]]:
    """Every request with its status; RUNNING first, then PENDING first merged first, FAILED, FINISHED."""
    good, bad = load_all_requests(root)
    return queue_order(root, [QueueEntry(path, req) for path, req in good]), bad


def pending(root: Path) -> list[QueueEntry]:
    """PENDING requests, first merged first (ties by path, so every runner agrees)."""
    return [e for e in list_queue(root)[0] if e.status == Status.pending]


def _rel(root: Path, path: Path) -> Path:
    path = Path(path)
    return path.resolve().relative_to(Path(root).resolve()) if path.is_absolute() else path


def _claim_apply(root: Path, rel: Path, runner: str, run_url: str | None):
    def apply() -> Change[None]:
        path = Path(root) / rel
        if not path.is_file():
            return Change()
        req = load_request(path)
        if req.status != Status.pending:
            return Change()  # somebody else claimed it (or it was withdrawn)
        save_request(req.with_status(Status.running, "claimed", runner=runner, run_url=run_url), root)
        return Change([req.relpath])

    return apply


def claim(repo: GitRepo, root: Path, request_path: Path, runner: str, run_url: str | None) -> bool:
    """Claim one PENDING request (commit RUNNING, push). False if it was not PENDING or the race was lost."""
    rel = _rel(root, request_path)
    return repo.publish(_claim_apply(root, rel, runner, run_url), f"queue: claim {rel} ({runner})").sha is not None


def claim_next(
    repo: GitRepo, root: Path, runner: str, run_url: str | None, skip: set[Path] | None = None
) -> Path | None:
    """Claim the oldest PENDING request; a lost race moves on to the next one. None when the queue is empty."""
    skip = set(skip or ())
    while True:
        repo.sync()
        candidates = [e for e in pending(root) if _rel(root, e.path) not in skip]
        if not candidates:
            return None
        rel = _rel(root, candidates[0].path)
        published = repo.publish(
            _claim_apply(root, rel, runner, run_url), f"queue: claim {rel} ({runner})", sync_first=False
        )
        if published.sha is not None:
            return rel
        log.info("lost the claim on %s; trying the next request", rel)
        skip.add(rel)


def stale_running(root: Path, stale_after: timedelta, now: datetime | None = None) -> list[QueueEntry]:
    now = now or datetime.now(UTC)
    return [e for e in list_queue(root)[0] if e.status == Status.running and e.age(now) > stale_after]


#: How the sweep's requeues start in a request's history: :func:`dead_runners` counts them.
SWEEP_REASON = "requeued by sweep"
#: ``runner.max_attempts`` unless leaderboard.yaml says otherwise (the default lives in config.py).
DEFAULT_MAX_ATTEMPTS: int = RunnerSettings.model_fields["max_attempts"].default


def dead_runners(request: Request) -> int:
    """Runners that died on this request since it was last queued by a person (or submitted).

    Counted from the history: the sweep's requeues after the last other PENDING
    entry, so the rerun button (a requeue by hand) starts the count again.
    """
    count = 0
    for change in reversed(request.history):
        if change.status != Status.pending:
            continue
        if not change.reason.startswith(SWEEP_REASON):
            break
        count += 1
    return count


def _sweep_apply(root: Path, stale_after: timedelta, now: datetime | None, max_attempts: int):
    def apply() -> Change[list[Path]]:
        swept: list[Path] = []
        minutes = int(stale_after.total_seconds() // 60)
        for entry in stale_running(root, stale_after, now):
            where = f"RUNNING on {entry.runner or 'an unknown runner'} for more than {minutes} min"
            died = dead_runners(entry.request) + 1
            if died <= max_attempts:
                reason = f"{SWEEP_REASON} (dead runner {died} of {max_attempts} allowed): {where}"
                save_request(entry.request.with_status(Status.pending, reason), root)
            else:
                message = (
                    f"the runner died {died} times on this request (the last time {where}); the sweep requeued it "
                    f"{max_attempts} times (runner.max_attempts) and does not again: read the runs' logs, fix the "
                    "cause, then requeue it"
                )
                failed = entry.request.with_status(Status.failed, f"RunnersDied: {message}"[:2000], runner=entry.runner)
                failure = Failure(error_class="RunnersDied", message=message[:4000])
                save_request(failed.model_copy(update={"failure": failure}), root)
            swept.append(entry.request.relpath)
        return Change(swept, swept)

    return apply


def sweep(
    root: Path,
    stale_after: timedelta,
    repo: GitRepo | None = None,
    now: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[Path]:
    """Put RUNNING requests whose runner died back to PENDING, or FAILED after ``max_attempts`` dead runners.

    Returns the requests it changed (read their status for which); with ``repo``, commits and pushes.
    """
    apply = _sweep_apply(root, stale_after, now, max_attempts)
    if repo is None:
        return apply().value or []
    published = repo.publish(apply, "queue: sweep stale RUNNING requests")
    return (published.value or []) if published.sha else []


def requeue_request(root: Path, request_path: Path, reason: str = "", force: bool = False) -> Request:
    """FAILED/FINISHED -> PENDING (the rerun button). RUNNING only with ``force``."""
    path = Path(root) / _rel(root, request_path)
    req = load_request(path)
    if req.status == Status.pending:
        return req
    if req.status == Status.running and not force:
        raise QueueError(
            f"{_rel(root, path)}: field 'status': is RUNNING on {req.history[-1].runner if req.history else '?'}; "
            "wait for it, let the sweep requeue it, or pass --force"
        )
    updated = req.with_status(Status.pending, f"requeued: {reason}" if reason else "requeued")
    save_request(updated, root)
    return updated


def requeue(
    root: Path, request_path: Path, reason: str = "", force: bool = False, repo: GitRepo | None = None
) -> Request:
    """Requeue one request; with ``repo``, commit and push it (retrying on a moved remote)."""
    rel = _rel(root, request_path)
    if repo is None:
        return requeue_request(root, rel, reason, force)

    def apply() -> Change[Request]:
        before = load_request(Path(root) / rel)
        updated = requeue_request(root, rel, reason, force)
        return Change([] if before.status == Status.pending else [rel], updated)

    return repo.publish(apply, f"queue: requeue {rel}").value or load_request(Path(root) / rel)


def results_since_queued(root: Path, request: Request) -> Path | None:
    """Results of this request finished after it was last queued: evaluating again would duplicate them."""
    queued_at = max((h.at for h in request.history if h.status == Status.pending), default=request.submitted_at)
    best: Path | None = None
    for path in iter_results_files(root):
        try:
            res = load_results(path)
        except ResultsError:
            continue
        if (
            res.key == request.key
            and res.evaluation.finished_at >= queued_at
            and (best is None or path.name > best.name)
        ):
            best = path
    return best


__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "SWEEP_REASON",
    "QueueEntry",
    "QueueError",
    "claim",
    "claim_next",
    "dead_runners",
    "list_queue",
    "merge_times",
    "merged_at",
    "pending",
    "queue_order",
    "requeue",
    "requeue_request",
    "results_since_queued",
    "stale_running",
    "sweep",
    "utcnow",
]
