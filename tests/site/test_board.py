"""The leaderboard table: rows from the newest results, whichever way the files are read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shlepa.site import board as leaderboard
from shlepa.site.board import load_board

from support.result_sets import make_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_repo(tmp_path_factory.mktemp("repo"), 30, missing_every=4, queue=3)
    # An older results file beside a newer one: only the newer may become a row.
    newest = sorted(root.glob("results/*/*/results_*.json"))[0]
    older = json.loads(newest.read_text())
    older["scores"] = {k: {**v, "value": 1.0} for k, v in older["scores"].items()}
    (newest.parent / "results_20000101T000000.000000Z.json").write_text(json.dumps(older))
    bad = root / "results" / "zz-org" / "broken" / "results_20240101T000000.000000Z.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    bad_request = root / "requests" / "zz-org" / "broken" / f"{'a' * 40}_bfloat16.yaml"
    bad_request.parent.mkdir(parents=True)
    bad_request.write_text("model: [unclosed\n")
    return root


def test_the_newest_results_file_of_an_evaluation_is_its_row(repo: Path) -> None:
    board = load_board(repo)
    assert len(board.rows) == 30
    assert not any(1.0 in r["scores"].values() for r in board.rows)
    assert any("zz-org/broken/results_" in e and "unreadable" in e for e in board.errors)
    assert any("zz-org/broken/" in e and "invalid YAML" in e for e in board.errors)


def test_reading_in_two_processes_gives_the_same_board_as_one(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr(leaderboard, "PARALLEL_FROM", 10**9)
    serial = load_board(repo)
    monkeypatch.setattr(leaderboard, "PARALLEL_FROM", 1)
    calls = []
    real_fork = leaderboard._in_fork
    monkeypatch.setattr(leaderboard, "_in_fork", lambda *a: calls.append(a) or real_fork(*a))
    parallel = load_board(repo)
    assert len(calls) == 1  # the requests were read in a forked process
    assert serial.rows == parallel.rows
    assert serial.requests == parallel.requests
    assert sorted(serial.errors) == sorted(parallel.errors)
    assert {k: p for k, (p, _r) in serial.results.items()} == {k: p for k, (p, _r) in parallel.results.items()}


def test_only_the_part_of_lm_evals_output_the_site_reads_is_kept_in_memory(repo: Path) -> None:
    board = load_board(repo)
    assert all(set(res.lm_eval) <= leaderboard.LM_EVAL_KEYS for _p, res in board.results.values())
    assert all(r["architecture"] is not None for r in board.rows)


def test_skipping_lm_evals_output_changes_no_row(repo: Path, monkeypatch) -> None:
    from shlepa.records import results

    fast = load_board(repo)
    monkeypatch.setattr(results, "without_lm_eval", lambda raw: None)  # parse every file in full
    full = load_board(repo)
    assert fast.rows == full.rows
    assert [res.scores for _p, res in fast.results.values()] == [res.scores for _p, res in full.results.values()]


def test_a_result_from_another_lm_eval_release_than_the_suites_is_marked(tmp_path: Path) -> None:
    """The suite pins lm-eval 0.4.13; a result evaluated with 0.4.12, or one that recorded no
    version, is marked (row and site data), the rest are not."""
    from shlepa.site.build import leaderboard_data

    root = make_repo(tmp_path, 3, queue=0)
    files = sorted(root.glob("results/*/*/results_*.json"))
    for path, version in zip(files[:2], ["0.4.12", None], strict=True):
        data = json.loads(path.read_text())
        if version is None:
            del data["evaluation"]["versions"]["lm_eval"]
        else:
            data["evaluation"]["versions"]["lm_eval"] = version
        path.write_text(json.dumps(data))
    board = load_board(root)
    assert board.suites["open_llm_v1"].lm_eval_version == "0.4.13"
    marked = {r["results_file"]: (r["lm_eval"], r["harness_other"]) for r in board.rows}
    rel = [p.relative_to(root).as_posix() for p in files]
    assert marked == {rel[0]: ("0.4.12", True), rel[1]: (None, True), rel[2]: ("0.4.13", False)}
    rows = {r["page"]: r["harness"] for r in leaderboard_data(board)["rows"]}
    assert sorted(rows.values(), key=str) == [
        None,
        {"version": "0.4.12", "pinned": "0.4.13"},
        {"version": None, "pinned": "0.4.13"},
    ]
    assert {"key": "harness", "label": "other lm-eval version", "shown": True} in leaderboard_data(board)["meta"][
        "show"
    ]


def test_a_suite_that_pins_no_lm_eval_release_marks_nothing(tmp_path: Path) -> None:
    root = make_repo(tmp_path, 2, queue=0)
    suite = root / "eval" / "suites" / "open_llm_v1.yaml"
    suite.write_text(re.sub(r"(?m)^lm_eval_version: .*\n", "", suite.read_text()))
    path = sorted(root.glob("results/*/*/results_*.json"))[0]
    data = json.loads(path.read_text())
    data["evaluation"]["versions"]["lm_eval"] = "0.4.12"
    path.write_text(json.dumps(data))
    assert not any(r["harness_other"] for r in load_board(root).rows)


def test_ranks_are_per_suite_best_first_missing_last_and_ties_keep_their_order() -> None:
    def row(name: str, suite: str, avg: float | None, norm: float | None) -> dict:
        return {"model": name, "suite": suite, "average": avg, "average_normalized": norm}

    rows = leaderboard.ranked(
        [
            row("a", "v1", 50.0, 10.0),
            row("b", "v1", None, None),  # no average: last, whatever its place in the files
            row("c", "v1", 70.0, 10.0),
            row("d", "v2", 30.0, 5.0),
            row("e", "v1", 50.0, 40.0),  # ties "a" on the average: after it, as loaded
            row("f", "v1", float("nan"), 1.0),  # a NaN is no average either
        ]
    )
    assert [r["model"] for r in rows] == ["c", "a", "e", "d", "b", "f"]
    ranks = {r["model"]: (r["rank"], r["rank_norm"]) for r in rows}
    # v1 by normalized average: e 40, then c and a tie at 10 (in the average's order), f 1, b none
    assert ranks == {"c": (1, 2), "a": (2, 3), "e": (3, 1), "d": (1, 1), "b": (4, 5), "f": (5, 4)}
