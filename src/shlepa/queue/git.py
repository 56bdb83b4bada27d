"""Git through subprocess argument lists: commit given paths, publish with retries, never force.

Runners share one branch (main) and many of them push at once. Every change a
runner makes (a claim, results, a failure, a sweep) goes through
:meth:`GitRepo.publish`: apply the change to a fresh copy of the remote branch,
commit only the paths it returns, push, and hand back the value it returns; when the push is rejected, fetch and
rebase and push again with backoff; when the rebase conflicts (someone else
changed the same request file), abort it, reset to the remote and apply the change
again, so the change function decides on the newest state. History stays linear
(rebase, never merge) and nothing is ever force-pushed.

A token for HTTPS pushes is handed to git through ``GIT_CONFIG_*`` environment
variables, never on a command line or in ``.git/config`` (checkout runs with
``persist-credentials: false``).
"""

from __future__ import annotations

import base64
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

log = logging.getLogger("shlepa.git")


class GitError(ShlepaError, RuntimeError):
    """A git command failed; the message carries the command and git's stderr."""


class PublishError(GitError):
    """A change could not be pushed after every retry."""


class _PushRejected(Exception):
    """The remote moved (or a hook refused for now): rebase and push again."""


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
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            env["GIT_CONFIG_COUNT"] = str(count + 1)
            env[f"GIT_CONFIG_KEY_{count}"] = "http.https://github.com/.extraheader"
            env[f"GIT_CONFIG_VALUE_{count}"] = f"AUTHORIZATION: basic {basic}"
        return env

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
        """Make the work tree exactly the remote branch (tracked files only; untracked caches stay)."""
        self.fetch()
        self.git("checkout", "--quiet", "-B", self.branch, self.upstream)
        self.git("reset", "--quiet", "--hard", self.upstream)

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

    def push(self) -> bool:
        """Push HEAD to the branch; False when the remote moved on (rejected), never forced."""
        proc = self.git("push", "--quiet", "--porcelain", self.remote, f"HEAD:refs/heads/{self.branch}", check=False)
        if proc.returncode == 0:
            return True
        text = proc.stdout + proc.stderr
        if "[rejected]" in text or "non-fast-forward" in text or "fetch first" in text or "stale info" in text:
            return False
        # A remote hook or lock can also refuse a racing push; retry those too.
        if "cannot lock ref" in text or "failed to update ref" in text or "remote rejected" in text:
            return False
        raise GitError(f"git push failed ({proc.returncode}): {text.strip()[-2000:]}")

    def rebase(self) -> bool:
        """Rebase local commits onto the remote branch; on conflict abort and return False."""
        proc = self.git("rebase", "--quiet", self.upstream, check=False)
        if proc.returncode == 0:
            return True
        self.git("rebase", "--abort", check=False)
        return False

    # -- the one way runners change the branch -----------------------------------
    def publish(self, apply: ApplyFn, message: str, *, sync_first: bool = True) -> Published[Any]:
        """Apply, commit, push; retry on a moved remote. Returns the pushed commit and the apply's value.

        ``apply`` is called on the newest remote state (again after a conflicting
        rebase); the value of its last call is returned, also when nothing was committed.
        """
        if sync_first:
            self.sync()
        change = apply()
        if not change.paths or not self.commit(change.paths, message):
            return Published(None, change.value)
        # Rejected pushes are retried with jittered exponential backoff (tenacity); before each
        # retry the local commit is rebased onto the newest remote, or the change applied again.
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=retry_if_exception_type(_PushRejected),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        self.fetch()
                        if not self.rebase():
                            log.info("rebase conflicted: applying the change again on the newest %s", self.upstream)
                            self.git("reset", "--quiet", "--hard", self.upstream)
                            change = apply()
                            if not change.paths or not self.commit(change.paths, message):
                                return Published(None, change.value)
                    if self.push():
                        return Published(self.head(), change.value)
                    log.info("push rejected (attempt %d/%d): fetching and rebasing", number, self.attempts)
                    raise _PushRejected
        except _PushRejected:
            pass
        # Leave the work tree on the remote state so nothing half-published lingers.
        self.git("reset", "--quiet", "--hard", self.upstream, check=False)
        raise PublishError(f"could not push {message!r} to {self.upstream} after {self.attempts} attempts")
