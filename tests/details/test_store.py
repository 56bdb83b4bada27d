"""The three details stores behind one interface, each against a real local server or remote.

branch: a bare git remote (a pre-receive hook plays the refusing server); hf: the fake Hub's
dataset routes (upload + commit + resolve, as huggingface_hub 2.x calls them); s3: moto's
S3 server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from shlepa.config import DetailsSettings, SettingsError, load_settings
from shlepa.details import DetailsMissing, StoreError, open_store, sha256_hex, upload_details
from shlepa.details.branch import BranchStore
from shlepa.details.hf import HfStore
from shlepa.records.keys import details_key

from support.gitboard import git
from support.stores import BACKENDS, store_for

DATA = gzip.compress(b'{"doc_id": 0, "metrics": {"acc": 1}}\n', mtime=0)
KEY = details_key(sha256_hex(DATA))


@pytest.fixture(params=BACKENDS)
def store_and_break(request: pytest.FixtureRequest) -> tuple[object, Callable[[], None]]:
    """(a store of this backend, a function that makes it refuse or go down)."""
    remote, seed = request.getfixturevalue("git_board")
    return store_for(request.param, request, seed, remote)


def test_a_file_put_is_there_byte_for_byte(store_and_break) -> None:
    store, _break = store_and_break
    assert not store.exists(KEY)
    with pytest.raises(DetailsMissing):
        store.get(KEY)
    ref = store.put(KEY, DATA)
    assert (ref.key, ref.sha256, ref.bytes) == (KEY, sha256_hex(DATA), len(DATA))
    assert store.exists(KEY)
    assert store.get(KEY) == DATA
    assert store.public_url(KEY).endswith("/" + KEY)


def test_upload_details_names_files_by_content_and_skips_what_is_there(store_and_break, tmp_path: Path) -> None:
    store, _break = store_and_break
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    a.write_bytes(DATA)
    b.write_bytes(DATA)
    refs = upload_details(store, [a, b])
    assert [r.key for r in refs] == [KEY, KEY]
    assert store.get(KEY) == DATA


def test_a_store_that_is_down_or_refuses_is_a_store_error(store_and_break, tmp_path: Path) -> None:
    store, break_it = store_and_break
    break_it()
    f = tmp_path / "d.jsonl.gz"
    f.write_bytes(DATA)
    with pytest.raises(StoreError) as err:
        upload_details(store, [f])
    assert store.describe() in str(err.value)


def test_branch_store_is_an_orphan_branch_main_never_carries(git_board, tmp_path: Path) -> None:
    remote, seed = git_board
    main_before = git(remote, "rev-parse", "main").strip()
    BranchStore(seed).put(KEY, DATA)
    other = details_key("ab" * 32)
    BranchStore(seed).put(other, b"other")
    assert git(remote, "rev-parse", "main").strip() == main_before
    assert git(remote, "rev-list", "--count", "details").strip() == "2"
    tree = git(remote, "ls-tree", "-r", "--name-only", "details").split()
    assert tree == sorted([KEY, other])
    proc = subprocess.run(["git", "merge-base", "main", "details"], cwd=remote, capture_output=True)
    assert proc.returncode == 1, "the details branch shares history with main"
    # A main-only clone (as actions/checkout makes) does not receive it.
    clone = tmp_path / "main-only"
    git(tmp_path, "clone", "--quiet", "--single-branch", "--branch", "main", str(remote), str(clone))
    assert "details" not in git(clone, "branch", "-a")


def test_branch_store_push_race_is_retried_on_the_new_tip(git_board, tmp_path: Path) -> None:
    remote, seed = git_board
    second = tmp_path / "second"
    git(tmp_path, "clone", "--quiet", str(remote), str(second))
    first_store, second_store = BranchStore(seed), BranchStore(second, sleep=lambda s: None)
    first_store.put(KEY, DATA)
    second_store._fetched = True  # stale: it has not seen the first push
    other = details_key("cd" * 32)
    second_store.put(other, b"two")
    assert sorted(git(remote, "ls-tree", "-r", "--name-only", "details").split()) == sorted([KEY, other])


def test_branch_store_exports_only_what_the_site_needs(git_board, tmp_path: Path) -> None:
    _remote, seed = git_board
    store = BranchStore(seed)
    store.put(KEY, DATA)
    store.put(details_key("ef" * 32), b"not needed")
    out = tmp_path / "site" / "details"
    missing = store.export([KEY, details_key("12" * 32)], out)
    assert missing == [details_key("12" * 32)]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [KEY]
    assert (out / KEY).read_bytes() == DATA


def test_hf_store_files_are_served_with_cors_at_the_resolve_url(fake_hub) -> None:
    fake_hub.add_dataset("board/details")
    store = HfStore("board/details", endpoint=fake_hub.endpoint)
    store.put(KEY, DATA)
    resp = httpx2.get(store.public_url(KEY), headers={"Origin": "https://board.example.org"})
    assert resp.status_code == 200 and resp.content == DATA
    assert resp.headers["access-control-allow-origin"] == "*"
    assert store.public_url(KEY) == f"{fake_hub.endpoint}/datasets/board/details/resolve/main/{KEY}"
    assert ("POST", "/api/datasets/board/details/commit/main") in fake_hub.requests


def test_the_store_comes_from_leaderboard_yaml(tmp_path: Path, fake_s3) -> None:
    (tmp_path / "leaderboard.yaml").write_text(
        "details:\n  store: s3\n"
        f"  s3: {{bucket: details, endpoint_url: '{fake_s3.endpoint}', public_url: 'https://cdn.example.org/'}}\n"
    )
    store = open_store(load_settings(tmp_path).details, tmp_path)
    assert store.kind == "s3" and store.base_url == "https://cdn.example.org/"
    store.put(KEY, DATA)
    assert open_store(load_settings(tmp_path).details, tmp_path).exists(KEY)
    assert open_store(DetailsSettings(), tmp_path).kind == "branch"


@pytest.mark.parametrize(
    ("yaml", "field"),
    [
        ("details:\n  store: hf\n", "hf.repo"),
        ("details:\n  store: s3\n  s3: {bucket: my-bucket}\n", "s3.public_url"),
        ("details:\n  store: ftp\n", "store"),
    ],
)
def test_an_incomplete_store_setting_is_a_clear_error(tmp_path: Path, yaml: str, field: str) -> None:
    (tmp_path / "leaderboard.yaml").write_text(yaml)
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert "leaderboard.yaml" in str(err.value) and field.split(".")[-1] in str(err.value)
