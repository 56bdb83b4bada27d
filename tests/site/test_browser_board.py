"""What a visitor sees of the board at 1280, 1400 and 390 px, in headless Chromium (issue #16).

A board with two suites: Open LLM Leaderboard v1 and Analysis360 (perplexities, bits
per byte and a bias score, none of them averaged and all lower-is-better) with two
checkpoint series, plus a queue and one model evaluated from a local folder on 4
items per task (as the demo does). Screenshots of every page type at both widths go
to $SHLEPA_ARTIFACTS (default: tmp/artifacts in the repository); the folder is printed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
import yaml

from shlepa.site.build import build_site

from support.board_page import visible
from support.result_sets import add_series, make_repo
from support.serving import ARTIFACTS, CHROMIUM, chromium, serve_in_thread

pytestmark = pytest.mark.browser
WIDE, PHONE = 1400, 390
LOCAL_MODEL = "shlepa-demo/tiny-local"

REPO = Path(__file__).resolve().parents[2]


def _nav(root: Path) -> list[tuple[str, str]]:
    """(title, URL path) of every nav entry, as mkdocs.yml lists them."""
    entries = yaml.safe_load((root / "mkdocs.yml").read_text())["nav"]
    out = []
    for item in entries:
        ((title, target),) = item.items()
        out.append((title, "" if target == "index.md" else target.removesuffix(".md") + "/"))
    return out


def _add_local_model(root: Path) -> None:
    """A copy of one results file as the demo writes it: evaluated from a folder, 4 items per task."""
    src = sorted((root / "results").rglob("results_*.json"))[0]
    data = json.loads(src.read_text())
    data["request"]["model"] = LOCAL_MODEL
    data["details_file"] = None
    data["evaluation"].update(data="bundled", limit=4, model_args={"pretrained": "/tmp/demo/models/tiny-local"})
    data["request"]["params"] = None  # counted when the model was loaded, as the demo's are
    data["model_info"]["num_parameters"] = 164_160
    dst = root / "results" / LOCAL_MODEL / src.name
    dst.parent.mkdir(parents=True)
    dst.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    root = make_repo(tmp_path_factory.mktemp("repo"), 14, details_every=7, missing_every=5, queue=3)
    shutil.copyfile(REPO / "eval/suites/analysis360.yaml", root / "eval/suites/analysis360.yaml")
    add_series(root)
    add_series(root, model="lab/run-1b", series="run-b")
    _add_local_model(root)
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    yield root, out, url, json.loads((out / "data" / "leaderboard.json").read_text())
    server.shutdown()


@pytest.fixture(scope="module")
def browser(board):
    with chromium() as b:
        yield b


def new_page(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on(
        "console", lambda m: page.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    return page


@pytest.fixture(params=[WIDE, PHONE], ids=["1400px", "390px"])
def width(request) -> int:
    return request.param


def open_board(page, url: str, query: str = "") -> None:
    page.goto(url + query)
    page.wait_for_selector("#lb-app[data-ready]")


def switch_suite(page, title: str) -> None:
    page.click(f'#lb-tabs a:text-is("{title}")')
    page.wait_for_selector(f'#lb-tabs a.md-button--primary:text-is("{title}")')
    page.wait_for_selector("#lb-app[data-ready]")
    page.wait_for_function("() => document.querySelectorAll('#lb-table .tabulator-row').length > 0")


def expected_average(row: dict, keys: list[str], norm: bool) -> float | None:
    """The mean of the shown scores over ``keys``, rounded half up to 2 decimals (as
    lib/board.js's average: Math.round(x * 100) / 100)."""
    values = [v for k in keys if (v := (row["norm"] if norm else row["scores"]).get(k)) is not None]
    return math.floor(sum(values) / len(values) * 100 + 0.5) / 100 if values else None


def check_table(page, data: dict, suite: str, *, norm=False, rankf=False, hidden=(), names=None) -> list[dict]:
    """The table's ranks and averages are the data file's (the build's), or follow its rules
    for the visible columns (the suite's shown average keys only) and for the filter (1..N in
    the board's order). Rows are matched to the data by their model page link."""
    meta = data["suites"][suite]
    rows = {r["page"]: r for r in data["rows"] if r["suite"] == suite}
    shown_keys = [k for k in meta["average_keys"] if f"b_{k}" not in hidden]
    own = len(shown_keys) == len(meta["average_keys"])
    table = visible(page)
    assert all(s["page"] in rows for s in table)  # this suite's rows only
    if names is not None:
        assert {s["model"] for s in table} == names
    else:
        assert len(table) == len(rows)
    board_rank = "rank_norm" if norm else "rank"

    def avg(r: dict) -> float | None:
        return (r["average_norm"] if norm else r["average"]) if own else expected_average(r, shown_keys, norm)

    for s in table:
        assert s["avg"] == avg(rows[s["page"]]), (s, rows[s["page"]])
        if s.get("step") is not None or rows[s["page"]]["step"] is not None:
            assert s["step"] == str(rows[s["page"]]["step"])
    # The order ranks count in: the build's rank, or (over the visible columns) the shown
    # average, best first, ties in the build's order.
    order = sorted(rows.values(), key=lambda r: r[board_rank])
    if not own:
        order = sorted(
            sorted(rows.values(), key=lambda r: r["rank"]), key=lambda r: -(a if (a := avg(r)) is not None else -1e9)
        )
    if rankf:
        pages = {s["page"] for s in table}
        wanted = {r["page"]: i + 1 for i, r in enumerate(r for r in order if r["page"] in pages)}
    else:
        wanted = {r["page"]: i + 1 for i, r in enumerate(order)}
        if own:
            assert all(wanted[p] == r[board_rank] for p, r in rows.items())
    got = {s["page"]: s["rank"] for s in table}
    assert got == {p: wanted[p] for p in got}
    if not rankf and names is None:
        assert sorted(s["rank"] for s in table) == list(range(1, len(rows) + 1))  # 1..N within the suite
    return table


def download_view(page) -> list[dict]:
    with page.expect_download() as dl:
        page.click("#lb-csv")
    return list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))


def check_csv(page, shown: list[dict]) -> None:
    table = download_view(page)
    assert [r["model"] for r in table] == [r["model"] for r in shown]
    assert [int(r["rank"]) for r in table] == [r["rank"] for r in shown]
    assert [float(r["average"]) if r["average"] else None for r in table] == [r["avg"] for r in shown]


def test_table_ranks_and_averages_are_the_data_files_after_each_toggle_and_in_the_csv(browser, board):
    _root, _out, url, data = board
    page = new_page(browser, WIDE)
    open_board(page, url)
    for title, suite in (
        ("Analysis360", "analysis360"),
        ("Open LLM Leaderboard v1", "open_llm_v1"),
        ("Analysis360", "analysis360"),
    ):
        switch_suite(page, title)
        keys = data["suites"][suite]["average_keys"]
        hide = f"b_{keys[0]}"
        steps = [
            ("default", {}),
            ("normalized", {"norm": True}),
            ("rank within filter", {"norm": True, "rankf": True}),
            ("visible average", {"norm": True, "rankf": True, "hidden": (hide,)}),
            ("raw again", {"rankf": True, "hidden": (hide,)}),
            ("rank by board", {"hidden": (hide,)}),
            ("all columns", {}),
        ]
        state = {"norm": False, "rankf": False, "avgvis": False, "hidden": ()}
        for _name, want in steps:
            want = {"norm": False, "rankf": False, "hidden": (), **want}
            for box, key in (("#lb-norm", "norm"), ("#lb-rank-filtered", "rankf")):
                if state[key] != want[key]:
                    page.set_checked(box, want[key])
                    state[key] = want[key]
            if tuple(state["hidden"]) != tuple(want["hidden"]):
                if not page.is_visible("#lb-columns"):
                    page.click(".lb-filters summary")
                page.set_checked(f'#lb-columns input[value="{hide}"]', hide not in want["hidden"])
                state["hidden"] = want["hidden"]
            avgvis = bool(want["hidden"])
            if state["avgvis"] != avgvis:
                page.set_checked("#lb-avg-visible", avgvis)
                state["avgvis"] = avgvis
            shown = check_table(page, data, suite, norm=want["norm"], rankf=want["rankf"], hidden=want["hidden"])
            check_csv(page, shown)
        # Within a search, ranks are 1..N in the board's order; off again, the board's ranks.
        page.fill("#lb-search", "lab/")
        page.wait_for_function("() => new URLSearchParams(location.search).get('search') === 'lab/'")
        page.set_checked("#lb-rank-filtered", True)
        check_csv(
            page,
            check_table(
                page,
                data,
                suite,
                rankf=True,
                names={r["model"] for r in data["rows"] if r["suite"] == suite and "lab/" in r["model"]},
            ),
        )
        page.fill("#lb-search", "")
        page.wait_for_function("() => !new URLSearchParams(location.search).has('search')")
        page.set_checked("#lb-rank-filtered", False)
        check_table(page, data, suite)
    assert not page.problems, page.problems
    page.context.close()


def test_the_whole_data_files_agree_with_the_build(board):
    _root, out, _url, data = board
    table = list(csv.DictReader(io.StringIO((out / "data" / "leaderboard.csv").read_text())))
    rows = {(r["model"], r["sha"], r["suite"]): r for r in data["rows"]}
    assert len(table) == len(rows)
    for line in table:
        r = rows[(line["model"], line["sha"], line["suite"])]
        assert int(line["rank"]) == r["rank"] and int(line["rank_normalized"]) == r["rank_norm"]
        assert (float(line["average"]) if line["average"] else None) == r["average"]
        assert (line["step"] or None) == (None if r["step"] is None else str(r["step"]))
    for suite in data["suites"]:
        ranks = sorted(r["rank"] for r in data["rows"] if r["suite"] == suite)
        assert ranks == list(range(1, len(ranks) + 1))
    a360 = data["suites"]["analysis360"]
    lower = {b["key"] for b in a360["benchmarks"] if not b["higher_is_better"]}
    assert {"word_perplexity", "bits_per_byte", "crows_pairs"} <= lower and not lower & set(a360["average_keys"])
    assert next(iter(data["suites"])) == data["default_suite"] == "open_llm_v1"


@pytest.mark.parametrize("px", [1280, 1400, 1920])
def test_no_page_level_horizontal_scroll_the_grid_scrolls_inside(browser, board, px):
    _root, _out, url, _data = board
    page = new_page(browser, px)
    for path in ("", "?suite=analysis360", "queue/", "about/", "submit/", "faq/"):
        page.goto(url + path)
        if not path or path.startswith("?"):
            page.wait_for_selector("#lb-app[data-ready]")
        width, inner = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
        assert width <= inner, f"{path or 'leaderboard'} at {px} px: {width} px wide"
    # Analysis360 has 22 benchmark columns: the grid scrolls sideways inside itself, rank and model frozen.
    holder = page.goto(url + "?suite=analysis360") and page.wait_for_selector("#lb-app[data-ready]")
    holder = page.evaluate("""() => { const h = document.querySelector('#lb-table .tabulator-tableholder');
        return [h.scrollWidth, h.clientWidth, document.querySelector('#lb-table').getBoundingClientRect().right]; }""")
    assert holder[0] > holder[1] and holder[2] <= px
    frozen = page.eval_on_selector_all(
        "#lb-table .tabulator-col.tabulator-frozen", "cols => cols.map(c => c.getAttribute('tabulator-field'))"
    )
    assert {"rank", "model"} <= set(frozen)
    page.context.close()


def test_headers_are_readable_and_lower_is_better_is_said(browser, board):
    _root, _out, url, data = board
    page = new_page(browser, WIDE)
    open_board(page, url, "?suite=analysis360")
    # Every header's text is whole (inside its box) and clear of its sort arrow.
    cut = page.eval_on_selector_all(
        "#lb-table .tabulator-col",
        """cols => cols
        .map(c => [c.querySelector('.tabulator-col-title'), c.querySelector('.tabulator-arrow')])
        .filter(([e]) => e && e.offsetParent && e.textContent.trim())
        .filter(([e, arrow]) => { const r = document.createRange(); r.selectNodeContents(e);
                       const text = r.getBoundingClientRect(), box = e.getBoundingClientRect();
                       return text.right > box.right + 0.5 || text.bottom > box.bottom + 0.5
                              || (arrow && text.right > arrow.getBoundingClientRect().left); })
        .map(([e]) => e.textContent)""",
    )
    assert cut == []
    for b in data["suites"]["analysis360"]["benchmarks"]:
        tip = page.get_attribute(f'#lb-table .tabulator-col[tabulator-field="b_{b["key"]}"]', "title")
        assert b["title"] in tip and b["metric"] in tip and f"{b['num_fewshot']}-shot" in tip
        assert ("lower is better" in tip) == (not b["higher_is_better"])
    titles = page.eval_on_selector_all(
        '#lb-table .tabulator-col[tabulator-field^="b_"] .tabulator-col-title', "els => els.map(e => e.textContent)"
    )
    assert len(titles) == len(set(titles))  # no three identical "WikiTex..."
    # Lower is better: the first click sorts best (lowest) first.
    page.click('.tabulator-col[tabulator-field="b_word_perplexity"] .tabulator-col-title')
    values = [r["b_word_perplexity"] for r in visible(page) if r["b_word_perplexity"] is not None]
    assert values == sorted(values)
    page.context.close()


def test_on_a_phone_the_average_is_on_screen_beside_the_model_without_scrolling(browser, board):
    _root, _out, url, _data = board
    page = new_page(browser, PHONE)
    open_board(page, url, "")
    boxes = page.evaluate("""() => {
        const holder = document.querySelector('#lb-table .tabulator-tableholder').getBoundingClientRect();
        const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                               return [r.left, r.right]; };
        return {holder: [holder.left, holder.right],
                avg: box('#lb-table .tabulator-col[tabulator-field="avg"]'),
                cell: box('#lb-table .tabulator-row .tabulator-cell[tabulator-field="avg"]'),
                model: box('#lb-table .tabulator-row .tabulator-cell[tabulator-field="model"]')}; }""")
    left, right = boxes["holder"]
    for name in ("avg", "cell", "model"):
        assert left <= boxes[name][0] and boxes[name][1] <= right + 0.5, f"{name} {boxes[name]} outside {left}-{right}"
    # the narrow headers are whole, clear of their sort arrows
    cut = page.eval_on_selector_all(
        '#lb-table .tabulator-col[tabulator-field="rank"], #lb-table .tabulator-col[tabulator-field="avg"]',
        """cols => cols.filter(c => { const e = c.querySelector('.tabulator-col-title'),
                   arrow = c.querySelector('.tabulator-arrow'), r = document.createRange();
                   r.selectNodeContents(e); const text = r.getBoundingClientRect();
                   return text.right > e.getBoundingClientRect().right + 0.5
                          || text.right > arrow.getBoundingClientRect().left; })
              .map(c => c.textContent)""",
    )
    assert cut == []
    assert page.get_attribute('#lb-table .tabulator-col[tabulator-field="rank"]', "title").startswith("rank")
    page.context.close()


def test_the_table_is_as_tall_as_its_rows_and_checkpoints_show_their_step(browser, board):
    _root, _out, url, data = board
    page = new_page(browser, WIDE)
    open_board(page, url, "?suite=analysis360")
    rows_h, holder_h = page.evaluate("""() => { const h = document.querySelector('#lb-table .tabulator-tableholder');
        const rows = [...h.querySelectorAll('.tabulator-row')];
        return [rows.reduce((s, r) => s + r.offsetHeight, 0), h.clientHeight]; }""")
    assert holder_h <= rows_h + 20  # no fixed-height grey block under the rows
    shown = visible(page)
    series = [r for r in data["rows"] if r["suite"] == "analysis360" and r["step"] is not None]
    assert len(series) == 6
    assert sorted(r["step"] for r in shown if r["model"] == "lab/run-7b") == ["0", "1000", "2000"]
    page.click('.tabulator-col[tabulator-field="step"] .tabulator-col-title')
    steps = [int(r["step"]) for r in visible(page) if r["step"]]
    assert steps in (sorted(steps), sorted(steps, reverse=True))
    assert "sort=step" in page.url
    page.context.close()


def test_parameter_counts_show_three_digits_and_sort_by_the_full_count(browser, board):
    _root, _out, url, data = board
    page = new_page(browser, WIDE)
    open_board(page, url)
    page.click('.tabulator-col[tabulator-field="params"] .tabulator-col-title')
    full = {r["page"]: r["params"] for r in data["rows"]}
    shown = [(r["params"], full[r["page"]]) for r in visible(page) if r["params"] is not None]
    assert 164_160 / 1e9 in {f for _s, f in shown}  # the local model's, counted when it was loaded
    assert [s for s, _f in shown] == [float(f"{f:.3g}") for _s, f in shown]  # 0.000164, not 0.00016416
    order = [f for _s, f in shown]
    assert order in (sorted(order), sorted(order, reverse=True))
    page.context.close()


def test_pinned_rows_stay_on_top_in_any_sort_and_in_the_url(browser, board):
    _root, _out, url, _data = board
    page = new_page(browser, WIDE)
    open_board(page, url)
    last = visible(page)[-1]["model"]
    page.locator(f'.tabulator-row:has(a.lb-model:text-is("{last}")) button.lb-pin').click()
    assert visible(page)[0]["model"] == last
    page.fill("#lb-search", "no-such-model")  # a pinned row stays in the view whatever the search
    page.wait_for_function("() => new URLSearchParams(location.search).get('search') === 'no-such-model'")
    assert [r["model"] for r in visible(page)] == [last]
    page.fill("#lb-search", "")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('search')")
    for _ in range(2):  # both directions
        page.click('.tabulator-col[tabulator-field="b_arc"] .tabulator-col-title')
        assert visible(page)[0]["model"] == last
    assert "pin=" in page.url
    other = new_page(browser, WIDE)
    open_board(other, page.url)
    assert visible(other)[0]["model"] == last
    assert other.locator("button.lb-pin[aria-pressed=true]").count() == 1
    assert not page.problems and not other.problems
    other.context.close()
    page.context.close()


def test_empty_states_say_how_to_submit(browser, board, tmp_path):
    _root, _out, url, _data = board
    page = new_page(browser, WIDE)
    open_board(page, url, "?search=no-such-model-anywhere")
    assert page.is_visible("#lb-empty") and "submit/" in page.get_attribute("#lb-empty a", "href")
    page.click("#lb-empty a")
    page.wait_for_url("**/submit/")
    empty = make_repo(tmp_path / "empty", 0)
    build_site(empty, empty / "_site")
    server, empty_url = serve_in_thread(empty / "_site")
    try:
        open_board(page, empty_url)
        assert page.is_visible("#lb-empty-board") and not page.is_visible("#lb-empty")
        assert "No model has been evaluated" in page.inner_text("#lb-empty-board")
        page.click("#lb-empty-board a")
        page.wait_for_url("**/submit/")
    finally:
        server.shutdown()
    assert not page.problems, page.problems
    page.context.close()


def test_every_page_reaches_every_page_through_the_nav(browser, board, width):
    root, _out, url, data = board
    nav = _nav(root)
    model = next(r["page"] for r in data["rows"] if r["model"] == "lab/run-7b")
    page = new_page(browser, width)
    header = None
    for start in [path for _t, path in nav] + [model]:
        page.goto(url + start)
        links = page.locator(".md-tabs a.md-tabs__link")
        assert [t.strip() for t in links.all_inner_texts()] == [t for t, _p in nav], start
        for link, (_title, path) in zip(links.all(), nav, strict=False):
            assert link.is_visible()
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (start, path)  # on screen
            assert page.evaluate("a => a.href", link.element_handle()) == url + path
        # One header everywhere: the same title, search and tabs on model pages too.
        here = (
            page.inner_text(".md-header__title .md-ellipsis").split("\n")[0],
            page.locator(".md-header [data-md-component=search] .md-search__input").count(),
            page.locator(".md-header label.md-header__button[for=__search]").count(),
        )
        header = header or here
        assert here == header, start
    # Click through: from the home page along the tabs to every page, then to a model page and back.
    # A page may then write its state into the query (the training curves page does, at
    # once): the tab reached the page when the URL's path is the page's.
    page.goto(url)
    for title, path in nav[1:] + nav[:1]:
        page.click(f'.md-tabs a.md-tabs__link:text-is("{title}")')
        page.wait_for_url(lambda now, path=path: now.split("?")[0] == url + path)
        assert page.locator("h1").count() >= 1
    page.goto(url + model)
    page.click('.md-tabs a.md-tabs__link:text-is("Queue")')
    page.wait_for_url(url + "queue/")
    page.context.close()


def test_no_console_errors_or_warnings_and_screenshots(browser, board, width):
    _root, _out, url, data = board
    page = new_page(browser, width)
    model = next(r["page"] for r in data["rows"] if r["model"] == "lab/run-7b")
    shots = []
    for name, path in (
        ("leaderboard", ""),
        ("leaderboard-analysis360", "?suite=analysis360"),
        ("queue", "queue/"),
        ("about", "about/"),
        ("submit", "submit/"),
        ("faq", "faq/"),
        ("model", model),
    ):
        page.goto(url + path)
        if name.startswith("leaderboard"):
            page.wait_for_selector("#lb-app[data-ready]")
        page.wait_for_load_state("networkidle")
        if name != "model":  # the model page is another change's (its own tests check it)
            assert not page.problems, (name, page.problems)
        page.problems.clear()
        shot = ARTIFACTS / f"{name}-{width}px.png"
        page.screenshot(path=str(shot), full_page=True)
        shots.append(shot)
    print("\n".join(str(s) for s in shots))
    page.context.close()


def test_queue_ages_are_counted_in_the_browser_from_the_timestamps(browser, board):
    _root, out, url, _data = board
    page = new_page(browser, WIDE)
    later = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    page.clock.set_fixed_time(later)
    page.goto(url + "queue/")
    page.wait_for_selector("html[data-queue-ages]")
    ages = page.eval_on_selector_all(
        "time.queue-age", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])"
    )
    assert ages
    for stamp, text in ages:
        days = (later - datetime.fromisoformat(stamp)).days
        assert text.removesuffix(" ago") == f"{days} d", (stamp, text)
    built = (out / "queue" / "index.html").read_text()
    assert 'class="queue-age"' in built and "datetime=" in built  # the static text is the no-JS fallback
    page.context.close()


def test_demo_board_says_so_everywhere_local_models_link_home_and_missing_pages_get_the_404(browser, board):
    _root, out, url, data = board
    page = new_page(browser, WIDE)
    local = next(r for r in data["rows"] if r["model"] == LOCAL_MODEL)
    assert local["local"] and data["demo"] == {"limit": 4, "bundled": True}
    for path in ("", "queue/", "about/", local["page"]):
        page.goto(url + path)
        assert "4 items per task" in page.inner_text(".md-banner"), path
    open_board(page, url, f"?search={LOCAL_MODEL}")
    row = page.locator(f'.tabulator-row:has(a.lb-model:text-is("{LOCAL_MODEL}"))')
    assert [a.get_attribute("href") for a in row.locator(".tabulator-cell[tabulator-field=model] a").all()] == [
        local["page"]
    ]  # its model page, no Hub link
    hub = page.locator(".tabulator-row a[href^='https://huggingface.co/']")
    page.fill("#lb-search", "")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('search')")
    assert hub.count() > 0  # Hub models keep theirs
    with pytest.raises(HTTPError) as missing:
        urlopen(url + "no/such/page/")
    assert missing.value.code == 404
    body = missing.value.read().decode()
    assert body == (out / "404.html").read_text() and "md-header" in body
    # The 404 page is served at any depth: its link back to the board works from there.
    for path in ("no/such/page/", "models/gone-org/gone-model/0123456789ab_bfloat16_open_llm_v1/"):
        page.goto(url + path)
        page.click(".shlepa-404 a:text-is('leaderboard')")
        page.wait_for_selector("#lb-app[data-ready]")
        assert page.url == url, path
    page.context.close()
