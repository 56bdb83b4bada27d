"""What a visitor sees on the model, charts, compare and training-curves pages (headless Chromium).

Screenshots of each page at 1400 and 390 px go to ``$SHLEPA_SCREENSHOTS`` when set, else
to a pytest temporary folder; their paths are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shlepa.records.details import load_shared, read_model_details
from shlepa.records.results import write_results
from shlepa.records.suite import load_suite
from shlepa.site.build import build_site
from shlepa.site.render import date_words

from support.result_sets import make_repo, request_data, results_payload
from support.serving import ARTIFACTS, CHROMIUM, chromium, serve_in_thread

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
WIDTHS = (1400, 390)
# Scroll so that an element starts just below Material's sticky header.
SCROLL_TO = """s => window.scrollTo(0, document.querySelector(s).getBoundingClientRect().top + window.scrollY
  - document.querySelector('.md-header').getBoundingClientRect().height - 12)"""
EMPTY_METRIC = "drop"  # no checkpoint of the series has it: its panel says "no data yet"


def add_series(root: Path) -> None:
    """Three checkpoints of lab/run-7b on analysis360, without the DROP benchmark."""
    suite = load_suite("analysis360", root)
    rng = random.Random(1)
    base = datetime(2024, 3, 1, tzinfo=UTC)
    for i, step in enumerate((0, 1000, 2000)):
        req = request_data("lab/run-7b", f"{i + 1:x}" * 40, "bfloat16", "pretrained", "mit", 7.0, base, suite.name)
        req["checkpoint"] = {"series": "run-a", "step": step, "ref": f"step_{step}"}
        payload = results_payload(req, suite, "LlamaForCausalLM", rng, base + timedelta(days=i + 1), {EMPTY_METRIC})
        write_results(root, payload, [], base + timedelta(days=i + 1))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    root = make_repo(tmp_path_factory.mktemp("repo"), 12, details_every=4, missing_every=5, queue=2)
    shutil.copyfile(REPO / "eval/suites/analysis360.yaml", root / "eval/suites/analysis360.yaml")
    add_series(root)
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    yield url, out, root
    server.shutdown()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SHLEPA_SCREENSHOTS") or ARTIFACTS / "pages")
    folder.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as b:
        yield b


def new_page(browser, width: int = 1400):
    """A page that records errors and every console warning or error (Vega's included)."""
    pg = browser.new_page(viewport={"width": width, "height": 900})
    pg.problems = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.problems.append(f"pageerror: {exc}"))
    pg.on("console", lambda m: pg.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    return pg


@pytest.fixture
def page(browser):
    pg = new_page(browser)
    yield pg
    problems = list(pg.problems)
    pg.close()
    assert not problems, problems


def detailed_row(out: Path) -> dict:
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    # One with details and an MMLU score (the pages below also look at MMLU by subject).
    return next(
        r
        for r in data["rows"]
        if (out / r["page"] / "details").is_dir()
        and r["suite"] == "open_llm_v1"
        and (r.get("scores") or {}).get("mmlu") is not None
    )


def results_of(root: Path, row: dict) -> tuple[dict, list[dict]]:
    """The results file of a leaderboard row, and its details rows, as the evaluation wrote them."""
    for path in (root / "results" / row["model"]).glob("results_*.json"):
        res = json.loads(path.read_text())
        if res["request"]["revision"] == row["sha"] and res["request"]["precision"] == row["precision"]:
            return res, read_model_details(path.parent / res["details_file"], load_shared(root)).full_rows()
    raise AssertionError(f"no results file for {row['id']}")


def open_details(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_selector("#details-browser[data-filters][data-ready] .details-row")


def test_header_card_holds_the_results_file_and_the_scores_read_as_words(site, page):
    url, out, root = site
    row = detailed_row(out)
    res, _details = results_of(root, row)
    page.goto(url + row["page"])
    card = page.eval_on_selector_all(
        ".model-card-facts > div",
        "ds => Object.fromEntries(ds.map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]))",
    )
    req = res["request"]
    assert page.inner_text(".model-card-title").strip().endswith(req["model"])
    assert card["Revision"] == req["revision"][:12]
    assert (
        page.get_attribute(".model-card-facts a[href*='/commit/']", "href")
        == f"https://huggingface.co/{req['model']}/commit/{req['revision']}"
    )
    assert card["Precision"] == req["precision"] and card["License"] == req["license"]
    assert (
        card["Type"]
        == {
            "pretrained": "pretrained",
            "fine-tuned": "fine-tuned",
            "chat": "chat / instruction-tuned",
            "merge": "merge",
            "continuously-pretrained": "continuously pretrained",
        }[req["model_type"]]
    )
    finished = datetime.fromisoformat(res["evaluation"]["finished_at"])
    assert card["Evaluated"] == date_words(finished) and re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", card["Evaluated"])
    assert card["Parameters"].endswith(" B")
    # The scores table: benchmark titles, metrics in words, stderr and baseline as numbers.
    cells = page.eval_on_selector_all(
        ".model-scores tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
    )
    suite = load_suite("open_llm_v1", root)
    assert [c[0].strip() for c in cells] == [b.title for b in suite.benchmarks]
    metric_of = {c[0].strip(): c[6] for c in cells}
    assert metric_of["ARC"] == "accuracy (length-normalized)" and metric_of["MMLU"] == "accuracy"
    assert metric_of["GSM8K"] == "exact match, strict match"
    assert "," not in "".join(metric_of.values()).replace("exact match, strict", "")
    for c, b in zip(cells, suite.benchmarks, strict=False):
        score = res["scores"].get(b.key)
        if score and score["value"] is not None:
            assert c[1] == f"{score['value']:.2f}" and c[2] == f"{score['stderr']:.2f}" and c[3] == f"{b.baseline:.1f}"
    # MMLU by subject: readable names, in a fold, sortable.
    assert page.locator("#by-subject").inner_text() == "MMLU by subject"
    assert not page.locator("#subjects-table").is_visible()
    page.click("#subjects-box summary")
    names = page.eval_on_selector_all(".model-subjects tbody tr td:first-child", "tds => tds.map(t => t.textContent)")
    assert len(names) == 57 and "High school physics" in names
    assert all("_" not in n and n[0].isupper() for n in names)
    page.click(".model-subjects th:nth-child(2)")
    scores = [
        float(x)
        for x in page.eval_on_selector_all(
            ".model-subjects tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)"
        )
    ]
    assert scores == sorted(scores, reverse=True)
    page.click(".model-subjects th:nth-child(2)")
    scores = [
        float(x)
        for x in page.eval_on_selector_all(
            ".model-subjects tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)"
        )
    ]
    assert scores == sorted(scores)
    # History and settings under their own headings; dates in words.
    assert page.locator("#request-history + #history-table table").count() == 1
    assert re.fullmatch(
        r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC",
        page.inner_text("#history-table tbody tr:first-child td:first-child"),
    )
    assert page.locator("#settings ~ #reproduce pre code").count() == 1
    # Material's own copy button (content.code.copy) on both commands: the shlepa and lm-eval ones
    buttons = page.locator("pre.model-command .md-code__button[data-md-type='copy']")
    assert buttons.count() == 2
    buttons.first.click()
    page.wait_for_selector(".md-dialog--active", timeout=10000)
    assert "Copied" in page.inner_text(".md-dialog")


def test_details_viewer_shows_choices_pick_and_gold_pages_and_filters(site, page):
    url, out, root = site
    row = detailed_row(out)
    _res, details = results_of(root, row)
    arc = [d for d in details if d["benchmark"] == "arc"]
    open_details(page, url + row["page"])
    assert page.inner_text("#details-page") == f"1–20 of {len(arc)}"
    assert page.is_disabled("#details-prev") and page.is_enabled("#details-next")
    shown = page.eval_on_selector_all(
        "#details-rows .details-row",
        """rows => rows.map(r => ({
        doc: r.querySelector('.details-doc').textContent,
        n: r.querySelectorAll('.details-choices li').length,
        pick: [...r.querySelectorAll('.details-choices li')].findIndex(li => li.classList.contains('pick')),
        gold: [...r.querySelectorAll('.details-choices li')].findIndex(li => li.classList.contains('gold')),
        ll: r.querySelector('.details-choices li .details-ll').textContent,
        question: r.querySelector('.details-question').textContent,
        folded: !r.querySelector('details.details-preamble').open,
        marker: getComputedStyle(r.querySelector('.details-choices')).listStyleType,
        start: r.querySelector('.details-choices').start,
        cls: r.className}))""",
    )
    assert len(shown) == 20
    assert {(s["marker"], s["start"]) for s in shown} == {("decimal", 1)}  # answers numbered as a reader counts
    for s, d in zip(shown, arc, strict=False):
        lls = [x[0] for x in d["response"]]
        assert s["doc"] == f"#{d['doc_id']}" and s["n"] == len(d["choices"])
        assert s["gold"] == d["target"] and s["pick"] == lls.index(max(lls))
        assert s["ll"].startswith(f"log-likelihood {lls[0]:.2f} · probability ")
        assert ("details-right" in s["cls"]) == (d["metrics"]["acc_norm"] == 1.0) == (s["pick"] == s["gold"])
        preamble, question = d["prompt"].rsplit("\n\n", 1)  # the compact row joined with its shared text
        assert s["folded"] and s["question"] == question and preamble not in s["question"]
    assert (
        page.locator(".details-meta").first.inner_text().count("✓")
        + page.locator(".details-meta").first.inner_text().count("✗")
        == len(arc[0]["metrics"])  # one mark per metric (ARC: accuracy and its length-normalized form)
    )
    first = page.locator(".details-row").first
    first.locator("details.details-preamble summary").click()
    assert first.locator("details.details-preamble pre").inner_text() == arc[0]["prompt"].rsplit("\n\n", 1)[0]
    # The last page: next disabled.
    page.click("#details-next")
    page.wait_for_function(
        f"() => document.querySelector('#details-page').textContent === '21–{len(arc)} of {len(arc)}'"
    )
    assert page.is_enabled("#details-prev") and page.is_disabled("#details-next")
    assert page.locator("#details-rows .details-row").count() == len(arc) - 20
    # Wrong only: every row shown is wrong, and the count is the file's.
    wrong = [d for d in arc if d["metrics"]["acc_norm"] == 0.0]
    page.check("#details-wrong")
    page.wait_for_function(
        f"() => document.querySelector('#details-page').textContent === '1–{len(wrong)} of {len(wrong)}'"
    )
    docs = page.eval_on_selector_all(
        ".details-row", "rs => rs.map(r => [r.className, r.querySelector('.details-doc').textContent])"
    )
    assert [d for _c, d in docs] == [f"#{d['doc_id']}" for d in wrong]
    assert all("details-wrong" in c for c, _d in docs)
    page.uncheck("#details-wrong")
    # By subject: MMLU's rows under readable subject names.
    page.select_option("#details-bench", "mmlu")
    mmlu = [d for d in details if d["benchmark"] == "mmlu"]
    subjects = list(dict.fromkeys(d["task"] for d in mmlu))
    options = page.eval_on_selector_all("#details-task option", "os => os.map(o => [o.value, o.textContent])")
    assert [v for v, _t in options] == ["", *subjects]
    assert all("_" not in t for _v, t in options)
    page.select_option("#details-task", subjects[1])
    want = [d for d in mmlu if d["task"] == subjects[1]]
    page.wait_for_function(
        f"() => document.querySelector('#details-page').textContent === '1–{len(want)} of {len(want)}'"
    )
    tasks = page.eval_on_selector_all(".details-row .details-task", "ts => ts.map(t => t.textContent)")
    assert tasks == [dict(options)[subjects[1]]] * len(want)
    # MMLU's choices are the letters themselves (" A" to " D"): no number in front of them.
    assert {c.strip() for d in want for c in d["choices"]} <= set("ABCD")
    markers = page.eval_on_selector_all(
        ".details-row .details-choices", "os => os.map(o => getComputedStyle(o).listStyleType)"
    )
    assert markers == ["none"] * len(want)
    # Generation: the answer beside the target, and whether it matched.
    page.select_option("#details-bench", "gsm8k")
    page.wait_for_selector(".details-gen")
    assert not page.is_visible("#details-task-label")  # one task: no subject filter
    gsm = next(d for d in details if d["benchmark"] == "gsm8k")
    gen = page.locator(".details-row").first
    assert gen.locator(".details-answer").inner_text() == gsm["response"][0]
    assert gen.locator(".details-gen-col").nth(1).locator("pre").inner_text() == gsm["target"]
    assert ("matched the target" in gen.inner_text()) == (gsm["metrics"]["exact_match"] == 1.0)
    # Pages load on demand: only the pages looked at were fetched.
    sizes = [p.stat().st_size for p in (out / row["page"] / "details").glob("*.json")]
    assert max(sizes) < 64_000


def test_charts_page_themed_without_warnings_or_action_menu(site, page):
    url, _out, root = site
    page.goto(url + "charts/")
    page.wait_for_selector("#charts-app[data-ready] #chart-pareto svg")
    suite = load_suite("open_llm_v1", root)
    titles = page.eval_on_selector_all("#chart-dist .chart-panel-title", "ts => ts.map(t => t.textContent)")
    assert titles == [b.title for b in suite.benchmarks]
    assert page.locator("#chart-dist .chart-panel svg").count() == len(suite.benchmarks)
    assert page.locator(".vega-embed details, .vega-actions").count() == 0
    ticks = page.eval_on_selector_all("#chart-pareto svg .role-axis-label text", "ts => ts.map(t => t.textContent)")
    assert ticks and not any(re.search(r"\.\d{3,}", t) for t in ticks), ticks
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily").split(",")[0].strip("\"' ")
    assert body_font in page.get_attribute("#chart-pareto svg text", "font-family")


def test_training_curves_aligned_with_no_data_yet_and_without_warnings(site, page):
    url, out, _root = site
    traj = json.loads((out / "data" / "trajectories.json").read_text())
    series = traj["series"][0]
    metrics = ["average"] + [b["key"] for b in traj["suites"]["analysis360"]["benchmarks"]]
    for where in (url + series["points"][1]["page"], url + "compare/"):
        page.goto(where)
        page.wait_for_selector("[data-ready] .chart-grid .chart-panel svg")
        panels = page.eval_on_selector_all(
            ".chart-grid .chart-panel",
            """ps => ps.map(p => ({
            key: p.dataset.metric, empty: (p.querySelector('.chart-empty') || {}).textContent || null,
            title: p.querySelector('.chart-panel-title').textContent}))""",
        )
        assert [p["key"] for p in panels] == metrics
        empty = {p["key"] for p in panels if p["empty"]}
        assert empty == {EMPTY_METRIC} | {
            k for k in metrics if all(pt["scores"].get(k) is None for pt in series["points"])
        }
        assert all(p["empty"] == "no data yet" for p in panels if p["empty"])
        lower = next(p["title"] for p in panels if p["key"] == "word_perplexity")
        assert "lower is better" in lower and "%" not in lower
        # Aligned: every plot's y axis sits at the same x within its panel.
        offsets = page.eval_on_selector_all(
            ".chart-grid .chart-panel",
            """ps => ps.filter(p => p.querySelector('svg'))
            .map(p => Math.round(p.querySelector('.role-axis.role-axis .domain, .role-axis path')
              .getBoundingClientRect().left - p.getBoundingClientRect().left))""",
        )
        assert len(set(offsets)) <= 2, offsets
        ticks = page.eval_on_selector_all(".chart-grid svg .role-axis-label text", "ts => ts.map(t => t.textContent)")
        assert ticks and not [t for t in ticks if re.search(r"e[+-]\d|\.\d{3,}|^0k$", t)], ticks
        assert page.locator(".vega-embed details, .vega-actions").count() == 0
    page.uncheck('#cmp-series input[name="series"]')
    page.wait_for_selector("#cmp-empty:not([hidden])")
    assert "No data yet" in page.inner_text("#cmp-empty")
    assert page.locator("#cmp-charts .chart-panel").count() == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_model_charts_and_curves_pages(site, browser, shots, width):
    url, out, _root = site
    row = detailed_row(out)
    traj = json.loads((out / "data" / "trajectories.json").read_text())
    checkpoint = traj["series"][0]["points"][1]["page"]
    pg = new_page(browser, width)
    saved = []
    try:
        open_details(pg, url + row["page"])
        # Each score is on screen beside its benchmark, at every width; on a phone the table
        # scrolls sideways inside itself with the benchmark names frozen at its left.
        first = ".model-scores tbody tr:first-child td"
        assert pg.locator(".model-scores .md-typeset__scrollwrap").count() == 1  # one scrolling wrapper
        name, score = (pg.locator(f"{first}:nth-child({i})").bounding_box() for i in (1, 2))
        assert name and score and score["x"] + score["width"] <= width, (name, score)
        wrap = ".model-scores .md-typeset__scrollwrap"
        pg.eval_on_selector(wrap, "w => { w.scrollLeft = 400; }")
        assert 0 <= pg.locator(f"{first}:nth-child(1)").bounding_box()["x"] <= name["x"]  # still on screen
        if width < 1000:
            assert pg.eval_on_selector(wrap, "w => w.scrollLeft") > 0  # it does scroll at 390 px
            assert pg.locator(f"{first}:nth-child(2)").bounding_box()["x"] < score["x"]
        pg.click("#subjects-box summary")
        for name, selector in (("model-card-scores", ".model-card"), ("model-details", "#details")):
            pg.evaluate(SCROLL_TO, selector)
            saved.append(shots / f"{name}-{width}.png")
            pg.screenshot(path=str(saved[-1]))
        saved.append(shots / f"model-full-{width}.png")
        pg.screenshot(path=str(saved[-1]), full_page=True)
        height = pg.evaluate("document.querySelector('#details-browser').getBoundingClientRect().height")
        assert height < 20 * (400 if width > 1000 else 800), height  # 20 samples, never pages of prompts
        assert pg.evaluate("document.documentElement.scrollWidth") <= width
        for name, path, ready in (
            ("charts", "charts/", "#charts-app[data-ready] svg"),
            ("curves-checkpoint", checkpoint, "#curves-app[data-ready] svg"),
            ("curves-compare", "compare/", "#compare-app[data-ready] svg"),
        ):
            pg.goto(url + path)
            pg.wait_for_selector(ready)
            if name == "curves-checkpoint":
                pg.evaluate(SCROLL_TO, "#training-curves")
                saved.append(shots / f"{name}-{width}.png")
                pg.screenshot(path=str(saved[-1]))
            saved.append(shots / f"{name}-full-{width}.png")
            pg.screenshot(path=str(saved[-1]), full_page=True)
            assert pg.evaluate("document.documentElement.scrollWidth") <= width, name
    finally:
        problems = list(pg.problems)
        pg.close()
        print("\nscreenshots:", *map(str, saved), sep="\n  ")
    assert not problems, problems


def test_charts_say_no_data_yet_instead_of_empty_axes(site, page):
    """A board without scores yet (the data file served without rows, or without ARC scores)."""
    url, out, _root = site
    data = json.loads((out / "data" / "leaderboard.json").read_text())

    def serve(rows):
        def handler(route):
            route.fulfill(status=200, content_type="application/json", body=json.dumps({**data, "rows": rows}))

        return handler

    page.route("**/data/leaderboard.json", serve([]))
    page.goto(url + "charts/")
    page.wait_for_selector("#charts-app[data-ready]")
    assert page.inner_text("#chart-pareto").strip() == "no data yet"
    assert page.locator("#chart-dist .chart-empty").count() == len(data["suites"]["open_llm_v1"]["benchmarks"])
    assert page.locator("#charts-app svg").count() == 0
    no_arc = [{**r, "scores": {**r["scores"], "arc": None}} for r in data["rows"]]
    page.unroute("**/data/leaderboard.json")
    page.route("**/data/leaderboard.json", serve(no_arc))
    page.goto(url + "charts/")
    page.wait_for_selector("#charts-app[data-ready] #chart-pareto svg")
    empty = page.eval_on_selector_all(
        "#chart-dist .chart-panel", "ps => ps.filter(p => p.querySelector('.chart-empty')).map(p => p.dataset.metric)"
    )
    assert empty == ["arc"]
