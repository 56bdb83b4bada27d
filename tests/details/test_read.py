"""A results file's details read back the same from beside it and from every store (shlepa reproduce reads them so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shlepa.config import load_settings
from shlepa.details.read import results_details
from shlepa.details.store import DetailsMissing, StoreError
from shlepa.records.keys import details_key
from shlepa.records.results import iter_results_files, load_details

from support.result_sets import make_repo
from support.stores import BACKENDS, board_with_stored_details, store_settings


@pytest.mark.parametrize("kind", BACKENDS)
def test_details_in_a_store_read_back_as_they_were_beside_the_results(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest, git_env
) -> None:
    before = make_repo(tmp_path / "before", 2, details_every=1)
    expected = [load_details(p, json.loads(p.read_text())) for p in iter_results_files(before)]
    root, store, keys = board_with_stored_details(tmp_path, kind, request, 2, details_every=1)
    (root / "leaderboard.yaml").write_text(store_settings(kind, store), encoding="utf-8")
    settings = load_settings(root).details
    files = iter_results_files(root)
    assert len(keys) == len(files) == 2 and not list(root.rglob("details_*.jsonl.gz"))
    got = [results_details(p, json.loads(p.read_text()), root, settings) for p in files]
    assert got == expected and all(got)

    # a file replaced in the store is refused, never compared as if it were the recorded run
    data = json.loads(files[0].read_text())
    key = details_key(data["details_sha256"])
    kept = store.get(key)
    store.put(key, b"other bytes")
    with pytest.raises(StoreError, match="does not hash to the results file's details_sha256"):
        results_details(files[0], data, root, settings)
    store.put(key, kept)  # the fake S3 and Hub servers outlive this test; other boards have this key too
    # and one the store never got says so
    data["details_sha256"] = "0" * 64
    with pytest.raises(DetailsMissing):
        results_details(files[0], data, root, settings)


def test_details_beside_the_results_need_no_store(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "board", 1, details_every=1)
    (path,) = iter_results_files(root)
    data = json.loads(path.read_text())
    settings = load_settings(root).details  # the default branch store: never opened here
    assert results_details(path, data, root, settings) == load_details(path, data) != []
