"""The loop a workflow step runs: claim, evaluate, commit results + status in ONE commit, push.

``shlepa evaluate --next --commit --push`` drains the queue: it claims the oldest
PENDING request (see :mod:`shlepa.queue.store`), evaluates it, and publishes the
results files together with the FINISHED request, or the FAILED request with the
error and the log tail, in one commit; then it takes the next one until none is
left. A push that loses a race (or meets a transient failure) is applied again
on the newest main and retried; when another runner touched the same request
meanwhile (a sweep requeued it and someone else finished it), a duplicate result
is dropped rather than committed twice.

One request cannot hold the others:

- ``runner.request_timeout_minutes`` bounds each evaluation. With ``--isolate`` (or
  a launcher) the child runs in its own process group, and the whole group is
  killed at the limit (and whatever the child left in it, after it ends). In
  process, a watchdog thread signals the main thread, which raises
  :class:`EvaluationTimeout` at the next Python instruction: a chat template
  rendering for hours stops; a call into native code that never returns does
  not, which is what ``--isolate`` is for. Either way the request ends FAILED
  ("evaluation exceeded N minutes") and the drain claims the next one.
- A runner that dies (the machine, the job's own timeout) is handled by the
  sweep, which counts the dead runners (:func:`shlepa.queue.store.sweep`).

A result cannot be lost at the push: when main refuses it for good (a ruleset,
a file over the size limit) the results are written to a folder first
(``keep_dir``, by default ``<log_dir>/unpublished``, which the workflow uploads
with the logs), then pushed to a side branch ``shlepa/unpublished/<slug>``
(:func:`shlepa.records.keys.unpublished_branch`), and the request is recorded
FAILED on main with git's own message and where the results are.

:func:`publish_outcome` is that publishing step alone, for a job that did not
evaluate (it takes the request record and its files' bytes).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shlepa.details import DetailsStore, StoreError, upload_details
from shlepa.env import environment
from shlepa.evaluation import EvaluationError
from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request, record_failure
from shlepa.evaluation.split import merge_split
from shlepa.io import atomic
from shlepa.queue.git import Change, GitRepo, PublishError
from shlepa.queue.store import claim, claim_next, results_since_queued
from shlepa.records.details import SHARED_DIR
from shlepa.records.keys import short_sha, unpublished_branch, unpublished_slug
from shlepa.records.request import Failure, Request, Status, load_request, save_request, utcnow
from shlepa.records.results import ResultsError, read_results_data, results_dir

log = logging.getLogger("shlepa.queue.runner")

LOG_TAIL_LINES = 60
#: Seconds a timed-out child's process group gets between SIGTERM and SIGKILL.
KILL_GRACE_S = 10.0
#: The signal the in-process watchdog sends the main thread (its handler raises EvaluationTimeout).
TIMEOUT_SIGNAL = signal.SIGUSR2


class EvaluationTimeout(BaseException):
    """The evaluation ran past its time limit.

    A BaseException so that no library's ``except Exception`` swallows it halfway.
    """


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
    request_timeout_s: float | None = None  # runner.request_timeout_minutes, in seconds; None: no limit
    keep_dir: Path | None = None  # where refused results are kept (default <log_dir>/unpublished, else .shlepa/)

    def keep_folder(self, root: Path) -> Path:
        """The folder refused results are written to before anything else is tried."""
        if self.keep_dir is not None:
            return self.keep_dir
        return self.log_dir / "unpublished" if self.log_dir else Path(root) / ".shlepa" / "unpublished"

    # Where per-sample details go before the results are committed (None: beside the results, on main).
    store: DetailsStore | None = None


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


def child_options(opts: RunnerOptions) -> EvalOptions:
    """The evaluation options of a claimed request, the same in process and in a child."""
    return replace(opts.eval, claimed=True, runner=opts.runner, run_url=opts.run_url, log_url=opts.log_url)


def _child_command(rel: Path, root: Path, opts: RunnerOptions, options_file: Path) -> list[str]:
    """``shlepa evaluate`` for a child process: every option travels in one JSON file, none on argv.

    Rebuilding the command line flag by flag silently dropped every option it did not
    list (--allow-code-eval, --backend-arg, --memorization-data, --wandb); the record
    itself cannot lose a field.
    """
    prefix = [*opts.launcher, "-m"] if opts.launcher else [sys.executable, "-m"]
    atomic.write_json(options_file, child_options(opts).to_json())
    return [*prefix, "shlepa", "evaluate", str(rel), "--root", str(root), "--options-file", str(options_file)]


def limit_text(seconds: float) -> str:
    """A time limit as the failure reason says it: whole minutes, else seconds."""
    if seconds >= 60 and float(seconds / 60).is_integer():
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds:g} seconds"


def _timeout_message(seconds: float, how: str) -> str:
    return f"evaluation exceeded {limit_text(seconds)} (runner.request_timeout_minutes); {how}"


_armed = threading.Event()
_armed_message = [""]
#: Seconds between the watchdog's signals once the limit has passed: a library that catches
#: BaseException (and goes on) swallows one, so it sends again until the run has stopped.
RESEND_S = 2.0


def _on_timeout_signal(signum: int, frame: object) -> None:
    if _armed.is_set():  # a late signal after the deadline was lifted is ignored
        raise EvaluationTimeout(_armed_message[0])


def _watchdog(seconds: float, main: int, done: threading.Event, fired: threading.Event) -> None:
    if done.wait(seconds):
        return
    fired.set()
    while _armed.is_set() and not done.is_set():
        signal.pthread_kill(main, TIMEOUT_SIGNAL)
        done.wait(RESEND_S)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`EvaluationTimeout` in the main thread once ``seconds`` have passed.

    A watchdog thread sends :data:`TIMEOUT_SIGNAL`, which also wakes a blocking
    system call; unlike SIGALRM it cannot be cancelled by a task that sets its own
    alarm (several lm-eval tasks do). It sends again every :data:`RESEND_S` until the
    block has exited. A library that turns the interruption into an error of its own (the
    datasets library reports a file it was opening as not found) still ends the block with
    :class:`EvaluationTimeout`, its error chained. Off the main thread nothing is enforced (a
    warning says so): use ``--isolate`` there.
    """
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        log.warning("the time limit is only enforced on the main thread or with --isolate")
        yield
        return
    signal.signal(TIMEOUT_SIGNAL, _on_timeout_signal)  # stays installed: a late signal must not kill the runner
    main = threading.main_thread().ident
    assert main is not None
    done, fired = threading.Event(), threading.Event()
    watchdog = threading.Thread(
        target=_watchdog, args=(seconds, main, done, fired), daemon=True, name="shlepa-deadline"
    )
    _armed_message[0] = _timeout_message(seconds, "the run was interrupted")
    _armed.set()
    watchdog.start()
    try:
        yield
    except Exception as exc:
        if fired.is_set():
            raise EvaluationTimeout(_armed_message[0]) from exc
        raise
    finally:
        _armed.clear()
        done.set()


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _run_child(cmd: list[str], root: Path, log_path: Path | None, limit_s: float | None) -> tuple[int, bool]:
    """Run the child in its own process group; at the limit kill the group. (exit status, timed out)."""
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    sink = open(log_path, "a", encoding="utf-8") if log_path else subprocess.DEVNULL  # noqa: SIM115
    timed_out = False
    try:
        proc = subprocess.Popen(cmd, cwd=root, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            log.warning("evaluation exceeded %s: killing its process group %d", limit_text(limit_s or 0), proc.pid)
            _kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid, signal.SIGKILL)
                proc.wait()
        except BaseException:  # the runner itself is being stopped: take the child down with it
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            _kill_group(proc.pid, signal.SIGKILL)  # whatever the child left running in its group
    finally:
        if log_path:
            sink.close()  # type: ignore[union-attr]
    return proc.returncode, timed_out


def run_evaluation(root: Path, rel: Path, opts: RunnerOptions, log_path: Path | None) -> None:
    """Evaluate a claimed request; afterwards the request file is FINISHED or FAILED, never RUNNING."""
    path = root / rel
    error: BaseException | str | None = None
    error_class: str | None = None
    exit_note = ""
    limit = opts.request_timeout_s
    if opts.launcher or opts.isolate:
        with tempfile.TemporaryDirectory(prefix="shlepa-child-") as tmp:
            cmd = _child_command(rel, root, opts, Path(tmp) / "options.json")
            returncode, timed_out = _run_child(cmd, root, log_path, limit)
        exit_note = f"evaluation process exited with status {returncode}"
        if timed_out:
            error, error_class = _timeout_message(limit or 0, "its process group was killed"), "EvaluationTimeout"
    else:
        eval_opts = child_options(opts)
        with _FileLog(log_path):
            try:
                with deadline(limit):
                    try:
                        evaluate_request(path, root, eval_opts)
                    except EvaluationError:
                        pass  # evaluate_request already recorded FAILED with the error and log tail
                    except Exception as exc:  # failed before the evaluation proper (suite, model args, backend)
                        error = exc
                        log.error("%s", "".join(traceback.format_exception(exc)))
            except EvaluationTimeout as exc:  # raised outside evaluate_request's own recording
                error, error_class = str(exc), "EvaluationTimeout"
                log.error("%s", error)
            gc.collect()  # drop an interrupted run's frames (and the model they hold)
    request = load_request(path)
    if request.status == Status.running:
        # Timed out, or crashed without recording (a child killed by the OOM killer, an early error): record it now.
        ended = exit_note or "the evaluation stopped without recording a result"
        _record_failure(root, rel, opts, error if error is not None else ended, log_path, error_class)
    elif (
        request.status == Status.failed and request.failure is not None and opts.log_url and not request.failure.log_url
    ):
        save_request(
            request.model_copy(update={"failure": request.failure.model_copy(update={"log_url": opts.log_url})}), root
        )


def _record_failure(
    root: Path,
    rel: Path,
    opts: RunnerOptions,
    error: BaseException | str,
    log_path: Path | None,
    error_class: str | None = None,
) -> None:
    """A RUNNING request whose evaluation recorded nothing: FAILED with the error (or how it ended) and its log."""
    record_failure(
        root,
        rel,
        error,
        error_class=error_class or (None if isinstance(error, BaseException) else "EvaluationProcessDied"),
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


def store_details(store: DetailsStore, base: Path, files: list[Path]) -> list[Path]:
    """Upload the details that new results files name, check their hashes, and drop them from
    ``files`` (and from disk): what is left is committed. Raises StoreError, uploading nothing
    more, on the first refusal; the caller then commits no results."""
    keep: list[Path] = []
    moved: list[Path] = []
    for rel in files:
        path = base / rel
        if not path.name.startswith("results_") or path.suffix != ".json":
            keep.append(rel)
            continue
        keep.append(rel)
        try:
            data = read_results_data(path, lm_eval_keys=())
        except ResultsError as exc:
            raise StoreError(f"cannot read the new results file: {exc}", path=rel) from None
        name, digest = data.get("details_file"), data.get("details_sha256")
        if not name:
            continue
        if not digest:
            raise StoreError("names its details without their sha256 (details_sha256)", path=rel)
        details = path.parent / str(name)
        (ref,) = upload_details(store, [details])
        if ref.sha256 != digest:
            raise StoreError(
                f"details file {name} does not match the sha256 its results name ({digest[:12]}…)", path=rel
            )
        moved.append(details)
    for details in moved:
        details.unlink(missing_ok=True)
    gone = {p.resolve() for p in moved}
    return [rel for rel in keep if (base / rel).resolve() not in gone]


def finalize(repo: GitRepo | None, root: Path, rel: Path, opts: RunnerOptions, push: bool) -> Outcome:
    """Commit the request's final state with its new results files in one commit, and push.

    With a details store, the details are uploaded first and only the results that name
    them are committed; a store that is down or refuses leaves the request FAILED with the
    reason and no results committed.
    """
    request = load_request(root / rel)
    if repo is None:
        return Outcome(rel, request.status)
    new_files = _new_result_files(repo, root, request)
    if request.status == Status.finished and opts.store is not None and new_files:
        try:
            new_files = store_details(opts.store, repo.path, new_files)
        except StoreError as exc:
            log.error("details upload failed: %s", exc)
            record_failure(
                root,
                rel,
                f"details upload failed: {exc}",
                error_class="DetailsStoreError",
                runner=opts.runner,
                run_url=opts.run_url,
                log_url=opts.log_url,
            )
            request = load_request(root / rel)
    if request.status != Status.finished:
        # A failed run leaves nothing half-written behind (e.g. a details file without results).
        for f in new_files:
            (repo.path / f).unlink(missing_ok=True)
        new_files = []
    if not push:
        repo.commit([rel, *new_files], _message(request, rel, opts.runner))
        return Outcome(rel, request.status, [Path(f) for f in new_files], repo.head())
    contents = {Path(f): (repo.path / f).read_bytes() for f in new_files}
    return publish_outcome(repo, root, request, contents, opts)


def _message(request: Request, rel: Path, runner: str) -> str:
    verb = "results for" if request.status == Status.finished else "failed:"
    return f"evaluate: {verb} {rel} ({runner})"


def publish_outcome(
    repo: GitRepo, root: Path, final: Request, files: Mapping[Path, bytes], opts: RunnerOptions
) -> Outcome:
    """Publish one request's final state with its files (paths relative to the work tree) in ONE commit.

    Every attempt starts from the newest main and writes only this change: the
    request moved to ``final``'s status and these files, so nothing else this
    machine holds is pushed. A request another runner FINISHED meanwhile is not
    recorded twice. When main refuses for good, see :func:`keep_unpublished`.
    """
    root = Path(root)
    rel = final.relpath
    message = _message(final, rel, opts.runner)
    apply = _outcome_apply(repo, root, final, files)
    try:
        sha = repo.publish(apply, message).sha
    except PublishError as exc:
        return keep_unpublished(repo, root, final, files, opts, exc)
    status = load_request(root / rel).status
    note = "" if sha else "dropped: another runner recorded this request first"
    return Outcome(rel, status, [Path(f) for f in files if sha], sha, note)


def _outcome_apply(
    repo: GitRepo, root: Path, final: Request, files: Mapping[Path, bytes]
) -> Callable[[], Change[None]]:
    rel = final.relpath

    def apply() -> Change[None]:
        path = root / rel
        if not path.is_file():
            log.warning("%s is gone from %s; not recording it", rel, repo.upstream)
            return Change()
        upstream = load_request(path)
        if upstream.status == Status.finished:  # never replace a recorded result, nor duplicate it
            log.warning("%s was finished by another runner meanwhile; dropping this outcome", rel)
            return Change()
        for f, data in files.items():
            atomic.write_bytes(repo.path / f, data)
        last = final.history[-1]
        moved = upstream.with_status(final.status, last.reason, runner=last.runner, run_url=last.run_url)
        save_request(moved.model_copy(update={"failure": final.failure}), root)
        return Change([rel, *files])

    return apply


def keep_unpublished(
    repo: GitRepo, root: Path, final: Request, files: Mapping[Path, bytes], opts: RunnerOptions, error: PublishError
) -> Outcome:
    """Main refused this outcome for good: keep it (folder, then side branch), record FAILED with git's message.

    In this order, so each step only adds to what holds: the folder is local disk
    (uploaded with the logs); the side branch is on the remote for the owners to
    review and merge; the FAILED request tells the submitter on main. A step that
    fails is said in the outcome's note, never raised, so the drain goes on.
    """
    rel = final.relpath
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    slug = unpublished_slug(final.model, final.revision, final.precision.value, final.suite, stamp)
    folder = opts.keep_folder(root) / slug
    git_says = error.git_output or error.message
    for f, data in files.items():
        atomic.write_bytes(folder / f, data)
    atomic.write_text(folder / rel, final.to_yaml())
    atomic.write_text(folder / "push-error.txt", f"{error.message}\n\n{git_says}\n")
    log.error("push of %s refused; its results are kept in %s", rel, folder)

    uploaded = " (uploaded with the run's logs)" if opts.keep_dir is None and opts.log_dir else ""
    kept = f"in the folder {folder.parent.name}/{slug} of runner {opts.runner}{uploaded}"
    branch = unpublished_branch(slug)
    notes: list[str] = []
    if files:
        try:
            side_sha = repo.push_side_branch(
                branch, _outcome_apply(repo, root, final, files), _message(final, rel, opts.runner)
            )
            if side_sha is not None:
                kept = f"on branch {branch} (and {kept})"
        except PublishError as side:
            notes.append(f"the side branch {branch} was refused too: {side.git_output or side.message}")
    if final.status == Status.finished:
        reason = f"push rejected: {git_says}\nThe results were not published; they are kept {kept}."
    else:
        reason = (
            f"push rejected: {git_says}\nThe evaluation's own failure: {final.failure.message if final.failure else ''}"
        )
    failure = Failure(error_class="PushRejected", message=reason[:4000], log_url=opts.log_url)

    def apply() -> Change[None]:
        path = root / rel
        if not path.is_file():
            return Change()
        upstream = load_request(path)
        if upstream.status == Status.finished:
            return Change()
        failed = upstream.with_status(
            Status.failed, f"PushRejected: {reason}"[:2000], runner=opts.runner, run_url=opts.run_url
        )
        save_request(failed.model_copy(update={"failure": failure}), root)
        return Change([rel])

    try:
        sha = repo.publish(apply, f"evaluate: push rejected: {rel} ({opts.runner})").sha
    except PublishError as again:
        sha = None
        notes.append(f"recording FAILED on main was refused too: {again.git_output or again.message}")
    note = "; ".join([f"push rejected; results kept {kept}", *notes])
    return Outcome(rel, Status.failed, [], sha, note)


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
    store: DetailsStore | None = None,
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
    return target, finalize(repo, root, rel, RunnerOptions(runner=runner, run_url=run_url, store=store), push)


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
