"""Training trajectories: per-series data, curves on model pages, the compare page, suite tabs."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shlepa.records.results import write_results
from shlepa.records.suite import load_suite
from shlepa.site.board import load_board
from shlepa.site.build import build_site
from shlepa.site.trajectory import series_slug, trajectories

from support.result_sets import make_repo, request_data, results_payload

REPO = Path(__file__).resolve().parents[2]
STEPS = [0, 1000, 2000]


def add_series(root: Path, model: str = "lab/run-7b", series: str = "run-a", suite_name: str = "analysis360") -> None:
    suite = load_suite(suite_name, root)
    rng = random.Random(1)
    base = datetime(2024, 3, 1, tzinfo=UTC)
    for i, step in enumerate(STEPS):
        req = request_data(model, f"{i + 1:x}" * 40, "bfloat16", "pretrained", "mit", 7.0, base, suite.name)
        req["checkpoint"] = {"series": series, "step": step, "ref": f"step_{step}"}
        payload = results_payload(req, suite, "LlamaForCausalLM", rng, base + timedelta(days=i + 1), set())
        payload["scores"]["boolq"]["value"] = 50.0 + 10 * i  # a known rising curve
        write_results(root, payload, [], base + timedelta(days=i + 1))


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
    row = board.rows[board.rows.suite == "analysis360"].iloc[0]
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
