"""A throwaway leaderboard repository with a local bare remote, for the queue and runner tests.

Real git throughout: a bare repository plays GitHub, each runner works in its own
clone, exactly as self-hosted runners each have their own checkout.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shlepa.records.request import new_request, save_request

PROJECT = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Shlepa Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Shlepa Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    ).stdout


def sha_for(i: int) -> str:
    return f"{i:040x}"


def add_requests(root: Path, n: int, start: int = 0, precision: str = "float32") -> list[Path]:
    """n PENDING requests, submitted one minute apart (the first is the oldest)."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rels = []
    for i in range(start, start + n):
        req = new_request(f"org{i % 3}/model-{i}", sha_for(i + 1), precision, "pretrained", "apache-2.0", "tester")
        at = base + timedelta(minutes=i)
        req = req.model_copy(update={"submitted_at": at, "history": [req.history[0].model_copy(update={"at": at})]})
        save_request(req, root)
        rels.append(req.relpath)
    return rels


def clone(remote: Path, dest: Path) -> Path:
    git(dest.parent, "clone", "--quiet", str(remote), dest.name)
    return dest


def publish_requests(seed: Path, n: int, start: int = 0) -> list[Path]:
    rels = add_requests(seed, n, start)
    git(seed, "add", "requests")
    git(seed, "commit", "--quiet", "-m", f"add {n} requests")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return rels


#: A pre-receive hook like a GitHub ruleset on main refusing results (GH013); for ``install_hook``.
RULESET = """#!/bin/sh
# Like a GitHub ruleset on main: no change under results/ may land there.
while read old new ref; do
  [ "$ref" = refs/heads/main ] || continue
  if git diff --name-only "$old" "$new" | grep -q '^results/'; then
    echo "error: GH013: Repository rule violations found for refs/heads/main." >&2
    echo "- Changes to results/ must come from the publish job" >&2
    exit 1
  fi
done
"""


def install_hook(remote: Path, text: str) -> None:
    """Make a bare remote run ``text`` as its pre-receive hook (a real refusal, git's own message)."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(text)
    hook.chmod(0o755)
