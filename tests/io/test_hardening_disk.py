"""Disk full and permission errors while writing results, requests and the site.

The leaderboard lives on a real 32 MiB tmpfs when this process may mount one (root in
a container usually may); otherwise the same tests run on a simulated ``ENOSPC``
(``os.write`` patched to fail once the quota is used up). The test output says which
ran. Every write must fail with a clear error naming the file, leave the previous
data byte for byte, and leave no temporary file behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shlepa.io import atomic
from shlepa.records.request import Status, load_request, new_request, save_request
from shlepa.records.results import write_results
from shlepa.site.build import BuildError, build_site

from support.result_sets import make_repo

SIZE = 32 * 1024 * 1024


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """(folder, fill): a folder on a tiny filesystem, and a function that fills it up."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        == 0
    )
    budget = {"left": None}

    if mounted:

        def fill() -> None:
            # Big writes first, then small ones for the last few bytes tmpfs keeps.
            for name, chunk in (("filler", 65536), ("filler2", 512)):
                try:
                    with open(mnt / name, "wb") as fh:
                        while True:
                            fh.write(b"\0" * chunk)
                            fh.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
    else:
        real_write = os.write

        def limited_write(fd: int, data) -> int:
            if budget["left"] is not None:
                if len(data) > budget["left"]:
                    raise OSError(errno.ENOSPC, "No space left on device")
                budget["left"] -= len(data)
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", limited_write)

        def fill() -> None:
            budget["left"] = 0

    with capsys.disabled():
        print(f"\n[hardening] disk full: {'real tmpfs of 32 MiB' if mounted else 'simulated ENOSPC (mount refused)'}")
    yield mnt, fill, mounted
    if mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _no_temp_files(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*.tmp")] + [str(p) for p in folder.rglob(".*building*")]


def test_results_requests_and_site_survive_a_full_disk(small_disk, tmp_path, capsys):
    mnt, fill, _mounted = small_disk
    root = make_repo(mnt / "board", 6, details_every=2, missing_every=0, queue=2)
    site = mnt / "board" / "_site"
    report = build_site(root, site, work=tmp_path / "work")  # the build's scratch folder on the big disk
    before_site = _snapshot(site)
    before_results = _snapshot(root / "results")
    before_requests = _snapshot(root / "requests")
    req_path = sorted((root / "requests").rglob("*.yaml"))[0]
    request = load_request(req_path)

    fill()
    outcomes = {}
    # 1. results: a new results file and its details.
    payload_src = sorted((root / "results").rglob("results_*.json"))[0]
    import json

    payload = json.loads(payload_src.read_text())
    details = [
        {
            "benchmark": "arc",
            "task": "t",
            "doc_id": i,
            "prompt": "p" * 2000,
            "choices": [],
            "target": 0,
            "response": None,
            "filter": "none",
            "metrics": {},
            "doc": {},
        }
        for i in range(500)
    ]
    with pytest.raises(atomic.WriteError) as exc:
        write_results(root, payload, details, datetime(2030, 1, 1, tzinfo=UTC))
    outcomes["write_results"] = str(exc.value)
    # The first write that fails names its file: a shared details text, or the results folder's.
    assert "No space left" in str(exc.value) and (
        str(root / "results") in str(exc.value) or str(root / "details") in str(exc.value)
    )

    # 2. a request status change.
    with pytest.raises(atomic.WriteError) as exc:
        save_request(request.with_status(Status.failed, "x" * 1900), root)
    outcomes["save_request"] = str(exc.value)
    assert str(req_path) in str(exc.value) and "No space left" in str(exc.value)

    # 3. the site.
    with pytest.raises(BuildError) as exc:
        build_site(root, site, work=tmp_path / "work")
    outcomes["shlepa build"] = str(exc.value)
    assert "No space left" in str(exc.value) and "previous site" in str(exc.value)

    assert _snapshot(site) == before_site
    assert _snapshot(root / "results") == before_results
    assert _snapshot(root / "requests") == before_requests
    assert _no_temp_files(mnt) == []
    assert load_request(req_path) == request
    with capsys.disabled():
        for name, message in outcomes.items():
            print(f"[hardening] disk full: {name}: {message[:150]}")
        print(
            f"[hardening] disk full: previous data intact: site {len(before_site)} files, results "
            f"{len(before_results)} files, requests {len(before_requests)} files; temporary files left 0; "
            f"site was {report.bytes / 1e6:.1f} MB"
        )


def test_permission_denied_on_rename_keeps_the_old_file(tmp_path, monkeypatch):
    """Root ignores file modes, so the refusal is simulated where the atomic rename happens."""
    req = new_request("org/model", "a" * 40, "float16", "pretrained", "mit", "alice")
    path = save_request(req, tmp_path)
    old = path.read_bytes()

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", denied)
    with pytest.raises(atomic.WriteError, match=r"a{40}_float16.yaml: Permission denied"):
        save_request(req.with_status(Status.running, "claimed"), tmp_path)
    assert path.read_bytes() == old
    assert list(path.parent.glob("*.tmp")) == []


def test_site_build_that_cannot_write_keeps_the_previous_site(tmp_path, monkeypatch):
    root = make_repo(tmp_path / "board", 3, details_every=0, missing_every=0, queue=0)
    site = tmp_path / "site-out"
    build_site(root, site)
    before = _snapshot(site)
    real = shutil.copyfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(args[1]))

    monkeypatch.setattr(shutil, "copyfile", denied)
    with pytest.raises(BuildError, match=r"Permission denied.*previous site"):
        build_site(root, site)
    monkeypatch.setattr(shutil, "copyfile", real)
    assert _snapshot(site) == before
    assert not list(tmp_path.glob(".site-out.*"))
