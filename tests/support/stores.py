"""A details store of each backend on local servers, and a way to make it refuse (tests only)."""

from __future__ import annotations

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
