"""The merge gate: a PR's files read through the GitHub API as data, checked with main's validator, one status.

The PR's own "Validate submission" run comes from the PR's merge commit, so a PR
that edits that workflow (or adds one with the same name) can make it green. The
gate cannot be forged that way: ``gate.yml`` runs on ``pull_request_target`` (the
workflow file and this code come from the base branch), never checks out or runs
anything of the PR, lists the PR's files through the API, reads each request file's
bytes from the PR head's git tree, and posts the commit status ``shlepa/gate`` on
that exact head commit. Branch protection requires that status.

A PR that touches anything outside ``requests/<org>/<model>/*.yaml``, deletes,
renames, copies or changes the mode of a file, or adds a file that is not a plain
100644 blob (a symlink, a submodule, an executable) never gets ``success``.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from github import Github, GithubException
from github.GithubObject import NotSet
from github.Repository import Repository

from shlepa.errors import ShlepaError
from shlepa.io.yaml import MAX_YAML_BYTES, YamlError, load_yaml
from shlepa.records.request import Request, collect_request_problems
from shlepa.submission.changes import REQUEST_PATH_RE, Change
from shlepa.submission.checklist import Check, Checklist, Outcome
from shlepa.submission.validate import Options, validate_request_file

#: The commit status branch protection requires (Settings → Rules → "Require status checks").
GATE_CONTEXT = "shlepa/gate"
#: More files than this in one PR is no submission (a checkpoint series is one file per checkpoint).
MAX_PR_FILES = 300
#: GitHub's own limit on a status description.
MAX_DESCRIPTION = 140
#: What GitHub's PR files API calls a change, and the diff letter the validator knows.
ALLOWED_STATUSES = {"added": "A", "modified": "M"}
REGULAR_FILE_MODE = "100644"

_WHY_NOT = {
    "removed": "this PR deletes a file; requests are never deleted by a submission",
    "renamed": "this PR renames a file; add a new request instead",
    "copied": "this PR copies a file; add a new request instead",
    "changed": "this PR changes a file's mode or type (e.g. into a symlink)",
    "unchanged": "this PR lists a file it does not change",
}


class GateError(ShlepaError, RuntimeError):
    """The gate could not read the PR from GitHub; no status is posted for a guess."""


@dataclass(frozen=True)
class PRFile:
    """One entry of the PR's files listing (GitHub's words for the status)."""

    path: str
    status: str
    previous_path: str | None = None


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    size: int | None


@dataclass
class GateResult:
    """The verdict on one head commit."""

    pr: int
    head_sha: str
    author: str
    checklist: Checklist
    state: str = "failure"  # success | failure
    posted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        return self.checklist.summary()[:MAX_DESCRIPTION]


def safe_request_path(path: str) -> bool:
    """``requests/<org>/<model>/<file>.yaml`` with no empty, ``.`` or ``..`` part (data may never climb out)."""
    parts = path.split("/")
    return bool(REQUEST_PATH_RE.match(path)) and len(parts) == 4 and all(p not in ("", ".", "..") for p in parts)


class _HeadTree:
    """The PR head's git tree, walked folder by folder (each folder read once)."""

    def __init__(self, repo: Repository, head_sha: str):
        self.repo, self.head_sha = repo, head_sha
        self._trees: dict[str, dict[str, TreeEntry]] = {}

    def _tree(self, sha: str) -> dict[str, TreeEntry]:
        if sha not in self._trees:
            tree = self.repo.get_git_tree(sha)
            self._trees[sha] = {e.path: TreeEntry(e.mode, e.type, e.sha, e.size) for e in tree.tree}
        return self._trees[sha]

    def entry(self, path: str) -> TreeEntry | None:
        sha = self.head_sha
        *folders, name = path.split("/")
        for folder in folders:
            found = self._tree(sha).get(folder)
            if found is None or found.type != "tree":
                return None
            sha = found.sha
        return self._tree(sha).get(name)

    def blob(self, entry: TreeEntry) -> bytes:
        blob = self.repo.get_git_blob(entry.sha)
        return base64.b64decode(blob.content) if blob.encoding == "base64" else str(blob.content).encode()


def _fail(checklist: Checklist, file: str, name: str, message: str, fix: str) -> None:
    checklist.add(Check(name, Outcome.failed, message, file, fix))


def _previous(root: Path, path: str) -> Request | None:
    """The request as main holds it now (for edits: whose it is, what it was)."""
    target = root / path
    if not target.is_file():
        return None
    try:
        parsed = collect_request_problems(load_yaml(target), path)
    except YamlError:
        return None
    return parsed if isinstance(parsed, Request) else None


@contextmanager
def _scratch_board(root: Path) -> Iterator[Path]:
    """A throwaway copy of main's requests with main's rules beside it: the PR's files are written into it."""
    with tempfile.TemporaryDirectory(prefix="shlepa-gate-") as tmp:
        board = Path(tmp) / "board"
        board.mkdir()
        if (root / "requests").is_dir():
            shutil.copytree(root / "requests", board / "requests", symlinks=True)
        else:
            (board / "requests").mkdir()
        for name in ("eval", "leaderboard.yaml", "flags.yaml"):
            if (root / name).exists():
                (board / name).symlink_to((root / name).resolve())
        yield board


def check_pull_request(
    files: list[PRFile], read: _HeadTree, root: Path, opts: Options, changed_files: int | None = None
) -> Checklist:
    """Every rule of the gate on a PR's file listing; the request files themselves go to main's validator."""
    checklist = Checklist()
    if changed_files is not None and changed_files != len(files):
        _fail(
            checklist,
            "(pull request)",
            "only request files",
            f"GitHub lists {len(files)} of the PR's {changed_files} changed files",
            f"a submission changes at most {MAX_PR_FILES} request files; split the PR",
        )
    if len(files) > MAX_PR_FILES:
        _fail(
            checklist,
            "(pull request)",
            "only request files",
            f"this PR changes {len(files)} files (at most {MAX_PR_FILES})",
            "split the submission into smaller PRs",
        )
        return checklist
    if not files:
        _fail(checklist, "(pull request)", "changes", "this PR changes no file", "add a request file")
        return checklist
    wanted: list[tuple[PRFile, bytes]] = []
    for f in files:
        if f.status not in ALLOWED_STATUSES:
            why = _WHY_NOT.get(f.status, f"this PR has a change GitHub calls {f.status!r}")
            _fail(checklist, f.path, "only request files", why, "a submission may only add or edit request files")
            continue
        if not safe_request_path(f.path):
            _fail(
                checklist,
                f.path,
                "only request files",
                "this PR changes a file outside requests/<org>/<model>/*.yaml",
                "a submission PR may only add or edit request files; move other changes to a separate PR",
            )
            continue
        entry = read.entry(f.path)
        if entry is None or entry.type != "blob" or entry.mode != REGULAR_FILE_MODE:
            kind = "missing" if entry is None else f"a {entry.type} with mode {entry.mode}"
            _fail(
                checklist,
                f.path,
                "file mode",
                f"the PR's head holds {kind} here, not a regular file (mode {REGULAR_FILE_MODE})",
                "commit the request as a plain, non-executable file (no symlink, no submodule)",
            )
            continue
        if entry.size is not None and entry.size > MAX_YAML_BYTES:
            _fail(
                checklist,
                f.path,
                "schema",
                f"file is larger than {MAX_YAML_BYTES} bytes",
                "a request file is a few hundred bytes",
            )
            continue
        data = read.blob(entry)
        if len(data) > MAX_YAML_BYTES:
            _fail(checklist, f.path, "schema", f"file is larger than {MAX_YAML_BYTES} bytes", "")
            continue
        wanted.append((f, data))
    with _scratch_board(root) as board:
        # Written after every copy, so the index the validator builds sees the PR's versions.
        previous = {f.path: _previous(root, f.path) for f, _ in wanted}
        for f, data in wanted:
            target = board / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.write_bytes(data)
        for f, _ in wanted:
            change = Change(ALLOWED_STATUSES[f.status], f.path)
            validate_request_file(board, board / f.path, opts, checklist, change=change, previous=previous[f.path])
    return checklist


def _api(exc: GithubException, where: str) -> GateError:
    return GateError(f"GitHub API error {exc.status} on {where}: {exc.data}")


def run_gate(
    gh: Github, repo_name: str, number: int, root: Path, opts: Options, post: bool = True, target_url: str | None = None
) -> GateResult:
    """Gate one PR: read it through the API, validate it with main's code, post ``shlepa/gate`` on its head.

    The PR author comes from GitHub (never from the files). When the head moved while
    the gate read it, no status is posted: the push that moved it starts a new gate.
    """
    where = f"{repo_name}#{number}"
    try:
        repo = gh.get_repo(repo_name)
        pr = repo.get_pull(number)
        head_sha, author = pr.head.sha, pr.user.login
        files = [PRFile(f.filename, f.status, f.previous_filename) for f in pr.get_files()]
        changed = pr.changed_files
    except GithubException as exc:
        raise _api(exc, where) from None
    opts.pr_author = author
    try:
        checklist = check_pull_request(files, _HeadTree(repo, head_sha), root, opts, changed)
    except GithubException as exc:
        raise _api(exc, f"{where} at {head_sha}") from None
    result = GateResult(number, head_sha, author, checklist)
    result.state = "success" if checklist.ok and not checklist.by(Outcome.failed) else "failure"
    if not post:
        return result
    try:
        now = repo.get_pull(number).head.sha
        if now != head_sha:
            result.notes.append(f"the PR's head moved to {now} while it was checked; no status posted for {head_sha}")
            return result
        repo.get_commit(head_sha).create_status(
            state=result.state, description=result.description, context=GATE_CONTEXT, target_url=target_url or NotSet
        )
    except GithubException as exc:
        raise _api(exc, f"{where} (status)") from None
    result.posted = True
    return result


__all__ = ["GATE_CONTEXT", "GateError", "GateResult", "PRFile", "check_pull_request", "run_gate", "safe_request_path"]
