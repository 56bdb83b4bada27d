"""The loop a workflow step runs: claim, evaluate, commit results + status in ONE commit, push.

``shlepa evaluate --next --commit --push`` drains the queue: it claims the oldest
PENDING request (see :mod:`shlepa.queue.store`), evaluates it, and publishes the
results files together with the FINISHED request, or the FAILED request with the
error and the log tail, in one commit; then it takes the next one until none is
left. A push that loses a race is rebased and retried; when another runner
touched the same request meanwhile (a sweep requeued it and someone else finished
it), the change is re-applied on the newest state and a duplicate result is
dropped rather than committed twice.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shlepa.env import environment
from shlepa.evaluation import EvaluationError
from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request, record_failure
from shlepa.evaluation.split import merge_split
from shlepa.io import atomic
from shlepa.queue.git import Change, GitRepo
from shlepa.queue.store import claim, claim_next, results_since_queued
from shlepa.records.details import SHARED_DIR
from shlepa.records.keys import short_sha
from shlepa.records.request import Request, Status, load_request, save_request
from shlepa.records.results import results_dir

log = logging.getLogger("shlepa.queue.runner")

LOG_TAIL_LINES = 60


def runner_name() -> str:
    return environment().runner_name or socket.gethostname()


def github_run_url() -> str | None:
    """The current Actions run, from the variables GitHub sets on every runner."""
    env = environment()
    server, repo, run = env.github_server_url, env.github_repository, env.github_run_id
    if not (server and repo and run):
        return None
    attempt = env.github_run_attempt
    return f"{server}/{repo}/actions/runs/{run}" + (f"/attempts/{attempt}" if attempt else "")


@dataclass
class Outcome:
    """What happened to one request in this run."""

    request: Path
    status: Status
    results: list[Path] = field(default_factory=list)
    commit: str | None = None
    note: str = ""


@dataclass
class RunnerOptions:
    eval: EvalOptions = field(default_factory=EvalOptions)
    runner: str = field(default_factory=runner_name)
    run_url: str | None = None
    log_url: str | None = None
    log_dir: Path | None = None
    launcher: list[str] | None = None  # run `-m shlepa evaluate` in a child process with this prefix
    isolate: bool = False  # child process even without a launcher (survives a hard crash)
    max_requests: int | None = None


def log_name(request: Request) -> str:
    return f"{request.org}__{request.name}__{short_sha(request.revision)}_{request.precision.value}.log"


def _tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if path is None or not path.is_file():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


class _FileLog:
    """Send everything logged in this process to the request's log file while it runs."""

    def __init__(self, path: Path | None):
        self.path = path
        self.handler: logging.Handler | None = None

    def __enter__(self) -> _FileLog:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handler = logging.FileHandler(self.path, encoding="utf-8")
            self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logging.getLogger().addHandler(self.handler)
            if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
                logging.getLogger().setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()


def _child_command(rel: Path, root: Path, opts: RunnerOptions) -> list[str]:
    e = opts.eval
    prefix = [*opts.launcher, "-m"] if opts.launcher else [sys.executable, "-m"]
    cmd = [
        *prefix,
        "shlepa",
        "evaluate",
        str(rel),
        "--root",
        str(root),
        "--claimed",
        "--data",
        e.source.value,
        "--backend",
        e.backend,
        "--batch-size",
        str(e.batch_size),
        "--runner",
        opts.runner,
    ]
    for key in e.benchmarks or []:
        cmd += ["--benchmark", key]
    for flag, value in (
        ("--device", e.device),
        ("--limit", e.limit),
        ("--cache-dir", e.cache_dir),
        ("--model-path", e.model_path),
        ("--run-url", opts.run_url),
        ("--log-url", opts.log_url),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def run_evaluation(root: Path, rel: Path, opts: RunnerOptions, log_path: Path | None) -> None:
    """Evaluate a claimed request; afterwards the request file is FINISHED or FAILED, never RUNNING."""
    path = root / rel
    error: BaseException | None = None
    exit_note = ""
    if opts.launcher or opts.isolate:
        cmd = _child_command(rel, root, opts)
        if log_path:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        sink = open(log_path, "a", encoding="utf-8") if log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.run(cmd, cwd=root, stdout=sink, stderr=subprocess.STDOUT, check=False)
        finally:
            if log_path:
                sink.close()  # type: ignore[union-attr]
        exit_note = f"evaluation process exited with status {proc.returncode}"
    else:
        eval_opts = replace(opts.eval, claimed=True, runner=opts.runner, run_url=opts.run_url, log_url=opts.log_url)
        with _FileLog(log_path):
            try:
                evaluate_request(path, root, eval_opts)
            except EvaluationError:
                pass  # evaluate_request already recorded FAILED with the error and log tail
            except Exception as exc:  # failed before the evaluation proper (suite, model args, backend)
                error = exc
                log.error("%s", "".join(traceback.format_exception(exc)))
    request = load_request(path)
    if request.status == Status.running:
        # Crashed without recording (a child killed by the OOM killer, an early error): record it now.
        ended = exit_note or "the evaluation stopped without recording a result"
        _record_failure(root, rel, opts, error if error is not None else ended, log_path)
    elif (
        request.status == Status.failed and request.failure is not None and opts.log_url and not request.failure.log_url
    ):
        save_request(
            request.model_copy(update={"failure": request.failure.model_copy(update={"log_url": opts.log_url})}), root
        )


def _record_failure(
    root: Path, rel: Path, opts: RunnerOptions, error: BaseException | str, log_path: Path | None
) -> None:
    """A RUNNING request whose evaluation recorded nothing: FAILED with the error (or how it ended) and its log."""
    record_failure(
        root,
        rel,
        error,
        error_class=None if isinstance(error, BaseException) else "EvaluationProcessDied",
        log_tail=_tail(log_path),
        log_url=opts.log_url,
        runner=opts.runner,
        run_url=opts.run_url,
        only_running=True,
    )


def _new_result_files(repo: GitRepo, root: Path, request: Request) -> list[Path]:
    """The evaluation's new files: its results folder's, and the shared details texts it added
    (``records.details``: written once per task version, by the first model that needs them)."""
    folder = results_dir(root, request.model).resolve().relative_to(repo.path.resolve())
    shared = (Path(root) / SHARED_DIR).resolve().relative_to(repo.path.resolve())
    return [Path(p) for p in repo.dirty_paths(str(folder))] + [Path(p) for p in repo.dirty_paths(str(shared))]


def finalize(repo: GitRepo | None, root: Path, rel: Path, opts: RunnerOptions, push: bool) -> Outcome:
    """Commit the request's final state with its new results files in one commit, and push."""
    request = load_request(root / rel)
    if repo is None:
        return Outcome(rel, request.status)
    new_files = _new_result_files(repo, root, request)
    if request.status != Status.finished:
        # A failed run leaves nothing half-written behind (e.g. a details file without results).
        for f in new_files:
            (repo.path / f).unlink(missing_ok=True)
        new_files = []
    contents = {f: (repo.path / f).read_bytes() for f in new_files}
    final = request
    first = [True]

    def apply() -> Change[None]:
        if first[0]:  # this work tree already holds the change
            first[0] = False
            return Change([rel, *new_files])
        upstream = load_request(root / rel)
        if upstream.status == Status.finished:
            log.warning("%s was finished by another runner meanwhile; dropping this duplicate", rel)
            return Change()
        for f, data in contents.items():
            atomic.write_bytes(repo.path / f, data)
        last = final.history[-1]
        moved = upstream.with_status(final.status, last.reason, runner=last.runner, run_url=last.run_url)
        save_request(moved.model_copy(update={"failure": final.failure}), root)
        return Change([rel, *new_files])

    verb = "results for" if final.status == Status.finished else "failed:"
    message = f"evaluate: {verb} {rel} ({opts.runner})"
    if not push:
        repo.commit([rel, *new_files], message)
        return Outcome(rel, final.status, [Path(f) for f in new_files], repo.head())
    sha = repo.publish(apply, message, sync_first=False).sha
    status = load_request(root / rel).status
    note = "" if sha else "dropped: another runner recorded this request first"
    return Outcome(rel, status, [Path(f) for f in new_files if sha], sha, note)


#: Public name for other publishers of results (``shlepa merge-split``).


def process_claimed(repo: GitRepo | None, root: Path, rel: Path, opts: RunnerOptions, push: bool = True) -> Outcome:
    """Evaluate a request this runner holds as RUNNING, then publish the outcome."""
    request = load_request(root / rel)
    existing = results_since_queued(root, request)
    if existing is not None:
        reason = f"results already in {existing.relative_to(root)}; not evaluated again"
        save_request(request.with_status(Status.finished, reason, runner=opts.runner, run_url=opts.run_url), root)
        out = finalize(repo, root, rel, opts, push)
        out.note = reason
        return out
    log_path = opts.log_dir / log_name(request) if opts.log_dir else None
    try:
        run_evaluation(root, rel, opts, log_path)
    except Exception as exc:  # the runner itself broke: still end in a clear state, never RUNNING
        _record_failure(root, rel, opts, exc, log_path)
    return finalize(repo, root, rel, opts, push)


def drain(repo: GitRepo, root: Path, opts: RunnerOptions, say: Callable[[str], None] = log.info) -> list[Outcome]:
    """Claim and evaluate PENDING requests, oldest first, until none is left."""
    outcomes: list[Outcome] = []
    while opts.max_requests is None or len(outcomes) < opts.max_requests:
        rel = claim_next(repo, root, opts.runner, opts.run_url)
        if rel is None:
            say("queue is empty")
            break
        say(f"claimed {rel}")
        out = process_claimed(repo, root, rel, opts)
        say(f"{rel}: {out.status.value} {out.note}".rstrip())
        outcomes.append(out)
    return outcomes


def evaluate_one(repo: GitRepo, root: Path, rel: Path, opts: RunnerOptions) -> Outcome:
    """Claim one named request (it must be PENDING: requeue a FAILED one first) and evaluate it."""
    request = load_request(root / rel)
    if request.status != Status.pending:
        return Outcome(rel, request.status, note=f"not PENDING ({request.status.value}); requeue it to rerun")
    if not claim(repo, root, rel, opts.runner, opts.run_url):
        return Outcome(rel, load_request(root / rel).status, note="claimed by another runner")
    return process_claimed(repo, root, rel, opts)


# -- publishing a request that was split over several runners -------------------------
def merge_and_finish(
    root: Path,
    paths: list[Path],
    request_path: Path | None,
    runner: str,
    run_url: str | None,
    repo: Any = None,
    push: bool = False,
) -> tuple[Path, Any]:
    """Merge the splits, mark the request FINISHED and (with ``repo``) commit both in ONE commit.

    Publishing reuses the runner's code path: a rejected push is rebased and
    retried, never forced; a request finished by someone else meanwhile is not
    recorded twice.
    """
    root = Path(root).resolve()
    target = merge_split(root, paths, request_path, runner=runner, run_url=run_url)
    rel = Path(json.loads(target.read_text(encoding="utf-8"))["request_file"])
    request = load_request(root / rel)
    count = len(json.loads(target.read_text(encoding="utf-8"))["evaluation"]["splits"])
    reason = f"results in {target.relative_to(root)} (merged from {count} splits)"
    save_request(request.with_status(Status.finished, reason, runner=runner, run_url=run_url), root)
    if repo is None:
        return target, Outcome(rel, Status.finished, [target])
    return target, finalize(repo, root, rel, RunnerOptions(runner=runner, run_url=run_url), push)


def record_merge_failure(
    root: Path, rel: Path, message: str, runner: str, run_url: str | None, repo: Any, push: bool
) -> Any:
    """A merge that cannot happen ends the RUNNING request FAILED (committed), never left RUNNING."""
    root = Path(root).resolve()
    failed = record_failure(
        root,
        rel,
        message,
        error_class="SplitMergeError",
        runner=runner,
        run_url=run_url,
        log_url=f"{run_url}#artifacts" if run_url else None,
        only_running=True,
    )
    if failed is None:
        return Outcome(rel, load_request(root / rel).status, note="not RUNNING; left as it is")
    return finalize(repo, root, rel, RunnerOptions(runner=runner, run_url=run_url), push)
