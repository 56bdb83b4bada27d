"""The built site in headless Chromium (Debian's, driven by Playwright): what a visitor does."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from shlepa.site.build import build_site

from support.board_page import open_board, search, visible
from support.result_sets import XSS, add_hostile_model, make_repo
from support.serving import ARTIFACTS, CHROMIUM, chromium, serve_in_thread

pytestmark = pytest.mark.browser
# A test artifact, never a tracked file: the README's docs/img/leaderboard.png is the demo's
# (`make screenshot`, scripts/screenshot.py).
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = ARTIFACTS / "leaderboard-fake-board.png"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    root = make_repo(tmp_path_factory.mktemp("repo"), 40, details_every=5, missing_every=7, queue=3)
    add_hostile_model(root)
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    yield url, out
    server.shutdown()


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    # a routed request still being fulfilled as the page closes would fail the next test's new_page
    pg.unroute_all(behavior="ignoreErrors")
    context.close()
    assert not errors, errors


def benchmark_fields(page) -> list[str]:
    return page.eval_on_selector_all(
        '#lb-table .tabulator-col[tabulator-field^="b_"]',
        "cols => cols.filter(c => c.offsetParent).map(c => c.getAttribute('tabulator-field'))",
    )


def test_leaderboard_loads_sorted_by_average_and_saves_a_screenshot(page, site):
    url, _ = site
    open_board(page, url)
    rows = visible(page)
    assert len(rows) == 40  # the flagged hostile model is hidden by default
    avgs = [r["avg"] for r in rows]
    assert avgs == sorted(avgs, reverse=True)
    ranks = [r["rank"] for r in rows]
    # Fixed ranks count the hidden flagged model too: one number is skipped.
    assert ranks == sorted(set(ranks)) and ranks[0] == 1 and ranks[-1] in (40, 41)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    print(f"\nscreenshot: {SCREENSHOT}")


def test_sorting_by_a_benchmark_column(page, site):
    open_board(page, site[0])
    page.click('.tabulator-col[tabulator-field="b_arc"] .tabulator-col-title')
    first = [r["b_arc"] for r in visible(page)]
    page.click('.tabulator-col[tabulator-field="b_arc"] .tabulator-col-title')
    second = [r["b_arc"] for r in visible(page)]
    present = [v for v in first if v is not None]
    assert present in (sorted(present), sorted(present, reverse=True))
    assert [v for v in second if v is not None] == list(reversed(present))
    assert "sort=b_arc" in page.url


def test_missing_scores_sort_last_in_both_directions_and_names_sort_ignoring_case(page, site):
    open_board(page, site[0])
    keys = benchmark_fields(page)
    assert len(keys) == 6
    rows = visible(page)
    counts = {k: sum(r[k] is None for r in rows) for k in keys}
    field = max(counts, key=counts.get)
    assert counts[field] > 0, "the fixture has models without some benchmarks"
    for _direction in ("first click", "second click"):
        page.click(f'.tabulator-col[tabulator-field="{field}"] .tabulator-col-title')
        values = [r[field] for r in visible(page)]
        present = [v for v in values if v is not None]
        assert values[len(present) :] == [None] * counts[field]  # missing last, ascending or descending
        assert present in (sorted(present), sorted(present, reverse=True))
    page.click('.tabulator-col[tabulator-field="model"] .tabulator-col-title')
    names = [r["model"] for r in visible(page)]
    assert sorted(names) != sorted(names, key=str.lower), "the fixture mixes upper- and lower-case names"
    assert names in (sorted(names, key=str.lower), sorted(names, key=str.lower, reverse=True))


def test_each_search_form(page, site):
    open_board(page, site[0], "?hidden=submitted,weight_type")  # the architecture column shown
    everyone = visible(page)
    name = everyone[0]["model"].split("/")[1][:8].upper()
    assert all(name.lower() in r["model"].lower() for r in search(page, name))
    a, b = everyone[3]["model"], everyone[9]["model"]
    assert {r["model"] for r in search(page, f"{a}; {b}")} >= {a, b}
    lic = everyone[0]["license"]
    assert {r["license"] for r in search(page, f"license: {lic}")} == {lic}
    combo = search(page, f"license: {lic}; {a.split('/')[0]}")
    assert all(r["license"] == lic and a.split("/")[0].lower() in r["model"].lower() for r in combo)
    assert {r["type"] for r in search(page, "type: chat")} == {"chat"}
    assert {r["precision"] for r in search(page, "precision: 4bit")} <= {"4bit"}
    assert all("llama" in (r["arch"] or "").lower() for r in search(page, "arch: llama"))
    assert search(page, "no-such-model-anywhere") == []


def test_filters_and_shown_kinds(page, site):
    open_board(page, site[0])
    page.click(".lb-filters summary")
    before = visible(page)
    page.uncheck('input[name="type"][value="chat"]')
    after = visible(page)
    assert "chat" not in {r["type"] for r in after} and len(after) == len([r for r in before if r["type"] != "chat"])
    page.uncheck('input[name="size"][value="65+"]')
    assert all((r["params"] or 0) <= 65 for r in visible(page))
    page.uncheck('input[name="precision"][value="bfloat16"]')
    assert "bfloat16" not in {r["precision"] for r in visible(page)}
    page.check('input[name="show"][value="flagged"]')
    assert any(r["flag"] for r in visible(page))
    assert "show=" in page.url and "type=" in page.url


def test_hand_edited_links_naming_no_suite_or_column_show_the_default_view(page, site):
    open_board(page, site[0])
    default = visible(page)
    for query in ("?suite=__proto__", "?suite=constructor", "?sort=__proto__:asc", "?sort=constructor:desc"):
        open_board(page, site[0], query)
        assert visible(page) == default, query


def test_toggles_normalized_rank_within_filter_and_visible_average(page, site):
    open_board(page, site[0])
    raw = {r["model"]: r["b_arc"] for r in visible(page)}
    page.check("#lb-norm")
    norm = {r["model"]: r["b_arc"] for r in visible(page)}
    m = next(k for k, v in raw.items() if v is not None)
    assert norm[m] == pytest.approx(max(0, (raw[m] - 25) / 75 * 100), abs=0.02)
    page.uncheck("#lb-norm")
    search(page, "type: chat")
    chat = visible(page)
    assert [r["rank"] for r in chat] != list(range(1, len(chat) + 1))  # board ranks have gaps here
    page.check("#lb-rank-filtered")
    assert [r["rank"] for r in visible(page)] == list(range(1, len(visible(page)) + 1))
    page.click(".lb-filters summary")
    for key in ("hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"):
        page.uncheck(f'#lb-columns input[value="b_{key}"]')
    page.check("#lb-avg-visible")
    rows = visible(page)
    assert all(r["avg"] == r["b_arc"] for r in rows if r["b_arc"] is not None)
    assert all(r["avg"] is None for r in rows if r["b_arc"] is None)


def test_column_chooser_hides_and_shows_columns(page, site):
    open_board(page, site[0])
    page.click(".lb-filters summary")
    assert page.is_visible('.tabulator-col[tabulator-field="precision"]')
    page.uncheck('#lb-columns input[value="precision"]')
    assert not page.is_visible('.tabulator-col[tabulator-field="precision"]')
    page.check('#lb-columns input[value="arch"]')
    assert page.is_visible('.tabulator-col[tabulator-field="arch"]')
    assert "hidden=" in page.url


def test_url_round_trip_restores_the_whole_view(page, site, browser):
    open_board(page, site[0])
    page.click(".lb-filters summary")
    search(page, "type: fine-tuned")
    page.check("#lb-norm")
    page.uncheck('input[name="precision"][value="float16"]')
    page.uncheck('#lb-columns input[value="license"]')
    page.click('.tabulator-col[tabulator-field="b_mmlu"] .tabulator-col-title')
    shared = page.url
    expected = [r["model"] for r in visible(page)]
    other = browser.new_page()
    open_board(other, shared)
    assert [r["model"] for r in visible(other)] == expected
    assert other.input_value("#lb-search") == "type: fine-tuned"
    assert other.is_checked("#lb-norm")
    assert not other.is_visible('.tabulator-col[tabulator-field="license"]')
    other.close()


def test_downloads_hold_the_current_view_and_everything(page, site):
    open_board(page, site[0])
    rows = search(page, "type: chat")
    with page.expect_download() as dl:
        page.click("#lb-csv")
    table = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert [r["model"] for r in table] == [r["model"] for r in rows]
    assert set(table[0]) >= {"rank", "model", "average", "arc", "gsm8k", "precision"}
    with page.expect_download() as dl:
        page.click("#lb-json")
    assert [r["model"] for r in json.loads(Path(dl.value.path()).read_text())] == [r["model"] for r in rows]
    everything = page.request.get(site[0] + "data/leaderboard.csv").text()
    assert len(everything.strip().splitlines()) == 42  # header + 41 models, flagged included


def test_model_page_and_its_details_browser(page, site):
    url, out = site
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    target = next(r for r in data["rows"] if (out / r["page"] / "details").is_dir() and not r["flag"])
    open_board(page, url, f"?search={target['model']}")
    page.click(f'a.lb-model:text-is("{target["model"]}")')
    page.wait_for_selector("#details-rows .details-row")
    assert target["page"] in page.url
    assert page.locator("h1").first.inner_text().startswith(target["model"])
    assert page.locator("#details-page").inner_text() == "1–20 of 30"
    # The long sections are drawn from the page's JSON by model.js.
    page.click("#subjects-box summary")
    assert page.locator(".model-subjects tbody tr").count() == 57
    assert "High school physics" in page.inner_text("#subjects-table")
    history = page.inner_text("#history-table")
    assert "PENDING" in history and "RUNNING" in history and "FINISHED" in history
    assert page.locator("#history-table a", has_text="run").first.get_attribute("href").startswith("https://")
    assert page.inner_text("#reproduce").count("lm_eval --model hf") == 6
    page.click("#settings-box summary")
    assert 'batch_size: "auto"' in page.inner_text("#settings-list")
    first = page.locator(".details-meta").first.inner_text()
    page.click("#details-next")
    page.wait_for_function("() => document.querySelector('#details-page').textContent === '21–30 of 30'")
    page.wait_for_function("t => (document.querySelector('.details-meta') || {}).textContent !== t", arg=first)
    page.select_option("#details-bench", "gsm8k")
    page.wait_for_function(
        "() => ((document.querySelector('.details-meta') || {}).textContent || '').includes('gsm8k')"
    )
    page.click("#citations-show")
    page.wait_for_selector("#citations pre")
    assert "@misc{eval-harness" in page.inner_text("#citations")


def test_queue_page(page, site):
    page.goto(site[0] + "queue/")
    for heading in ("Running (1)", "Pending (1)", "Failed (1)"):
        assert page.locator(f"h2:has-text('{heading}')").count() == 1
    assert page.locator("a:text('logs')").count() >= 2


def test_injection_payloads_show_as_text_and_run_nothing(page, site):
    url, _ = site
    page.goto(url + f"models/evil-org/evil-model/{'a' * 12}_float16_open_llm_v1/")
    page.wait_for_selector("#details-rows .details-row")
    assert page.evaluate("window.__xss") is None
    assert XSS in page.inner_text(".md-content")
    # The reproduction command is built from the results file's own path, never from the text it records.
    assert "shlepa reproduce results/evil-org/evil-model/results_" in page.inner_text(".md-content")
    assert page.locator("img[src=x], svg[onload]").count() == 0
    open_board(page, url, "?show=merged,moe,flagged&hidden=submitted,weight_type")
    search(page, "evil")
    page.wait_for_selector("a.lb-model:text-is('evil-org/evil-model')")
    assert page.evaluate("window.__xss") is None
    assert XSS in page.inner_text("#lb-table")
    flag = page.locator("a.lb-flag")
    assert flag.get_attribute("href") == "https://example.org/discussions/1"


def test_charts_render_from_the_data_file(page, site):
    page.goto(site[0] + "charts/")
    page.wait_for_selector("#charts-app[data-ready]")
    page.wait_for_selector("#chart-pareto svg, #chart-pareto canvas")
    page.wait_for_selector("#chart-dist svg, #chart-dist canvas")


def test_pages_run_under_a_strict_content_security_policy(page, site):
    """No inline script anywhere: with `script-src 'self'` the pages work and the browser blocks nothing.

    The Vega pages (charts, training curves) also need 'unsafe-eval': Vega compiles its
    expressions with Function() unless the vega-interpreter package (not vendored) is used.
    """
    url, out = site
    policy = "script-src 'self'; object-src 'none'; base-uri 'self'"
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": policy})

    page.route("**/*", with_policy)
    open_board(page, url, "?search=evil&show=merged,moe,flagged")
    assert [r["model"] for r in visible(page)] == ["evil-org/evil-model"]
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    target = next(r for r in data["rows"] if (out / r["page"] / "details").is_dir() and not r["flag"])
    page.goto(url + target["page"])
    page.wait_for_selector("#details-rows .details-row")
    page.click("#subjects-box summary")
    assert page.locator(".model-subjects tbody tr").count() == 57
    for path in ("queue/", "about/"):
        page.goto(url + path)
        page.wait_for_selector("h1")
    assert not refused, refused


def test_training_curves_on_a_checkpoint_page_and_the_compare_page(browser, tmp_path):
    from support.result_sets import add_series

    root = make_repo(tmp_path / "repo", 2, queue=0)
    (root / "eval/suites/analysis360.yaml").write_bytes((REPO / "eval/suites/analysis360.yaml").read_bytes())
    add_series(root)
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        data = json.loads((out / "data" / "trajectories.json").read_text())
        point = data["series"][0]["points"][1]
        page.goto(url + point["page"])
        page.wait_for_selector("#curves-app[data-ready] svg, #curves-app[data-ready] canvas")
        page.goto(url + "compare/")
        page.wait_for_selector("#compare-app[data-ready]")
        page.wait_for_selector("#cmp-charts svg, #cmp-charts canvas")
        assert page.locator('#cmp-series input[name="series"]:checked').count() == 1
        assert f"series={data['series'][0]['id']}" in page.url
    finally:
        page.close()
        server.shutdown()
    assert not errors, errors
