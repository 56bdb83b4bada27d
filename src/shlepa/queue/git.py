"""Git through subprocess argument lists: commit given paths, publish with retries, never force.

Runners share one branch (main) and many of them push at once. Every change a
runner makes (a claim, results, a failure, a sweep) goes through
:meth:`GitRepo.publish`: make the work tree exactly the remote branch, apply the
change, commit only the paths it returns, push, and hand back the value it
returns. When the push does not go through, the change is applied again on a
fresh copy of the remote branch, never rebased: a runner's local history is never
pushed, only the one commit it just made on top of what it fetched, so a commit
that the owners removed from main with a force-push cannot come back through a
runner that still holds it. The push carries a lease on the fetched commit, so
main moving (or being rewritten) between the fetch and the push rejects it too;
the commit is always a fast-forward of that lease, nothing is ever force-pushed.

What a push can meet, and what publish does:

- the remote moved on (``non-fast-forward``, ``stale info``, a racing ref lock):
  fetch, apply again, push again;
- a transient failure (an HTTP 502, a reset connection, a hook that fails for now):
  the same, after a jittered exponential backoff (tenacity);
- a refusal that cannot change by retrying (a protected branch or ruleset,
  ``GH006``/``GH013``, a file over GitHub's size limit, no permission): stop at once;
- either of the last two after every attempt: :class:`PublishError` carrying git's
  own message (``git_output``), the work tree left on the remote state; the caller
  decides where the change goes instead (the runner keeps its results on a side
  branch and in a folder, see :mod:`shlepa.queue.runner`).

A token for HTTPS pushes is handed to git through ``GIT_CONFIG_*`` environment
variables, never on a command line or in ``.git/config`` (checkout runs with
``persist-credentials: false``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from shlepa.env import environment
from shlepa.errors import ShlepaError
from shlepa.io.gitauth import with_token

log = logging.getLogger("shlepa.git")


class GitError(ShlepaError, RuntimeError):
    """A git command failed; the message carries the command and git's stderr."""


class PublishError(GitError):
    """A change could not be pushed: refused for good, or still failing after every retry.

    ``git_output`` is the tail of git's own message (the remote's ``remote:`` lines
    included), so whoever records the failure can show it as git said it.
    """

    def __init__(self, message: str, *, git_output: str = "", attempts: int = 0, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.git_output = git_output
        self.attempts = attempts


#: How many of git's last output lines an error carries.
GIT_OUTPUT_LINES = 12

# Refusals that no retry can change: a protected branch or ruleset, a file over GitHub's
# limit, a missing permission. Anything else that fails (a 502, a reset connection, a
# hook declining for now) is retried with backoff.
_REFUSED = (
    "GH006",
    "GH013",
    "GH001",
    "protected branch",
    "Repository rule violations",
    "Permission to",
    "Authentication failed",
    "returned error: 403",
    "The requested URL returned error: 401",
)


def git_output_tail(text: str, lines: int = GIT_OUTPUT_LINES) -> str:
    """The last lines of git's output, trimmed: what an error message quotes."""
    kept = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])[-2000:]


class _Retry(Exception):
    """This attempt did not go through, for a reason a later attempt may not meet."""

    def __init__(self, output: str):
        super().__init__(output)
        self.output = output


T = TypeVar("T")


@dataclass(frozen=True)
class Change(Generic[T]):
    """What one apply did: the paths to commit (none: nothing to do) and the value its caller wants back."""

    paths: Sequence[Path | str] = ()
    value: T | None = None


@dataclass(frozen=True)
class Published(Generic[T]):
    """A publish's outcome: the pushed commit (None when nothing was committed) and the last apply's value."""

    sha: str | None
    value: T | None = None


# The change a publish applies: writes files under the work tree on top of the
# newest remote state and returns what to commit, with empty paths when there is
# nothing (left) to do, e.g. the request was claimed by someone else meanwhile.
ApplyFn = Callable[[], Change[Any]]


@dataclass
class GitRepo:
    """A work tree whose branch tracks ``remote/branch``."""

    path: Path
    remote: str = "origin"
    branch: str = "main"
    token: str | None = None
    attempts: int = 8
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_env(cls, path: Path, **kw: object) -> GitRepo:
        """Token from ``SHLEPA_GIT_TOKEN`` (the workflow sets it from ``secrets.GITHUB_TOKEN``)."""
        return cls(Path(path), token=environment().shlepa_git_token, **kw)  # type: ignore[arg-type]

    # -- plumbing --------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("GIT_TERMINAL_PROMPT", "0")
        return with_token(env, self.token)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, env=self._env(), capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc

    @property
    def upstream(self) -> str:
        return f"{self.remote}/{self.branch}"

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def fetch(self) -> None:
        self.git("fetch", "--quiet", self.remote, self.branch)

    def sync(self) -> None:
        """Make the work tree exactly the remote branch (tracked files only; untracked caches stay).

        A fetch that fails (a 502, a reset connection) is retried with backoff.
        """
        try:
            for attempt in self._retrying():
                with attempt:
                    self._fresh(fetch=True)
        except _Retry as exc:
            raise GitError(
                f"git fetch {self.remote} {self.branch} failed {self.attempts} times: {exc.output}"
            ) from None

    def dirty_paths(self, under: str | None = None) -> list[str]:
        """Changed or untracked files (relative paths), optionally below one folder."""
        args = ["status", "--porcelain", "--untracked-files=all", "-z"]
        if under:
            args += ["--", under]
        out = self.git(*args).stdout
        return [entry[3:] for entry in out.split("\0") if entry]

    def commit(self, paths: Sequence[Path | str], message: str) -> bool:
        """Commit exactly these paths (nothing else that may be staged); False if unchanged."""
        rels = [
            str(Path(p).resolve().relative_to(self.path.resolve())) if Path(p).is_absolute() else str(p) for p in paths
        ]
        self.git("add", "--", *rels)
        if not self.git("diff", "--cached", "--quiet", "--", *rels, check=False).returncode:
            return False
        self.git("commit", "--quiet", "--no-verify", "-m", message, "--", *rels)
        return True

    def push(self, lease: str | None = None, ref: str | None = None) -> None:
        """Push HEAD to ``ref`` (default: the branch), only while the remote still is ``lease``; never forced.

        Raises :class:`_Retry` when another attempt may succeed (the remote moved, a
        transient failure) and :class:`PublishError` for a refusal no retry changes.
        """
        target = ref or f"refs/heads/{self.branch}"
        args = ["push", "--porcelain", self.remote, f"HEAD:{target}"]
        if lease is not None:
            # A compare-and-swap, not a force: HEAD is one commit on top of ``lease``.
            args.insert(2, f"--force-with-lease={target}:{lease}")
        proc = self.git(*args, check=False)
        if proc.returncode == 0:
            return
        text = git_output_tail(proc.stderr + "\n" + proc.stdout)
        if any(word in text for word in _REFUSED):
            raise PublishError(f"push to {target} refused: {text}", git_output=text)
        raise _Retry(text)

    def rebase(self) -> bool:
        """Rebase local commits onto the remote branch; on conflict abort and return False.

        Not used by :meth:`publish` (which applies its change again instead): kept for
        tools that want git's own rebase on a work tree they own.
        """
        proc = self.git("rebase", "--quiet", self.upstream, check=False)
        if proc.returncode == 0:
            return True
        self.git("rebase", "--abort", check=False)
        return False

    # -- the one way runners change the branch -----------------------------------
    def _fresh(self, fetch: bool) -> str:
        """Work tree and branch exactly at the remote branch (fetched first if asked); its commit."""
        if fetch:
            proc = self.git("fetch", "--quiet", self.remote, self.branch, check=False)
            if proc.returncode != 0:
                raise _Retry(git_output_tail(proc.stderr))
        # -f: an untracked file in the way (a shared details text another runner committed
        # meanwhile) is replaced; the caller re-applies its own files after this anyway.
        self.git("checkout", "--quiet", "-f", "-B", self.branch, self.upstream)
        self.git("reset", "--quiet", "--hard", self.upstream)
        return self.git("rev-parse", self.upstream).stdout.strip()

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=retry_if_exception_type(_Retry),
            sleep=self.sleep,
            reraise=True,
        )

    def publish(self, apply: ApplyFn, message: str, *, sync_first: bool = True) -> Published[Any]:
        """Apply on the remote state, commit, push; on failure apply again on a fresh fetch.

        ``apply`` is called on the newest remote state (again for every retry, so it
        decides on what is there then); the value of its last call is returned, also
        when nothing was committed. With ``sync_first=False`` the first attempt uses
        the last fetched state (the caller just synced); local commits are dropped
        either way, so only this change is ever pushed.
        """
        change: Change[Any] = Change()
        try:
            for attempt in self._retrying():
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        log.info("push %r did not go through: applying it again on a fresh %s", message, self.upstream)
                    base = self._fresh(fetch=sync_first or number > 1)
                    change = apply()
                    if not change.paths or not self.commit(change.paths, message):
                        return Published(None, change.value)
                    self.push(lease=base)
                    return Published(self.head(), change.value)
        except _Retry as exc:
            output = exc.output
        except PublishError:
            self._leave_clean()
            raise
        self._leave_clean()
        raise PublishError(
            f"could not push {message!r} to {self.upstream} after {self.attempts} attempts: {output}",
            git_output=output,
            attempts=self.attempts,
        )

    def push_side_branch(self, branch: str, apply: ApplyFn, message: str) -> str | None:
        """Commit a change on top of the remote branch and push it to a new side ``branch``; its commit.

        None when the change has nothing to commit (e.g. the request was recorded meanwhile).

        For a change main refused for good: it lands where the owners can review and
        merge it, and the work tree goes back to the remote state. Transient failures
        are retried like :meth:`publish`; a refusal raises :class:`PublishError`.
        """
        try:
            for attempt in self._retrying():
                with attempt:
                    self._fresh(fetch=attempt.retry_state.attempt_number > 1)
                    change = apply()
                    if not change.paths or not self.commit(change.paths, message):
                        return None  # nothing (left) to keep
                    sha = self.head()
                    self.push(ref=f"refs/heads/{branch}")
                    return sha
        except _Retry as exc:
            raise PublishError(
                f"could not push {branch} after {self.attempts} attempts: {exc.output}", git_output=exc.output
            ) from None
        finally:
            self._leave_clean()
        raise AssertionError("unreachable")  # pragma: no cover

    def _leave_clean(self) -> None:
        """Leave the work tree on the remote state, so nothing half-published lingers."""
        self.git("checkout", "--quiet", "-f", "-B", self.branch, self.upstream, check=False)
        self.git("reset", "--quiet", "--hard", self.upstream, check=False)
