"""A details store of each backend on local servers, and a way to make it refuse (tests only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shlepa.details.branch import BranchStore
from shlepa.details.hf import HfStore
from shlepa.details.s3 import S3Store

BACKENDS = ["branch", "hf", "s3"]


def rejecting_hook(remote: Path) -> None:
    """The remote refuses every push to the details branch (main still takes pushes)."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nwhile read old new ref; do\n"
        '  if [ "$ref" = refs/heads/details ]; then echo "details branch is protected" >&2; exit 1; fi\n'
        "done\nexit 0\n"
    )
    hook.chmod(0o755)


def store_for(kind: str, request: pytest.FixtureRequest, work: Path, remote: Path) -> tuple[Any, Callable[[], None]]:
    """(a store of ``kind`` for the clone ``work`` of ``remote``, a function that makes it refuse or go down)."""
    if kind == "branch":
        return BranchStore(work, sleep=lambda s: None, attempts=2), lambda: rejecting_hook(remote)
    if kind == "hf":
        hub = request.getfixturevalue("fake_hub")
        hub.add_dataset("board/details")
        import huggingface_hub.utils._http as hf_http

        request.getfixturevalue("monkeypatch").setattr(hf_http.time, "sleep", lambda s: None)  # its own retries
        return HfStore("board/details", endpoint=hub.endpoint), lambda: hub.set_outage("500")
    s3 = request.getfixturevalue("fake_s3")
    store = S3Store("details", public_url="https://details.example.org/", prefix="v1/", endpoint_url=s3.endpoint)
    return store, s3.stop


def store_settings(kind: str, store: Any) -> str:
    """leaderboard.yaml's details section that opens ``store`` (one of ``store_for``'s)."""
    if kind == "hf":
        return f"details:\n  store: hf\n  hf: {{repo: board/details, endpoint: '{store.endpoint}'}}\n"
    if kind == "s3":
        return (
            "details:\n  store: s3\n  s3: {bucket: details, prefix: v1/, "
            f"endpoint_url: '{store.endpoint_url}', public_url: 'https://details.example.org/'}}\n"
        )
    return "details:\n  store: branch\n"


def move_details_to_store(store: Any, root: Path) -> list[str]:
    """What publishing with a store does to a board written beside its results: every details
    file goes into ``store`` and leaves the results folder; its results file names its sha256.
    Returns the store keys, in results-file order."""
    from shlepa.details import upload_details
    from shlepa.io import atomic
    from shlepa.records.results import iter_results_files

    keys = []
    for path in iter_results_files(root):
        data = json.loads(path.read_text(encoding="utf-8"))
        details = path.parent / str(data.get("details_file") or "")
        if not data.get("details_file") or not details.is_file():
            continue
        (ref,) = upload_details(store, [details])
        details.unlink()
        lm_eval = data.pop("lm_eval", None)
        atomic.write_json(path, {**data, "details_sha256": ref.sha256, "lm_eval": lm_eval})
        keys.append(ref.key)
    return keys


def board_with_stored_details(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest, models: int, details_every: int
) -> tuple[Path, Any, list[str]]:
    """A fake board in a git repository with a bare remote, its details moved into a store of
    ``kind``: (root, store, the store keys)."""
    from support.gitboard import git
    from support.result_sets import make_repo

    root = make_repo(tmp_path / "board", models, details_every=details_every)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(root, "init", "--quiet", "-b", "main")
    git(root, "remote", "add", "origin", str(remote))
    store, _break = store_for(kind, request, root, remote)
    return root, store, move_details_to_store(store, root)
