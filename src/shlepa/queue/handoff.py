"""The hand-off between the GPU job (no credential) and the hosted job that publishes.

The GPU machine runs untrusted artifacts (weights, tokenizer, chat template, model
written code), so it holds nothing worth stealing: ``evaluate.yml``'s GPU job has
``contents: read`` and no token, key or git credential. It evaluates one claimed
request into a folder (:func:`write_handoff`): the results file and the per-sample
details at their ``results/<org>/<model>/`` paths, and ``manifest.json`` naming the
request, the claim and the outcome. The folder travels as a workflow artifact.

A GitHub-hosted job running main's code then checks it (:func:`check_handoff`):
the request is RUNNING and claimed by this run (the claim comes from the plan job's
output, never from the artifact); the folder holds only the manifest and that
request's files (no other path, no ``..``, no symlink, no special file, every size
bounded); the results file passes the results schema and names this request. Only
then are results and the FINISHED request committed in one commit
(:func:`ingest_handoff`, through :func:`shlepa.queue.runner.finalize`, which publishes
like every runner push: retried on a fresh main, never forced; a push refused for good
keeps the results in ``<log dir>/unpublished/`` and on a ``shlepa/unpublished/*`` branch
and records the request FAILED with git's message, :func:`shlepa.queue.runner.keep_unpublished`).
A FAILED manifest, or no hand-off at all, ends
the request FAILED with the reason; a refused hand-off ends it FAILED with the
refusal and commits none of its files. A request no longer claimed by this run is
left alone.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shlepa.details import DetailsStore
from shlepa.errors import ShlepaError
from shlepa.evaluation.run import record_failure
from shlepa.io import atomic
from shlepa.queue.git import GitRepo
from shlepa.queue.runner import Outcome, RunnerOptions, finalize, log_name, run_evaluation
from shlepa.queue.store import claim_next
from shlepa.records.details import SHARED_DIR, SharedText
from shlepa.records.keys import shared_text_key
from shlepa.records.request import Failure, Request, Status, load_request, save_request
from shlepa.records.results import RESULTS_RE, ResultsError, load_results, results_dir
from shlepa.submission.changes import REQUEST_PATH_RE

MANIFEST = "manifest.json"
SCHEMA: Literal["shlepa.handoff/1"] = "shlepa.handoff/1"
DETAILS_RE = re.compile(r"^details_(\d{8}T\d{6}(?:\.\d{1,6})?Z)\.jsonl\.gz$")
#: Bounds on what a GPU job may hand over (a results file is ~150 KB, details a few MB).
MAX_MANIFEST_BYTES = 64 * 1024
MAX_RESULTS_BYTES = 32 * 1024 * 1024
MAX_DETAILS_BYTES = 512 * 1024 * 1024
MAX_DETAILS_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024
MAX_ENTRIES = 512  # files and folders in the hand-off, before anything is read (MMLU alone: 57 shared texts)
MAX_SHARED_BYTES = 64 * 1024 * 1024  # one task version's shared text (records.details)


class HandoffError(ShlepaError, ValueError):
    """A hand-off folder is refused; the message names the file and why."""


class Manifest(BaseModel):
    """What the GPU job says it did. Untrusted: every field is checked against main's state."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["shlepa.handoff/1"] = Field(SCHEMA, alias="schema")
    request_file: str = Field(max_length=300)
    claim: str = Field(max_length=200)
    status: Literal["FINISHED", "FAILED"]
    results: list[str] = Field(default_factory=list, max_length=2)
    #: Shared texts (records.details) this evaluation wrote first: ``details/shared/<task>/<hash>.jsonl.gz``.
    shared: list[str] = Field(default_factory=list, max_length=400)
    failure: Failure | None = None


@dataclass(frozen=True)
class Checked:
    """A hand-off that passed every check: the files to copy under the repository, by relative path."""

    request: Request
    manifest: Manifest
    files: dict[str, Path]


def claim_batch(repo: GitRepo, root: Path, count: int, claim: str, run_url: str | None) -> list[Path]:
    """Claim up to ``count`` PENDING requests (oldest first) for this run; ``claim`` is recorded as the runner."""
    claimed: list[Path] = []
    while len(claimed) < count:
        rel = claim_next(repo, root, claim, run_url, skip=set(claimed))
        if rel is None:
            break
        claimed.append(rel)
    return claimed


def claimed_by(request: Request, claim: str) -> bool:
    """RUNNING, and the last status change is this claim's."""
    last = request.history[-1] if request.history else None
    return request.status == Status.running and last is not None and last.runner == claim


def require_claim(request: Request, rel: str, claim: str) -> None:
    """Raise unless this run's claim holds the request: nothing of another run's request is ever published."""
    if not claimed_by(request, claim):
        last = request.history[-1] if request.history else None
        raise HandoffError(
            f"the request is {request.status.value}, claimed by {last.runner if last else None!r}, "
            f"not by this run's claim {claim!r}; nothing of this hand-off is used",
            path=rel,
            field="status",
        )


# -- the GPU side ---------------------------------------------------------------------
def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def write_handoff(root: Path, rel: Path, claim: str, out: Path, opts: RunnerOptions) -> Path:
    """Evaluate a claimed request in this (credential-free) checkout; write results + manifest to ``out``.

    Nothing is committed or pushed. The checkout's request file is moved to FINISHED or
    FAILED locally only to reuse the evaluation code; the hosted job decides what lands.
    """
    root = Path(root).resolve()
    request = load_request(root / rel)
    folder = results_dir(root, request.model)
    shared_dir = root / SHARED_DIR / "shared"
    before = _files_under(folder)
    shared_before = _files_under(shared_dir)
    log_path = opts.log_dir / log_name(request) if opts.log_dir else None
    try:
        run_evaluation(root, rel, opts, log_path)
    except Exception as exc:  # the evaluation machinery itself broke: still hand over a FAILED manifest
        record_failure(root, rel, exc, runner=opts.runner, run_url=opts.run_url, only_running=True)
    final = load_request(root / rel)
    new = sorted(_files_under(folder) - before)
    out.mkdir(parents=True, exist_ok=True)
    results: list[str] = []
    shared: list[str] = []
    if final.status == Status.finished:
        for path in new:
            target_rel = path.relative_to(root).as_posix()
            atomic.write_bytes(out / target_rel, path.read_bytes())
            results.append(target_rel)
        for path in sorted(_files_under(shared_dir) - shared_before) if results else []:
            target_rel = path.relative_to(root).as_posix()
            atomic.write_bytes(out / target_rel, path.read_bytes())
            shared.append(target_rel)
    manifest = Manifest(
        request_file=rel.as_posix(),
        claim=claim,
        status="FINISHED" if final.status == Status.finished and results else "FAILED",
        results=results,
        shared=shared,
        failure=final.failure
        if final.status != Status.finished
        else (None if results else Failure(error_class="NoResults", message="the evaluation wrote no results file")),
    )
    target = out / MANIFEST
    atomic.write_json(target, manifest.model_dump(mode="json", by_alias=True))
    return target


# -- the hosted side ------------------------------------------------------------------
def regular_files(folder: Path) -> dict[str, Path]:
    """Every regular file under ``folder`` by POSIX relative path; a symlink or special file is refused."""
    found: dict[str, Path] = {}
    count = 0
    for here, dirs, names in os.walk(folder, followlinks=False):
        for name in [*dirs, *names]:
            count += 1
            if count > MAX_ENTRIES:
                raise HandoffError(f"more than {MAX_ENTRIES} entries in the hand-off", path=folder)
            path = Path(here) / name
            mode = path.lstat().st_mode
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(mode):
                raise HandoffError("a symlink in the hand-off (only regular files are accepted)", path=rel)
            if name in dirs:
                continue
            if not stat.S_ISREG(mode):
                raise HandoffError("not a regular file (only regular files are accepted)", path=rel)
            found[rel] = path
    return found


def _read_manifest(path: Path) -> Manifest:
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise HandoffError(f"larger than {MAX_MANIFEST_BYTES} bytes", path=MANIFEST)
    try:
        return Manifest.model_validate(json.loads(path.read_bytes()))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HandoffError(f"not JSON: {exc}", path=MANIFEST) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise HandoffError(f"{err['msg']}", path=MANIFEST, field=field) from None


def _check_details(path: Path, rel: str) -> None:
    """Gzip'd JSON lines, one object each, unpacked size bounded (no gzip bomb reaches the site build)."""
    unpacked = 0
    try:
        with gzip.open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                unpacked += len(line)
                if unpacked > MAX_DETAILS_UNPACKED_BYTES:
                    raise HandoffError(f"unpacks to more than {MAX_DETAILS_UNPACKED_BYTES} bytes", path=rel)
                if line.strip() and not isinstance(json.loads(line), dict):
                    raise HandoffError(f"line {number} is not a JSON object", path=rel)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HandoffError(f"not gzip'd JSON lines: {exc}", path=rel) from None


def check_handoff(folder: Path, root: Path, rel: Path, claim: str) -> Checked:
    """Every check before anything of a hand-off reaches the repository; raises :class:`HandoffError`."""
    root, folder = Path(root).resolve(), Path(folder)
    rel_s = rel.as_posix()
    if not REQUEST_PATH_RE.match(rel_s) or ".." in rel.parts:
        raise HandoffError("not a request path requests/<org>/<model>/<file>.yaml", path=rel_s)
    request = load_request(root / rel)
    if request.relpath.as_posix() != rel_s:
        raise HandoffError(f"not the request's own path {request.relpath}", path=rel_s)
    require_claim(request, rel_s, claim)
    if folder.is_symlink() or not folder.is_dir():
        raise HandoffError("no hand-off folder (the GPU job handed nothing over)", path=str(folder))
    found = regular_files(folder)
    if MANIFEST not in found:
        raise HandoffError("no manifest.json in the hand-off", path=str(folder))
    manifest = _read_manifest(found[MANIFEST])
    if manifest.request_file != rel_s:
        raise HandoffError(f"the manifest names {manifest.request_file!r}, not {rel_s!r}", path=MANIFEST)
    if manifest.claim != claim:
        raise HandoffError(f"the manifest's claim {manifest.claim!r} is not this run's {claim!r}", path=MANIFEST)
    listed = set(manifest.results) if manifest.status == "FINISHED" else set()
    folder_rel = results_dir(Path("."), request.model).as_posix()
    results_files, details_files = [], []
    for name in sorted(listed):  # the shape of every listed path first: nothing outside the request's folder
        pure = PurePosixPath(name)
        if ".." in pure.parts or pure.is_absolute() or str(pure.parent) != folder_rel:
            raise HandoffError(f"outside this request's results folder {folder_rel}/", path=name)
        if RESULTS_RE.match(pure.name):
            results_files.append(name)
        elif DETAILS_RE.match(pure.name):
            details_files.append(name)
        else:
            raise HandoffError("neither results_<time>.json nor details_<time>.jsonl.gz", path=name)
    shared = _check_shared(found, manifest) if manifest.status == "FINISHED" else {}
    extra = sorted(set(found) - listed - set(shared) - {MANIFEST})
    if extra:
        raise HandoffError("a file the manifest does not list (only the request's results are accepted)", path=extra[0])
    missing = sorted(listed - set(found))
    if missing:
        raise HandoffError("listed in the manifest but not in the hand-off", path=missing[0])
    for name in sorted(listed):
        limit = MAX_RESULTS_BYTES if name in results_files else MAX_DETAILS_BYTES
        if found[name].stat().st_size > limit:
            raise HandoffError(f"larger than {limit} bytes", path=name)
    if manifest.status == "FINISHED":
        if len(results_files) != 1 or len(details_files) > 1:
            raise HandoffError("a FINISHED hand-off holds exactly one results file (and its details)", path=MANIFEST)
        name = results_files[0]
        try:
            res = load_results(found[name])
        except ResultsError as exc:
            raise HandoffError(f"results schema: {exc}", path=name) from None
        if res.key != request.key or res.request_file != rel_s:
            raise HandoffError(f"the results are for {res.key} ({res.request_file}), not {request.key}", path=name)
        wanted_details = f"{folder_rel}/{res.details_file}" if res.details_file else None
        if details_files and details_files[0] != wanted_details:
            raise HandoffError(f"the results point to {res.details_file!r}", path=details_files[0])
        if wanted_details and not details_files:
            raise HandoffError(f"the results point to {res.details_file!r}, which is missing", path=name)
        for d in details_files:
            _check_details(found[d], d)
        named = {f"{SHARED_DIR}/{shared_text_key(t, v)}" for t, v in _task_hashes(res).items()}
        stray = sorted(set(shared) - named)
        if stray:
            raise HandoffError("a shared text the results do not name (task_hashes)", path=stray[0])
    files = {name: found[name] for name in sorted(listed)}
    # Content-addressed: a shared text main already holds is the same bytes' text, never replaced.
    files.update({name: path for name, path in shared.items() if not (root / name).exists()})
    return Checked(request, manifest, files)


def _task_hashes(res: object) -> dict[str, str]:
    hashes = getattr(res, "task_hashes", None)
    return {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}


def _check_shared(found: dict[str, Path], manifest: Manifest) -> dict[str, Path]:
    """The manifest's shared texts: each at ``details/shared/<task>/<hash>.jsonl.gz`` and holding
    exactly the text whose hash names it (so it can never replace another task version's text)."""
    checked: dict[str, Path] = {}
    for name in manifest.shared:
        parts = PurePosixPath(name).parts
        if len(parts) != 4 or parts[:2] != (SHARED_DIR, "shared") or not parts[3].endswith(".jsonl.gz"):
            raise HandoffError(f"not a shared text path {SHARED_DIR}/shared/<task>/<hash>.jsonl.gz", path=name)
        task, version = parts[2], parts[3].removesuffix(".jsonl.gz")
        try:
            key = shared_text_key(task, version)
        except ValueError as exc:
            raise HandoffError(str(exc), path=name) from None
        if name not in found:
            raise HandoffError("listed in the manifest but not in the hand-off", path=name)
        if found[name].stat().st_size > MAX_SHARED_BYTES:
            raise HandoffError(f"larger than {MAX_SHARED_BYTES} bytes", path=name)
        _check_details(found[name], name)  # bounded gzip'd JSON lines first
        try:
            text = SharedText.decode(found[name].read_bytes(), key)
        except ValueError as exc:
            raise HandoffError(f"not a shared text: {exc}", path=name) from None
        if text.task != task or text.version_hash != version:
            raise HandoffError("its content does not hash to its name", path=name)
        checked[name] = found[name]
    return checked


def _publish_failure(
    repo: GitRepo | None,
    root: Path,
    rel: Path,
    error_class: str,
    message: str,
    failure: Failure | None,
    opts: RunnerOptions,
    push: bool,
) -> Outcome:
    record_failure(
        root,
        rel,
        message,
        error_class=error_class,
        log_tail=failure.log_tail if failure else "",
        log_url=failure.log_url if failure and failure.log_url else opts.log_url,
        runner=opts.runner,
        run_url=opts.run_url,
        only_running=True,
    )
    return finalize(repo, root, rel, opts, push)


def ingest_handoff(
    repo: GitRepo | None,
    root: Path,
    rel: Path,
    claim: str,
    folder: Path,
    run_url: str | None,
    push: bool = True,
    store: DetailsStore | None = None,
    log_dir: Path | None = None,
) -> Outcome:
    """Check a hand-off and publish its outcome: results + FINISHED in one commit, or FAILED with the reason.

    A request that is not RUNNING under ``claim`` raises :class:`HandoffError` and nothing
    is committed. Any other refusal commits the request FAILED (reason "hand-off refused:
    ..."), without a single file of the hand-off, and then raises it, so the job shows red.
    A push main refuses for good goes the runner's way (:func:`shlepa.queue.runner.keep_unpublished`):
    the results are kept under ``log_dir``/unpublished (the workflow uploads ``log_dir``) and
    on a side branch, and the request ends FAILED (``PushRejected``) with git's message.
    """
    root = Path(root).resolve()
    opts = RunnerOptions(
        runner=claim,
        run_url=run_url,
        log_url=f"{run_url}#artifacts" if run_url else None,
        log_dir=log_dir,
        store=store,
    )
    require_claim(load_request(root / rel), rel.as_posix(), claim)  # another run's request: touch nothing
    if not Path(folder).exists() or (Path(folder).is_dir() and not any(Path(folder).iterdir())):
        return _publish_failure(
            repo,
            root,
            rel,
            "NoHandoff",
            "the GPU job handed nothing over (it failed, timed out or was cancelled); see the run's logs",
            None,
            opts,
            push,
        )
    try:
        checked = check_handoff(folder, root, rel, claim)
    except HandoffError as exc:
        _publish_failure(repo, root, rel, "HandoffRefused", f"hand-off refused: {exc}", None, opts, push)
        raise
    if checked.manifest.status == "FAILED":
        f = checked.manifest.failure
        return _publish_failure(
            repo,
            root,
            rel,
            f.error_class if f else "EvaluationError",
            f.message if f else "the evaluation failed",
            f,
            opts,
            push,
        )
    for name, source in checked.files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(target, source.read_bytes())
    results = next(n for n in checked.files if RESULTS_RE.match(PurePosixPath(n).name))
    save_request(
        checked.request.with_status(Status.finished, f"results in {results}", runner=claim, run_url=run_url), root
    )
    # The details go to the configured store before the results that name them are committed.
    return finalize(repo, root, rel, opts, push)


__all__ = [
    "MANIFEST",
    "Checked",
    "HandoffError",
    "Manifest",
    "check_handoff",
    "claim_batch",
    "claimed_by",
    "ingest_handoff",
    "regular_files",
    "require_claim",
    "write_handoff",
]
