"""Training trajectories: per-series data, curves on model pages, the compare page, suite tabs."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shlepa.records.results import write_results
from shlepa.records.suite import load_suite
from shlepa.site.board import load_board
from shlepa.site.build import build_site
from shlepa.site.trajectory import series_slug, trajectories

from support.result_sets import SERIES_STEPS, add_series, make_repo, request_data, results_payload

REPO = Path(__file__).resolve().parents[2]
STEPS = SERIES_STEPS


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = make_repo(tmp_path_factory.mktemp("repo"), 2, queue=0)
    shutil.copyfile(REPO / "eval/suites/analysis360.yaml", root / "eval/suites/analysis360.yaml")
    add_series(root)
    out = root / "_site"
    build_site(root, out)
    return root, out


def test_series_points_are_sorted_by_step_with_every_metric(site):
    root, _ = site
    board = load_board(root)
    data = trajectories(board.rows, board.suites)
    assert len(data["series"]) == 1
    s = data["series"][0]
    assert (s["model"], s["series"], s["suite"]) == ("lab/run-7b", "run-a", "analysis360")
    assert [p["step"] for p in s["points"]] == STEPS
    assert [p["scores"]["boolq"] for p in s["points"]] == [50.0, 60.0, 70.0]
    assert set(s["points"][0]["scores"]) >= {"word_perplexity", "memorization", "average"}
    # Models outside a series are reference points for the compare page.
    assert {m["suite"] for m in data["models"]} == {"open_llm_v1"} and len(data["models"]) == 2


def test_build_writes_per_series_json(site):
    _, out = site
    slug = series_slug("lab/run-7b", "run-a", "bfloat16", "analysis360")
    data = json.loads((out / "data" / "series" / f"{slug}.json").read_text())
    assert [p["step"] for p in data["points"]] == STEPS
    assert data["meta"]["title"] == "Analysis360"
    assert any(b["key"] == "bits_per_byte" and b["unit"] == "" for b in data["meta"]["benchmarks"])
    index = json.loads((out / "data" / "trajectories.json").read_text())
    assert [s["id"] for s in index["series"]] == [slug]


def test_checkpoint_pages_show_curves_and_other_pages_do_not(site):
    _, out = site
    pages = sorted((out / "models" / "lab" / "run-7b").glob("*/index.html"))
    assert len(pages) == 3
    html = pages[0].read_text()
    slug = series_slug("lab/run-7b", "run-a", "bfloat16", "analysis360")
    assert 'id="training-curves"' in html and f"data/series/{slug}.json" in html
    assert "assets/js/curves.js" in html and "vega-lite" in html
    others = [p for p in (out / "models").glob("*/*/*/index.html") if "run-7b" not in str(p)]
    assert others and all('id="training-curves"' not in p.read_text() for p in others)


def test_compare_page_and_suite_tabs(site):
    _, out = site
    compare = (out / "compare" / "index.html").read_text()
    assert 'id="compare-app"' in compare and "curves.js" in compare and "Analysis360" in compare
    assert (out / "assets" / "js" / "curves.js").is_file()
    index = (out / "index.html").read_text()
    assert 'href="?suite=analysis360"' in index and 'href="?suite=open_llm_v1"' in index


def test_series_names_are_escaped(tmp_path):
    """Results files are data from runners: a hostile series name reaches pages only escaped."""
    root = make_repo(tmp_path, 0)
    shutil.copyfile(REPO / "eval/suites/analysis360.yaml", root / "eval/suites/analysis360.yaml")
    add_series(root, series="run<script>alert(1)</script>")
    out = tmp_path / "out"
    build_site(root, out)
    html = next((out / "models" / "lab" / "run-7b").glob("*/index.html")).read_text()
    assert "run&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    names = [p.name for p in (out / "data" / "series").iterdir()]
    assert len(names) == 1 and "<" not in names[0] and "/" not in names[0]


def test_perplexity_is_not_normalized_or_averaged(site):
    root, _ = site
    board = load_board(root)
    row = next(r for r in board.rows if r["suite"] == "analysis360")
    assert row["normalized"]["word_perplexity"] is None
    keys = load_suite("analysis360", root).average_keys
    expected = sum(row["scores"][k] for k in keys) / len(keys)
    assert row["average"] == pytest.approx(expected)


def test_model_page_says_why_a_benchmark_was_skipped(tmp_path):
    root = make_repo(tmp_path, 0)
    shutil.copyfile(REPO / "eval/suites/analysis360.yaml", root / "eval/suites/analysis360.yaml")
    suite = load_suite("analysis360", root)
    base = datetime(2024, 3, 1, tzinfo=UTC)
    req = request_data("lab/m", "a" * 40, "bfloat16", "pretrained", "mit", 1.0, base, suite.name)
    payload = results_payload(req, suite, "LlamaForCausalLM", random.Random(0), base, {"toxigen"})
    payload["skipped"] = {"toxigen": "no task for bundled data in suite analysis360"}
    write_results(root, payload, [], base)
    build_site(root, tmp_path / "out")
    html = next((tmp_path / "out" / "models" / "lab" / "m").glob("*/index.html")).read_text()
    assert "skipped: no task for bundled data in suite analysis360" in html


def test_the_build_ranks_each_suite_once_and_orders_the_suites_default_first(site):
    """Ranks 1..N per suite by the average (rank) and by the normalized average (rank_norm);
    checkpoints carry their step; one suite control (the tabs), the default suite first."""
    _root, out = site
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    assert list(data["suites"]) == ["open_llm_v1", "analysis360"] == [data["default_suite"], "analysis360"]
    for suite in data["suites"]:
        rows = [r for r in data["rows"] if r["suite"] == suite]
        for key, avg in (("rank", "average"), ("rank_norm", "average_norm")):
            ordered = sorted(rows, key=lambda r: r[key])
            assert [r[key] for r in ordered] == list(range(1, len(rows) + 1))
            values = [r[avg] for r in ordered if r[avg] is not None]
            assert values == sorted(values, reverse=True)
    steps = sorted(r["step"] for r in data["rows"] if r["suite"] == "analysis360")
    assert steps == STEPS
    a360 = {b["key"]: b for b in data["suites"]["analysis360"]["benchmarks"]}
    assert not a360["word_perplexity"]["higher_is_better"] and not a360["word_perplexity"]["in_average"]
    assert a360["arc"]["higher_is_better"] and a360["arc"]["num_fewshot"] == 25 and a360["arc"]["metric"] == "acc_norm"
    index = (out / "index.html").read_text()
    assert 'id="lb-suite"' not in index  # no second suite control
    assert index.index('data-suite="open_llm_v1"') < index.index('data-suite="analysis360"')
