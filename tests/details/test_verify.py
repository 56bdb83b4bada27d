"""``shlepa verify``: every results file's details are in the store and hash to what the file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.details.verify import verify_details
from shlepa.records.keys import details_key
from shlepa.records.results import dump_results, iter_results_files

from support.result_sets import make_repo
from support.stores import BACKENDS, board_with_stored_details, store_settings


@pytest.mark.parametrize("kind", BACKENDS)
def test_verify_finds_missing_and_changed_details_in_every_store(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest, git_env
) -> None:
    root, store, keys = board_with_stored_details(tmp_path, kind, request, 3, details_every=1)
    (root / "leaderboard.yaml").write_text(store_settings(kind, store), encoding="utf-8")
    files = iter_results_files(root)
    checked, problems = verify_details(root, store)
    assert (checked, problems) == (len(files), [])
    ok = CliRunner().invoke(app, ["verify", "--root", str(root)])
    assert ok.exit_code == 0, ok.output

    # One results file names a file the store never got; another's file was replaced in the store.
    missing = files[0]
    data = json.loads(missing.read_text())
    data["details_sha256"] = "0" * 64
    missing.write_text(json.dumps(data, indent=2))
    changed_digest = json.loads(files[1].read_text())["details_sha256"]
    changed_key = details_key(changed_digest)
    assert changed_key in keys
    store.put(changed_key, b"not the bytes the results file hashed")
    changed = [f for f in files if json.loads(f.read_text()).get("details_sha256") == changed_digest]
    assert files[1] in changed

    result = CliRunner().invoke(app, ["verify", "--root", str(root)])
    assert result.exit_code == 1
    lines = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    by_file = {rel: (key, why) for rel, key, why in lines}
    rel_missing = missing.relative_to(root).as_posix()
    assert by_file[rel_missing][0] == details_key("0" * 64) and "missing from the" in by_file[rel_missing][1]
    for f in changed:
        key, why = by_file[f.relative_to(root).as_posix()]
        assert key == changed_key and "hashes to" in why
    assert len(lines) == 1 + len(changed)


def test_a_results_file_without_a_details_hash_is_a_problem(tmp_path: Path, git_board) -> None:
    _remote, seed = git_board
    root = make_repo(seed, 1, details_every=1)
    # a results file written before the store: details beside it, no details_sha256
    (path,) = iter_results_files(root)
    data = json.loads(path.read_text())
    del data["details_sha256"]
    path.write_bytes(dump_results(data))
    result = CliRunner().invoke(app, ["verify", "--root", str(root)])
    assert result.exit_code == 1
    assert "names no details sha256" in result.stdout
