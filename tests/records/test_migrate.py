"""``shlepa migrate``: format-1 results and details into slim results plus compact details.

``data/results_v1`` holds the files the code before the migration wrote (a real offline
``shlepa evaluate`` of the tiny Llama on the bundled data, ``--limit 2``, unedited): the
migration is tested on what that code really wrote, not on a hand-made imitation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.io import atomic
from shlepa.records.details import load_shared, read_model_details
from shlepa.records.results import SCHEMA, SCHEMA_V1, iter_results_files, load_results
from shlepa.site.board import load_board
from shlepa.site.build import split_details

from support.result_sets import make_repo

V1 = Path(__file__).parent / "data" / "results_v1"
runner = CliRunner()


def v1_board(tmp_path: Path) -> Path:
    root = tmp_path / "board"
    shutil.copytree(V1, root)
    (root / "eval").symlink_to(Path(__file__).resolve().parents[2] / "eval", target_is_directory=True)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_migrate_slims_format_1_files_and_keeps_scores_and_details(tmp_path: Path) -> None:
    root = v1_board(tmp_path)
    (path,) = iter_results_files(root)
    old = json.loads(path.read_text())
    assert old["schema"] == SCHEMA_V1 and "configs" in old["lm_eval"]
    old_rows = atomic.read_jsonl_gz(path.parent / old["details_file"])
    old_board = load_board(root)
    old_pages = split_details(path, load_results(path), old_board.suites["open_llm_v1"], root)

    result = runner.invoke(app, ["migrate", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "converted 1 results file(s), 0 already current" in result.stdout

    new = json.loads(path.read_text())
    assert new["schema"] == SCHEMA and new["details_file"] == old["details_file"]
    assert path.stat().st_size < 30_000 < len(json.dumps(old))
    # everything the board and a reproduction read is the same
    for key in ("request", "request_file", "suite", "evaluation", "model_info", "scores", "average", "reproduce"):
        assert new[key] == old[key], key
    for section in ("versions", "n-shot", "n-samples", "group_subtasks", "config"):
        assert new["lm_eval"][section] == old["lm_eval"][section], section
    for task, metrics in old["lm_eval"]["results"].items():
        # without the display alias and a name that repeats the key
        assert new["lm_eval"]["results"][task] == {
            k: v for k, v in metrics.items() if k != "alias" and not (k == "name" and v == task)
        }
    assert load_board(root).rows == old_board.rows
    # lm-eval's bulk moved into the details header; the rows read back as they were
    details = read_model_details(path.parent / new["details_file"], load_shared(root))
    assert details.lm_eval["configs"] == old["lm_eval"]["configs"]
    assert details.lm_eval["pretty_env_info"] == old["lm_eval"]["pretty_env_info"]
    assert details.full_rows() == old_rows
    assert new["task_hashes"] == {t: s.version_hash for t, s in details.shared.items()}
    # the site shows the same details from the converted files as from the old ones
    assert split_details(path, load_results(path), old_board.suites["open_llm_v1"], root) == old_pages


def test_migrate_twice_changes_nothing(tmp_path: Path) -> None:
    root = v1_board(tmp_path)
    assert runner.invoke(app, ["migrate", "--root", str(root)]).exit_code == 0
    once = snapshot(root)
    again = runner.invoke(app, ["migrate", "--root", str(root)])
    assert again.exit_code == 0 and "converted 0 results file(s), 1 already current" in again.stdout
    assert snapshot(root) == once


def test_files_in_the_current_layout_are_left_alone(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", 3, details_every=2, missing_every=0, queue=0)
    before = snapshot(root / "results")
    result = runner.invoke(app, ["migrate", "--root", str(root)])
    assert result.exit_code == 0 and "converted 0 results file(s), 3 already current" in result.stdout
    assert snapshot(root / "results") == before
