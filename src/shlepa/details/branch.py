"""The ``branch`` store: details on an orphan branch of the leaderboard's own repository.

Files are written with git plumbing (``hash-object``, a throwaway index,
``commit-tree``) so no work tree is checked out, and pushed to
``refs/heads/<branch>`` without force; a rejected push (another runner pushed
first) is retried on the newest tip with jittered exponential backoff (tenacity), as
``shlepa.queue.git`` does for main. Only ``--depth=1`` of the branch is fetched, into
``refs/remotes/<remote>/<branch>``. The branch is never merged into main, and checkouts
of main never fetch it (actions/checkout fetches one ref; a clone should use
``--single-branch``). The publish job fetches it and ``shlepa build`` copies the files
the site needs into ``details/`` of the Pages site, so ``base_url`` is site-relative.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from shlepa.details.store import DetailsMissing, DetailsRef, StoreError, ref_of
from shlepa.io.gitauth import with_token

#: Where the build puts the branch's files inside the site (the browser's base URL, site-relative).
SITE_FOLDER = "details/"


class _Rejected(Exception):
    """The push was refused (moved tip, hook, lock): fetch and try again."""


@dataclass
class BranchStore:
    """Details on ``branch`` of the repository at ``root`` (its ``remote``)."""

    root: Path
    branch: str = "details"
    remote: str = "origin"
    token: str | None = field(default=None, repr=False)
    attempts: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    kind: str = "branch"
    base_url: str = SITE_FOLDER
    _fetched: bool = field(default=False, repr=False)

    @property
    def ref(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    def describe(self) -> str:
        return f"branch store {self.remote}/{self.branch}"

    # -- plumbing ----------------------------------------------------------------------
    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("GIT_TERMINAL_PROMPT", "0")
        # commit-tree needs an identity; a runner's checkout may have none configured.
        for key, value in (
            ("GIT_AUTHOR_NAME", "shlepa"),
            ("GIT_AUTHOR_EMAIL", "shlepa@users.noreply.github.com"),
            ("GIT_COMMITTER_NAME", "shlepa"),
            ("GIT_COMMITTER_EMAIL", "shlepa@users.noreply.github.com"),
        ):
            env.setdefault(key, value)
        env = with_token(env, self.token)
        env.update(extra or {})
        return env

    def _git(
        self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=self._env(env), input=data, capture_output=True, check=False
        )
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()[-2000:]
            raise StoreError(f"git {args[0]} failed ({proc.returncode}): {err}", path=self.describe())
        return proc

    def fetch(self) -> None:
        """The branch's tip into ``ref`` (depth 1); a branch not created yet leaves no ref."""
        proc = self._git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--depth=1",
            self.remote,
            f"+refs/heads/{self.branch}:{self.ref}",
            check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace")
            if "couldn't find remote ref" not in err.lower():
                raise StoreError(f"cannot fetch: {err.strip()[-2000:]}", path=self.describe())
            self._git("update-ref", "-d", self.ref, check=False)
        self._fetched = True

    def _tip(self) -> str | None:
        proc = self._git("rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}", check=False)
        return proc.stdout.decode().strip() or None

    def _ensure_fetched(self) -> None:
        if not self._fetched:
            self.fetch()

    # -- the interface -------------------------------------------------------------------
    def public_url(self, key: str) -> str:
        return self.base_url + key

    def exists(self, key: str) -> bool:
        self._ensure_fetched()
        if self._tip() is None:
            return False
        return self._git("cat-file", "-e", f"{self.ref}:{key}", check=False).returncode == 0

    def get(self, key: str) -> bytes:
        self._ensure_fetched()
        proc = self._git("cat-file", "blob", f"{self.ref}:{key}", check=False)
        if proc.returncode != 0:
            raise DetailsMissing(f"no file {key} on the branch", path=self.describe())
        return proc.stdout

    def put(self, key: str, data: bytes) -> DetailsRef:
        self.put_many({key: data})
        return ref_of(data)

    def put_many(self, files: dict[str, bytes]) -> str:
        """One commit adding every file, pushed with retries; returns the pushed commit."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=retry_if_exception_type(_Rejected),
            sleep=self.sleep,
            reraise=True,
        )
        last = ""
        try:
            for attempt in retrying:
                with attempt:
                    self.fetch()
                    commit = self._commit(files, self._tip())
                    push = self._git(
                        "push", "--quiet", "--porcelain", self.remote, f"{commit}:refs/heads/{self.branch}", check=False
                    )
                    if push.returncode == 0:
                        self._git("update-ref", self.ref, commit)
                        return commit
                    last = (push.stdout + push.stderr).decode("utf-8", "replace").strip()[-2000:]
                    raise _Rejected
        except _Rejected:
            pass
        raise StoreError(
            f"push of {len(files)} file(s) refused after {self.attempts} attempts: {last}", path=self.describe()
        )

    def _commit(self, files: dict[str, bytes], parent: str | None) -> str:
        with tempfile.TemporaryDirectory(prefix="shlepa-details-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self._git("read-tree", parent, env=index)
            for key, data in files.items():
                blob = self._git("hash-object", "-w", "--stdin", data=data).stdout.decode().strip()
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{key}", env=index)
            tree = self._git("write-tree", env=index).stdout.decode().strip()
        message = f"details: {len(files)} file(s)".encode()
        args = ["commit-tree", tree, *(["-p", parent] if parent else [])]
        return self._git(*args, data=message).stdout.decode().strip()

    def export(self, keys: Iterable[str], folder: Path) -> list[str]:
        """Write these keys' files under ``folder`` (the site's details/); returns the keys missing."""
        self._ensure_fetched()
        wanted = sorted(set(keys))
        if not wanted or self._tip() is None:
            return wanted
        listed = self._git("ls-tree", "-r", "--name-only", "-z", self.ref).stdout.decode().split("\0")
        present = set(listed)
        found = [k for k in wanted if k in present]
        if found:
            with tempfile.TemporaryDirectory(prefix="shlepa-details-") as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                folder.mkdir(parents=True, exist_ok=True)
                self._git(
                    f"--work-tree={folder}",
                    "checkout",
                    self.ref,
                    "--pathspec-from-file=-",
                    "--pathspec-file-nul",
                    data="\0".join(found).encode(),
                    env=env,
                )
        return [k for k in wanted if k not in present]
