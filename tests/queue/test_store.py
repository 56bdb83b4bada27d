"""The queue on a real bare remote: list with ages, claim races, sweep, requeue, idempotence."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.queue.git import GitRepo
from shlepa.queue.store import (
    QueueError,
    claim,
    claim_next,
    dead_runners,
    list_queue,
    merge_times,
    pending,
    requeue,
    results_since_queued,
    sweep,
)
from shlepa.records.request import Status, format_age, load_request, save_request

from support.gitboard import add_requests, clone, git, publish_requests


def _repo(path: Path) -> GitRepo:
    return GitRepo(path, attempts=5, backoff_s=0.0, sleep=lambda s: None)


def _remote_request(remote: Path, rel: Path):
    from shlepa.io.yaml import load_yaml_text
    from shlepa.records.request import parse_request

    return parse_request(load_yaml_text(git(remote, "show", f"main:{rel}"), str(rel)), rel)


def test_queue_lists_statuses_with_ages_oldest_pending_first(git_board):
    _, seed = git_board
    rels = publish_requests(seed, 3)
    entries, bad = list_queue(seed)
    assert not bad
    assert [e.path.relative_to(seed) for e in entries] == rels
    assert all(e.status == Status.pending for e in entries)
    assert entries[0].age(datetime(2026, 1, 1, 2, tzinfo=UTC)) == timedelta(hours=2)
    assert format_age(timedelta(seconds=45)) == "45 s"
    assert format_age(timedelta(seconds=90)) == "1 min"
    assert format_age(timedelta(hours=3, minutes=5)) == "3 h"
    assert format_age(timedelta(days=2, hours=5)) == "2 d"

    result = CliRunner().invoke(app, ["queue", "--root", str(seed)])
    assert result.exit_code == 0, result.output
    assert result.output.count("PENDING") >= 3 and str(rels[0]) in result.output


def test_claim_records_runner_and_run_url_on_the_remote(git_board):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    got = claim_next(_repo(seed), seed, "gpu-1", "https://ci.example/runs/7")
    assert got == rels[0]  # the oldest first
    req = _remote_request(remote, rels[0])
    assert req.status == Status.running
    assert (req.history[-1].runner, req.history[-1].run_url) == ("gpu-1", "https://ci.example/runs/7")


def test_runner_that_loses_the_race_takes_the_next_request(git_board, tmp_path):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    ra, rb = _repo(a), _repo(b)
    ra.sync()
    rb.sync()
    assert claim(ra, a, rels[0], "gpu-a", None)
    # b still sees request 0 as PENDING locally; its claim on it loses, so it takes request 1.
    assert load_request(b / rels[0]).status == Status.pending
    assert not claim(rb, b, rels[0], "gpu-b", None)
    assert claim_next(rb, b, "gpu-b", None) == rels[1]
    assert _remote_request(remote, rels[0]).history[-1].runner == "gpu-a"
    assert _remote_request(remote, rels[1]).history[-1].runner == "gpu-b"
    assert claim_next(rb, b, "gpu-b", None) is None  # nothing PENDING is left
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""


def test_sweep_puts_stale_running_back_to_pending_and_leaves_fresh_ones(git_board):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    repo = _repo(seed)
    claim(repo, seed, rels[0], "dead-runner", None)
    claim(repo, seed, rels[1], "live-runner", None)
    _age_last_change(seed, rels[0], timedelta(hours=2))  # the first claim is two hours old

    swept = sweep(seed, timedelta(minutes=60), repo=repo)
    assert swept == [rels[0]]
    back = _remote_request(remote, rels[0])
    assert back.status == Status.pending and "dead-runner" in back.history[-1].reason
    assert _remote_request(remote, rels[1]).status == Status.running
    assert sweep(seed, timedelta(minutes=60), repo=repo) == []  # nothing stale any more


def _age_last_change(seed: Path, rel: Path, by: timedelta) -> None:
    req = load_request(seed / rel)
    old = req.history[-1].model_copy(update={"at": req.history[-1].at - by})
    save_request(req.model_copy(update={"history": [*req.history[:-1], old]}), seed)
    git(seed, "commit", "-qam", "age the claim")
    git(seed, "push", "-q", "origin", "HEAD:main")


def test_sweep_counts_dead_runners_and_fails_a_request_after_max_attempts(git_board):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    repo = _repo(seed)
    for attempt in range(1, 4):  # three runners die on request 0, each requeue is recorded
        assert claim_next(repo, seed, f"gpu-{attempt}", None) == rels[0]
        _age_last_change(seed, rels[0], timedelta(hours=2))
        assert sweep(seed, timedelta(minutes=60), repo=repo, max_attempts=3) == [rels[0]]
        back = _remote_request(remote, rels[0])
        assert back.status == Status.pending
        assert f"dead runner {attempt} of 3" in back.history[-1].reason and f"gpu-{attempt}" in back.history[-1].reason
        assert dead_runners(back) == attempt

    # The fourth runner dies too: the next sweep ends it FAILED instead of requeueing it a fourth time.
    assert claim_next(repo, seed, "gpu-4", None) == rels[0]
    _age_last_change(seed, rels[0], timedelta(hours=2))
    result = CliRunner().invoke(app, ["sweep", "--push", "--stale-after-minutes", "60", "--root", str(seed)])
    assert result.exit_code == 0, result.output
    assert f"FAILED\t{rels[0]}" in result.output
    failed = _remote_request(remote, rels[0])
    assert failed.status == Status.failed and failed.failure.error_class == "RunnersDied"
    assert "died 4 times" in failed.failure.message and "runner.max_attempts" in failed.failure.message
    # It no longer holds the queue: the next claim takes the other request.
    assert claim_next(repo, seed, "gpu-5", None) == rels[1]

    # The rerun button starts the count again.
    requeue(seed, rels[0], "fixed the template", repo=repo)
    assert dead_runners(_remote_request(remote, rels[0])) == 0


def test_requeue_moves_failed_to_pending_and_refuses_running(git_board):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    repo = _repo(seed)
    claim(repo, seed, rels[0], "gpu", None)
    req = load_request(seed / rels[0])
    save_request(req.with_status(Status.failed, "boom"), seed)
    git(seed, "commit", "-qam", "failed")
    git(seed, "push", "-q", "origin", "HEAD:main")
    claim(repo, seed, rels[1], "gpu", None)

    result = CliRunner().invoke(app, ["requeue", str(rels[0]), "--push", "--reason", "fixed", "--root", str(seed)])
    assert result.exit_code == 0, result.output
    back = _remote_request(remote, rels[0])
    assert back.status == Status.pending and back.history[-1].reason == "requeued: fixed"
    assert back.failure is None

    with pytest.raises(QueueError, match="RUNNING"):
        requeue(seed, rels[1])
    assert requeue(seed, rels[1], force=True).status == Status.pending


def test_results_since_queued_sees_only_results_newer_than_the_last_queueing(tmp_path):
    from shlepa.records.results import write_results

    from support.gitboard import add_requests

    rel = add_requests(tmp_path, 1)[0]
    req = load_request(tmp_path / rel)
    assert results_since_queued(tmp_path, req) is None
    finished = datetime(2026, 1, 2, tzinfo=UTC)
    payload = {
        "request": req.model_dump(mode="json", exclude={"history", "status", "failure"}),
        "request_file": str(rel),
        "suite": req.suite,
        "evaluation": {
            "started_at": finished.isoformat(),
            "finished_at": finished.isoformat(),
            "duration_s": 1,
            "data": "bundled",
            "backend": "dummy",
            "model_args": {},
        },
        "scores": {},
        "average": None,
        "reproduce": {},
        "lm_eval": {},
    }
    path = write_results(tmp_path, payload, [], finished)
    assert results_since_queued(tmp_path, req) == path
    requeued = req.with_status(Status.pending, "requeued")  # now: after those results
    assert results_since_queued(tmp_path, requeued) is None


def test_the_queue_orders_by_merge_time_not_by_the_authors_submitted_at(git_board):
    """#15 item 3: a request claiming submitted_at 1970 but merged later is claimed after an earlier-merged one."""
    remote, seed = git_board
    honest = add_requests(seed, 1, start=0)[0]
    git(seed, "switch", "--quiet", "-c", "pr-honest")
    git(seed, "add", "requests")
    git(seed, "commit", "--quiet", "-m", "honest request")
    git(seed, "switch", "--quiet", "main")
    forger = add_requests(seed, 1, start=1)[0]
    path = seed / forger
    path.write_text(path.read_text().replace("2026-01-01T00:01:00Z", "1970-01-01T00:00:00Z"))
    assert load_request(path).submitted_at.year == 1970
    git(seed, "switch", "--quiet", "-c", "pr-forger")
    git(seed, "add", "requests")
    git(seed, "commit", "--quiet", "-m", "forged request")
    git(seed, "switch", "--quiet", "main")
    # Merged on main honest first, then the forger: merge commits one hour apart.
    for branch, when in (("pr-honest", "2026-03-01T10:00:00Z"), ("pr-forger", "2026-03-01T11:00:00Z")):
        date = {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
        subprocess.run(
            ["git", "merge", "--quiet", "--no-ff", "-m", f"merge {branch}", branch],
            cwd=seed,
            check=True,
            env={**os.environ, **date},
            capture_output=True,
        )
    git(seed, "push", "--quiet", "origin", "HEAD:main")

    times = merge_times(seed)
    assert times is not None and times[str(honest)] < times[str(forger)]
    assert [e.path.relative_to(seed) for e in pending(seed)] == [honest, forger]
    worker = clone(remote, git_board[1].parent / "worker")
    assert claim_next(_repo(worker), worker, "gpu-1", None) == honest


def test_outside_git_the_queue_falls_back_to_submitted_at(tmp_path):
    rels = add_requests(tmp_path, 4)
    assert merge_times(tmp_path) is None
    assert [e.path.relative_to(tmp_path) for e in pending(tmp_path)] == rels
