"""``shlepa build``: the data file, the pages and the per-model pages, from fake repositories."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.io import atomic
from shlepa.records.keys import SHORT_SHA
from shlepa.records.request import MODEL_TYPE_SYMBOLS, Precision, WeightType
from shlepa.records.suite import load_suite
from shlepa.site.board import load_board
from shlepa.site.build import BuildError, build_site
from shlepa.site.meta import site_meta
from shlepa.site.render import break_at_underscores

from support.gitboard import git
from support.result_sets import add_hostile_model, make_repo
from support.stores import BACKENDS, board_with_stored_details


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    root = make_repo(tmp_path_factory.mktemp("repo"), 6, details_every=3, missing_every=3, queue=3)
    add_hostile_model(root)
    broken = root / "results" / "broken-org" / "broken" / "results_20240101T000000.000000Z.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json", encoding="utf-8")
    out = root / "_site"
    report = build_site(root, out, workers=2)  # the parallel path big sites take
    return root, out, report


def test_build_reports_broken_file_by_path_and_builds_the_rest(built):
    _root, out, report = built
    assert any("broken-org/broken/results_20240101T000000.000000Z.json" in s for s in report.skipped)
    assert report.models == 7
    assert (out / "index.html").is_file()


def test_leaderboard_data_has_every_model_with_scores_and_ranks(built):
    _root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    rows = [r for r in data["rows"] if r["suite"] == "open_llm_v1"]
    assert len(rows) == 7
    assert sorted(r["rank"] for r in rows) == list(range(1, 8))
    keys = [b["key"] for b in data["suites"]["open_llm_v1"]["benchmarks"]]
    assert keys == ["arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"]
    full = next(r for r in rows if not r["missing"])
    assert full["average"] == pytest.approx(sum(full["scores"].values()) / 6, abs=0.01)


def test_missing_benchmarks_are_empty_and_left_out_of_the_average(built):
    _root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    partial = [r for r in data["rows"] if r["missing"]]
    assert partial, "the fake data has models with missing benchmarks"
    for r in partial:
        present = [v for v in r["scores"].values() if v is not None]
        assert all(r["scores"][k] is None for k in r["missing"])
        assert r["average"] == pytest.approx(sum(present) / len(present), abs=0.01)
    page = (out / partial[0]["page"] / "index.html").read_text()
    assert "missing" in page and "* (without" in page


def test_model_page_has_scores_settings_reproduction_history_and_subjects(built):
    _root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    row = next(r for r in data["rows"] if r["model"] != "evil-org/evil-model" and not r["missing"])
    html = (out / row["page"] / "index.html").read_text()
    assert row["page"] == f"models/{row['model']}/{row['sha'][:12]}_{row['precision']}_open_llm_v1/"
    assert f"{row['scores']['arc']:.2f}" in html
    # the command that reruns and compares, from where the file lies (the fake one records an old command)
    results_file = next((_root / "results" / row["model"]).glob("results_*.json")).relative_to(_root)
    assert f"<code>shlepa reproduce {results_file}</code>" in html and "lm_eval --model hf" in html
    assert "shlepa evaluate" not in html
    # the scoring record, with the usual reason put back where the file leaves it out
    assert "62 task(s), no fallback" in html and "single-token continuations: one pass per context" in html
    assert 'class="md-header' in html  # rendered inside the theme's shell
    # The same header and nav tabs as every other page (search included); no sidebars or footer.
    home = (out / "index.html").read_text()
    tabs = lambda page: re.findall(r'class="md-tabs__link">\s*([^<]+?)\s*<', page)  # noqa: E731
    assert tabs(html) == tabs(home) and len(tabs(home)) >= 8
    assert "md-sidebar" not in html and "md-footer" not in html
    # The search dialog's markup comes from one script (not 10,000 copies): the same as the home page's.
    assert 'label class="md-header__button md-icon" for="__search"' in html and "search-dialog.js" in html
    dialog = home.split('<div class="md-search"')[1].split('<div class="md-content"')[0].split("</header>")[0]
    script = (out / "assets" / "js" / "material" / "search-dialog.js").read_text()
    assert json.loads(script.split('"afterend", ')[1].split(");\n})();")[0]).startswith('<div class="md-search"')
    assert "md-search__form" in dialog and "md-search__form" in script
    # Long sections travel as JSON in the page; model.js draws them (tests/test_browser.py).
    extra = json.loads(html.split('id="model-data">')[1].split("</script>")[0])
    assert len(extra["subjects"]) == 57 and "High school physics" in extra["subjects"]  # MMLU, readable names
    assert [h["status"] for h in extra["history"]] == ["PENDING", "RUNNING", "FINISHED"]  # request history
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", h["at"]) for h in extra["history"])
    assert extra["settings"]["batch_size"] == "auto"
    # The reproduction commands are in the HTML (Material adds its copy button to them).
    assert html.count("<code>lm_eval --model hf") == 1 and html.count("\nlm_eval --model hf") == 5
    # One id per element: the headings' ids differ from the containers model.js fills.
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # Metric names people read, not lm-eval's keys.
    assert "acc_norm,none" not in html.split('id="model-data">')[0] and "accuracy (length-normalized)" in html


def test_details_are_paged_only_for_models_with_details(built):
    _root, out, report = built
    assert 0 < report.details_models < report.models
    pages = list(out.glob("models/*/*/*/details/arc-0.json"))
    assert len(pages) == report.details_models
    chunk = json.loads(pages[0].read_text())
    # A page holds what the model did; the text every model shares is paged once per site.
    first = chunk["rows"][0]
    assert {"task", "doc_id", "s", "response", "metrics"} <= set(first) and "prompt" not in first
    version = chunk["shared"][first["task"]]
    text = json.loads((out / "details" / "shared" / first["task"] / version / "0.json").read_text())
    assert {"question", "choices", "target", "pre"} <= set(text["rows"][first["s"]])
    fake = [p for p in pages if "evil-org" not in str(p)]  # the hostile model has texts of its own
    assert len(fake) >= 2 and len({json.loads(p.read_text())["shared"][first["task"]] for p in fake}) == 1
    # The rows index the viewer's filters read: tasks run-length encoded, right/wrong per row.
    rows = json.loads((pages[0].parent / "index.json").read_text())
    assert sum(n for _t, n in rows["arc"]["task_runs"]) == len(rows["arc"]["right"]) == 30
    assert set(rows["arc"]["right"]) <= {"0", "1"}
    assert rows["mmlu"]["tasks"][0][1][0].isupper()  # a readable task name


def test_model_page_header_card_holds_the_results_values(built):
    _root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    row = next(r for r in data["rows"] if r["model"] != "evil-org/evil-model")
    html = (out / row["page"] / "index.html").read_text()
    card = html.split('<div class="model-card">')[1].split("</dl>")[0]
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", card))
    assert re.sub("<[^>]+>", "", facts["Revision"]) == row["sha"][:12]
    assert f'href="https://huggingface.co/{row["model"]}/commit/{row["sha"]}"' in facts["Revision"]
    assert facts["Precision"] == row["precision"] and facts["License"] == row["license"]
    assert re.search(
        r">\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|"
        r"December) \d{4}<",
        facts["Evaluated"],
    )


def test_untrusted_values_are_escaped_everywhere(built):
    _root, out, _ = built
    page = out / "models/evil-org/evil-model" / f"{'a' * 12}_float16_open_llm_v1" / "index.html"
    html = page.read_text()
    assert "<script>window.__xss" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html  # license, architecture, flag reason
    index = json.loads(html.split('id="details-index">')[1].split("</script>")[0])
    assert index["arc"]["rows"] == 1
    for name in ("index.html", "queue/index.html", "about/index.html"):
        assert "<script>window.__xss" not in (out / name).read_text()


def test_queue_page_lists_pending_running_and_failed_with_logs(built):
    _root, out, _ = built
    html = (out / "queue" / "index.html").read_text()
    for heading in ("Running (1)", "Pending (1)", "Failed (1)", "Finished (6)"):
        assert heading in html
    assert "OutOfMemoryError" in html and 'href="https://github.com/example/leaderboard/actions/runs/2"' in html


def test_nav_holds_only_existing_pages_and_submit_has_a_placeholder(built):
    _root, out, _ = built
    html = (out / "about" / "index.html").read_text()
    assert "Normalized scores" in html and "license: mit" in html
    submit = (out / "submit" / "index.html").read_text()
    if not (Path(__file__).resolve().parents[2] / "site" / "pages" / "submit.md").exists():
        assert "is not part of this build yet" in submit
    runners = Path(__file__).resolve().parents[2] / "site" / "pages" / "runners.md"
    assert (out / "runners" / "index.html").exists() == runners.exists()
    assert "/models/" not in html.split('class="md-nav__list"')[1].split("</nav>")[0]


def test_zero_results_still_builds(tmp_path: Path):
    root = make_repo(tmp_path, 0)
    report = build_site(root, tmp_path / "out")
    assert report.models == 0
    assert json.loads((tmp_path / "out" / "data" / "leaderboard.json").read_text())["rows"] == []


def test_one_result_via_cli(tmp_path: Path):
    root = make_repo(tmp_path, 1, queue=0)
    result = CliRunner().invoke(app, ["build", "--root", str(root), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "built 1 model(s)" in result.output
    assert len(list((tmp_path / "o" / "models").glob("*/*/*/index.html"))) == 1


def test_build_takes_the_address_pages_reports_over_leaderboard_yaml_s(tmp_path: Path):
    """publish.yml passes configure-pages' base_url (no trailing slash): a fork's stale site.url loses."""
    root = make_repo(tmp_path, 1, queue=0)
    (root / "leaderboard.yaml").write_text("site:\n  url: https://upstream.github.io/shlepa/\n", encoding="utf-8")
    build = ["build", "--root", str(root), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*build, "--site-url", "https://fork.github.io/board"])
    assert result.exit_code == 0, result.output
    assert 'href="/board/assets/css/shlepa.css"' in (tmp_path / "o" / "404.html").read_text()
    assert "<loc>https://fork.github.io/board/queue/</loc>" in (tmp_path / "o" / "sitemap.xml").read_text()
    bad = CliRunner().invoke(app, [*build, "--site-url", "javascript:alert(1)//"])
    assert bad.exit_code != 0 and "--site-url: not an http(s) address: 'javascript:alert(1)//'" in bad.output


def test_flag_links_must_be_http(tmp_path: Path):
    root = make_repo(tmp_path, 1, queue=0)
    (root / "flags.yaml").write_text(
        yaml.safe_dump([{"model": "a/b", "reason": "x", "url": "javascript:alert(1)"}]), encoding="utf-8"
    )
    report = build_site(root, tmp_path / "o")
    assert any("flags.yaml: field 'entry 1.url'" in s and "http" in s for s in report.skipped)


DATA_SCRIPT_TYPES = frozenset({"application/json", "application/ld+json"})  # data, never run (an import map would be)


class _ScriptScan(HTMLParser):
    """Executable inline code in a page: <script> without src (JSON data blocks aside), on*= handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and not a.get("src") and (a.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"inline <script {a}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def test_no_page_has_inline_scripts_or_handlers_so_script_src_self_holds(built):
    """Every generated page runs only same-origin script files (a CSP of script-src 'self')."""
    _root, out, _ = built
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 10 and any("/models/" in p.as_posix() for p in pages)
    bad = {}
    for page in pages:
        scan = _ScriptScan()
        scan.feed(page.read_text(encoding="utf-8"))
        if scan.found:
            bad[page.relative_to(out).as_posix()] = scan.found
    assert not bad, bad
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="assets/js/leaderboard.js">' in index


def test_the_data_file_carries_the_constants_the_javascript_reads(built):
    """One source: the meta block is shlepa.site.meta's, and the page's filters are drawn from it."""
    root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    meta = data["meta"]
    store = {"kind": "branch", "base_url": "details/"}  # leaderboard.yaml's default store
    assert meta == json.loads(json.dumps(site_meta(store), ensure_ascii=False))
    assert {t["key"]: t["symbol"] for t in meta["model_types"]} == MODEL_TYPE_SYMBOLS
    assert set(meta["precisions"]) == {p.value for p in Precision}
    assert meta["weight_types"] == [w.value for w in WeightType]
    # the revision column shows as many digits as the page paths use; no script has its own number
    assert meta["short_sha"] == SHORT_SHA
    scripts = "".join(p.read_text() for p in (Path(__file__).parents[2] / "site" / "assets" / "js").glob("*.js"))
    assert not re.search(r"sha\.slice\(0, *\d", scripts)
    assert data["suites"]["open_llm_v1"]["average_keys"] == load_suite("open_llm_v1", root).average_keys
    html = (out / "index.html").read_text(encoding="utf-8")
    for name, values in (
        ("type", [t["key"] for t in meta["model_types"]]),
        ("precision", meta["precisions"]),
        ("weight", meta["weight_types"]),
        ("size", [b["key"] for b in meta["size_bands"]] + [meta["unknown_size"]["key"]]),
        ("show", [s["key"] for s in meta["show"]]),
    ):
        assert re.findall(rf'name="{name}" value="([^"]+)"', html) == values
    shown = re.findall(r'name="show" value="([^"]+)" checked', html)
    assert shown == [s["key"] for s in meta["show"] if s["shown"]]
    js = "".join(p.read_text(encoding="utf-8") for p in (out / "assets" / "js").rglob("*.js"))
    for t in meta["model_types"]:
        assert t["symbol"] not in js and f'"{t["key"]}"' not in js  # read from the data, not spelled again
    assert '"bfloat16"' not in js and '"65+"' not in js


def test_a_demo_board_says_so_on_every_page_and_local_models_are_marked(tmp_path: Path):
    """Results on the first N items per task of the bundled data: every page says it is a demo."""
    root = make_repo(tmp_path / "repo", 2, queue=0)
    for path in (root / "results").rglob("results_*.json"):
        data = json.loads(path.read_text())
        data["evaluation"].update(data="bundled", limit=4)
        data["evaluation"]["model_args"]["pretrained"] = "/tmp/demo/models/" + data["request"]["model"]
        path.write_text(json.dumps(data))
    out = tmp_path / "out"
    build_site(root, out)
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    assert data["demo"] == {"limit": 4, "bundled": True}
    assert all(r["local"] for r in data["rows"])
    pages = [
        out / "index.html",
        out / "queue" / "index.html",
        out / "about" / "index.html",
        out / "404.html",
        out / data["rows"][0]["page"] / "index.html",
    ]
    for page in pages:
        assert "Demo board: the models here were evaluated on 4 items per task" in page.read_text(), page


def test_a_real_board_has_no_demo_banner_and_hub_models_are_not_local(built):
    _root, out, _ = built
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    assert data["demo"] is None and not any(r["local"] for r in data["rows"])
    assert "Demo board" not in (out / "index.html").read_text()


def test_serve_answers_a_missing_page_with_the_sites_404(built):
    from urllib.error import HTTPError
    from urllib.request import urlopen

    from support.serving import serve_in_thread

    _root, out, _ = built
    server, url = serve_in_thread(out)
    try:
        with pytest.raises(HTTPError) as missing:
            urlopen(url + "no/such/page/")
        assert missing.value.code == 404
        assert missing.value.read() == (out / "404.html").read_bytes()
        assert urlopen(url).status == 200
    finally:
        server.shutdown()


def test_queue_ages_carry_their_timestamps_for_the_browser(built):
    _root, out, _ = built
    html = (out / "queue" / "index.html").read_text()
    stamps = re.findall(r'<time class="queue-age" datetime="([^"]+)"', html)
    assert len(stamps) == 9  # running, pending, failed and the 6 finished
    assert all(datetime.fromisoformat(s).tzinfo is not None for s in stamps)
    assert "assets/js/queue.js" in html


def test_a_lower_is_better_benchmark_cannot_count_in_the_average(tmp_path: Path):
    from shlepa.records.suite import SuiteError

    root = make_repo(tmp_path, 0)
    path = root / "eval" / "suites" / "open_llm_v1.yaml"
    text = path.read_text()
    path.write_text(text.replace("metric: acc_norm", "metric: acc_norm\n    higher_is_better: false", 1))
    with pytest.raises(SuiteError, match="lower-is-better"):
        load_suite("open_llm_v1", root)
    suite = load_suite("analysis360", Path(__file__).resolve().parents[2])
    lower = {b.key for b in suite.benchmarks if not b.higher_is_better}
    assert {"word_perplexity", "byte_perplexity", "bits_per_byte", "crows_pairs"} <= lower
    assert not lower & set(suite.average_keys)


def test_the_demo_workspace_shares_folders_by_link_and_copies_the_settings(tmp_path: Path):
    """The settings reader refuses symbolic links, so the demo's board must hold copies (its build failed)."""
    from shlepa.config import load_settings
    from shlepa.demo.run import prepare_workspace

    repo = Path(__file__).resolve().parents[2]
    work = prepare_workspace(repo, tmp_path / "demo")
    assert (work / "eval").is_symlink() and (work / "site").is_symlink()
    assert (work / "leaderboard.yaml").is_file() and not (work / "leaderboard.yaml").is_symlink()
    load_settings(work)  # raises on a link


def test_the_full_csv_defuses_formula_cells_as_the_view_export_does():
    """Free text from request files (a license, a model card's architecture) never runs in a spreadsheet."""
    import csv as csvmod
    import io

    from shlepa.site.build import leaderboard_csv

    row = {
        "rank": 1,
        "suite": "s",
        "model": "org/m",
        "step": None,
        "type": "pretrained",
        "precision": "float16",
        "weight_type": "original",
        "params": 7.0,
        "license": '=HYPERLINK("https://evil.example","x")',
        "arch": "@SUM(1+1)",
        "sha": "a" * 40,
        "submitted": "\t=1+1",
        "average": -1.5,
        "rank_norm": 1,
        "average_norm": 0.0,
        "scores": {},
        "flag": None,
    }
    text = leaderboard_csv({"suites": {"s": {"benchmarks": []}}, "rows": [row]})
    (cells,) = csvmod.DictReader(io.StringIO(text))
    assert cells["license"] == "'" + row["license"]
    assert cells["architecture"] == "'@SUM(1+1)"
    assert cells["submitted"] == "'\t=1+1"
    assert cells["average"] == "-1.5"  # numbers stay numbers
    assert cells["model"] == "org/m"


def test_a_details_row_naming_a_path_as_its_benchmark_writes_nothing_outside_the_site(tmp_path):
    """The benchmark of a details row becomes a file name: '../../x' must not climb out of the site."""
    root = make_repo(tmp_path / "repo", 1, details_every=1, queue=0)
    (path, res), *_ = load_board(root).results.values()
    rows = atomic.read_jsonl_gz(path.parent / res.details_file)
    evil = dict(rows[0], benchmark="../../../escaped")
    atomic.write_jsonl_gz(path.parent / res.details_file, [*rows, evil])
    out = tmp_path / "site"
    build_site(root, out)
    assert not list(tmp_path.rglob("escaped*"))
    details = next(out.rglob("details"))
    assert {p.name.split("-")[0] for p in details.glob("*-0.json")} <= {
        b.key for b in load_suite("open_llm_v1", root).benchmarks
    }


# -- details in the details store (#14 items 3, 5) -----------------------------------------------
def _board_with_stored_details(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> tuple[Path, list[str]]:
    """A board of 4 models (every other with details) whose details were moved into a store of ``kind``."""
    root, store, keys = board_with_stored_details(tmp_path, kind, request, 4, details_every=2)
    assert keys
    settings = {
        "branch": "details:\n  store: branch\n",
        "hf": f"details:\n  store: hf\n  hf: {{repo: board/details, endpoint: '{getattr(store, 'endpoint', '')}'}}\n",
        "s3": "details:\n  store: s3\n  s3: {bucket: details, prefix: v1/, public_url: 'https://details.example.org/'}\n",
    }[kind]
    (root / "leaderboard.yaml").write_text(settings, encoding="utf-8")
    return root, keys


@pytest.mark.parametrize("kind", BACKENDS)
def test_model_pages_name_their_details_in_the_configured_store(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest, git_env
) -> None:
    root, keys = _board_with_stored_details(tmp_path, kind, request)
    report = build_site(root, root / "_site")
    out = report.out
    meta = json.loads((out / "data" / "leaderboard.json").read_text())["meta"]["details_store"]
    assert meta["kind"] == kind
    titles = json.loads((out / "data" / "details-meta.json").read_text())
    assert titles["store"] == meta and titles["metric_titles"]["acc_norm"] == "accuracy (length-normalized)"
    urls = sorted(
        re.findall(r'data-details-url="([^"]+)"', "".join(p.read_text() for p in out.glob("models/*/*/*/index.html")))
    )
    assert report.details_models == len(urls) >= 2
    named = [u.rsplit("/sha256/", 1)[1] for u in urls]
    assert {"sha256/" + k for k in named} <= set(keys)
    assert not list(out.glob("models/*/*/*/details/*.json")), "stored details are not split into the site"
    if kind == "branch":
        # The publish job's copy: exactly the files the pages name, under details/ of the site.
        assert all(u.startswith("../../../../details/sha256/") for u in urls)
        copied = sorted(p.relative_to(out / "details").as_posix() for p in (out / "details").rglob("*") if p.is_file())
        stored = [c for c in copied if not c.startswith("shared/")]
        assert stored == sorted({"sha256/" + k for k in named})  # identical files share one key
    else:
        assert all(u.startswith(meta["base_url"]) and u.startswith("http") for u in urls)
        assert all(u[len(meta["base_url"]) :].startswith("sha256/") for u in urls)
        assert not list((out / "details").glob("sha256/**/*")), "the store's files are read from the store"
    # The compact rows' text: the shared pages every model of a task version uses, once in the site.
    assert list((out / "details" / "shared").rglob("*.json"))


def test_the_branch_store_refuses_a_site_over_its_budget_and_names_hf_and_s3(
    tmp_path: Path, request: pytest.FixtureRequest, git_env
) -> None:
    root, _keys = _board_with_stored_details(tmp_path, "branch", request)
    build_site(root, root / "_site")
    before = sorted(p.name for p in (root / "_site").iterdir())
    (root / "leaderboard.yaml").write_text("details:\n  store: branch\n  pages_budget_mb: 1\n", encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_site(root, root / "_site")
    text = str(err.value)
    assert "pages_budget_mb" in text and "hf" in text and "s3" in text and "details.store" in text
    assert sorted(p.name for p in (root / "_site").iterdir()) == before  # the previous site is whole
    result = CliRunner().invoke(app, ["build", "--root", str(root)])
    assert result.exit_code != 0 and "switch leaderboard.yaml details.store to hf" in result.output


def test_model_page_says_how_each_task_was_scored_and_warns_of_a_fallback(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", 1)
    (path,) = (root / "results").rglob("results_*.json")
    data = json.loads(path.read_text())
    data["scoring"] = {
        "arc_challenge": {
            "requests": 8,
            "paths": {"packed-tree": 8},
            "why": {"packed-tree": ["tree cheaper"]},
            "fallback": 0,
        },
        "mmlu_anatomy": {
            "requests": 4,
            "paths": {"shared-pass": 3, "plain": 1},
            "why": {"shared-pass": ["one row per context"], "plain": ["longer than the model window <b>"]},
            "fallback": 1,
            "rescored_near_ties": 2,
        },
    }
    data["lm_eval"] = data.pop("lm_eval")  # last, as write_results puts it (readers stop before it)
    atomic.write_json(path, data)
    out = root / "_site"
    build_site(root, out)
    (page,) = out.glob("models/*/*/*/index.html")
    html = page.read_text()
    box = html.split('id="scoring-box"')[1].split("</details>")[0]
    assert "2 task(s), 1 with a fallback" in box
    # one row per benchmark; a reason that is not the path's usual one is shown under it
    assert (
        '<tr><td>ARC <code class="task-name">arc_<wbr>challenge</code></td><td>8</td><td>packed token tree 8<br><small>packed token tree: tree cheaper</small></td></tr>'
        in box
    )
    assert (
        '<tr><td>MMLU <code class="task-name">mmlu_<wbr>anatomy</code></td><td>4</td><td>shared pass 3, plain lm-eval 1; 2 near-tie document(s) re-scored plain'
        in box
    )
    assert box.count("<tr><td>") == 2
    # a task name breaks after its underscores only (a 390 px column), escaped like any text
    assert break_at_underscores("shlepa_<b>_mc2") == "shlepa_<wbr>&lt;b&gt;_<wbr>mc2"
    warning = html.split('<p class="admonition-title">Fallback</p>')[1].split("</div>")[0]
    assert (
        "<code>mmlu_anatomy</code>: 1 request(s) on the plain lm-eval path: longer than the model window &lt;b&gt;"
        in warning
    )


def _pending_rows(html: str) -> list[tuple[str, datetime]]:
    """(row anchor, age timestamp) of the Pending table, top to bottom."""
    table = html.split('id="pending"')[1].split('id="failed"')[0]
    found = re.findall(r'<tr id="([^"]+)"[^>]*>.*?<time class="queue-age" datetime="([^"]+)"', table)
    return [(anchor, datetime.fromisoformat(stamp)) for anchor, stamp in found]


def _anchor(path: Path) -> str:
    from shlepa.records.keys import queue_anchor
    from shlepa.records.request import load_request

    req = load_request(path)
    return queue_anchor(req.model, req.revision, req.precision.value, req.suite)


def test_queue_page_orders_and_ages_pending_requests_by_merge_time_like_the_runners(tmp_path: Path, monkeypatch):
    """The author writes submitted_at; the page shows the order the runners claim in (queue.store)."""
    from shlepa.queue.store import pending
    from shlepa.records.request import Status, load_request

    root = make_repo(tmp_path / "repo", 1, queue=4)  # two PENDING requests, submitted 20 h and 5 h ago
    waiting = [p for p in sorted(root.glob("requests/**/*.yaml")) if load_request(p).status == Status.pending]
    older, newer = sorted(waiting, key=lambda p: load_request(p).submitted_at)

    # Outside git the page falls back as the store does: oldest submitted_at first, aged from it.
    build_site(root, tmp_path / "plain")
    rows = _pending_rows((tmp_path / "plain" / "queue" / "index.html").read_text())
    assert rows == [(_anchor(p), load_request(p).submitted_at) for p in (older, newer)]
    assert [a for a, _ in rows] == [_anchor(e.path) for e in pending(root)]

    # In a checkout the newer request was merged first (the other a day later), so it is next in line.
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all", f":!{older.relative_to(root)}", f":!{newer.relative_to(root)}")
    git(root, "commit", "--quiet", "-m", "the board")
    merged = {newer: "2025-03-01T10:00:00+00:00", older: "2025-03-02T10:00:00+00:00"}
    for path, stamp in merged.items():
        monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
        git(root, "add", str(path.relative_to(root)))
        git(root, "commit", "--quiet", "-m", f"Merge pull request: {path.name}")
    build_site(root, tmp_path / "git")
    html = (tmp_path / "git" / "queue" / "index.html").read_text()
    rows = _pending_rows(html)
    assert rows == [(_anchor(p), datetime.fromisoformat(merged[p])) for p in (newer, older)]
    assert [a for a, _ in rows] == [_anchor(e.path) for e in pending(root)]  # the runners' own order
    assert "<th>Queued</th>" in html


def test_models_with_stored_details_share_each_text_page_decoded_once(tmp_path: Path, monkeypatch) -> None:
    """Every model of a task version names the same shared text: the build decodes it once,
    not once per model (10,000 times on a real board), and a model whose details are in the
    store gets the shared pages only, no details folder of its own."""
    from shlepa.records import details as details_format

    root = make_repo(tmp_path / "repo", 6, details_every=0, stored=True, missing_every=0, queue=0)
    decoded: list[str] = []
    real = details_format.SharedText.decode.__func__

    def counting(cls, data: bytes, key: str):
        decoded.append(key)
        return real(cls, data, key)

    monkeypatch.setattr(details_format.SharedText, "decode", classmethod(counting))
    out = tmp_path / "site"
    build_site(root, out, workers=1)
    texts = {p.name for p in (root / "details").rglob("*") if p.is_file()}
    assert decoded and len(decoded) == len(set(decoded)) <= len(texts)
    assert list(out.glob("models/*/*/*/details")) == []
    pages = list(out.glob("models/*/*/*/index.html"))
    assert len(pages) == 6 and all("data-details-url=" in p.read_text() for p in pages)
    assert list((out / "details" / "shared").rglob("*.json"))


def test_only_benchmarks_normalized_on_a_baseline_show_one(tmp_path: Path):
    """A perplexity or a bias score has no chance baseline: the model page and the data file show none, not 0."""
    root = make_repo(tmp_path, 0)
    repo = Path(__file__).resolve().parents[2]
    (root / "eval" / "suites" / "analysis360.yaml").write_bytes((repo / "eval/suites/analysis360.yaml").read_bytes())
    make_repo(root, 2, suite_name="analysis360")
    build_site(root, root / "_site")
    data = json.loads((root / "_site" / "data" / "leaderboard.json").read_text())
    benches = {b["key"]: b for b in data["suites"]["analysis360"]["benchmarks"]}
    assert benches["arc"]["baseline"] == 25.0 and benches["boolq"]["baseline"] == 50.0
    assert {k for k, b in benches.items() if b["baseline"] is None} == {
        "crows_pairs", "word_perplexity", "byte_perplexity", "bits_per_byte", "memorization"
    }  # fmt: skip
    row = next(r for r in data["rows"] if r["suite"] == "analysis360")
    html = (root / "_site" / row["page"] / "index.html").read_text()
    cells = {
        m[0]: m[1]
        for m in re.findall(
            r"<tr><td>([^<]+?)(?: <span[^>]*>[^<]*</span>)*</td><td[^>]*>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html
        )
    }
    assert cells["ARC-Challenge"] == "25.0" and cells["WikiText word perplexity"] == "–", cells
    assert cells["CrowS-Pairs (% stereotype)"] == "–"
    # The About page's benchmark table: no baseline there either; task names break only after "_".
    about = (root / "_site" / "about" / "index.html").read_text()
    row = about.split(">WikiText word perplexity</a></td>")[1].split("</tr>")[0]
    assert "<td>–</td>" in row and "0.0" not in row
    assert '<code class="task-name">word_<wbr>perplexity</code>' in row
    assert "<code>None</code>" not in about and "none: shlepa's own memorization check" in about


def test_a_project_site_s_404_page_links_under_its_address_and_the_sitemap_lists_the_model_pages(tmp_path: Path):
    """GitHub Pages serves 404.html at any depth of https://OWNER.github.io/NAME/: its links start at /NAME/."""
    import gzip
    from urllib.error import HTTPError
    from urllib.request import urlopen

    from support.serving import serve_in_thread

    root = make_repo(tmp_path, 3)
    (root / "leaderboard.yaml").write_text("site:\n  url: https://own.github.io/board/\n", encoding="utf-8")
    out = root / "_site"
    build_site(root, out)
    missing = (out / "404.html").read_text()
    links = re.findall(r'(?:href|src)="([^"]+)"', missing)
    assert links and all(link.startswith(("/board/", "https://", "#")) for link in links), links
    assert re.search(r'<a href="/board/\.?">leaderboard</a>', missing)
    data = json.loads((out / "data" / "leaderboard.json").read_text())
    # Each model page is its own canonical page (the theme would name the shell's address).
    for row in data["rows"]:
        assert 'rel="canonical"' not in (out / row["page"] / "index.html").read_text()
    assert (
        '<link rel="canonical" href="https://own.github.io/board/queue/">' in (out / "queue" / "index.html").read_text()
    )
    sitemap = (out / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert {f"https://own.github.io/board/{r['page']}" for r in data["rows"]} <= set(locs)
    assert "https://own.github.io/board/queue/" in locs and not any("_shell" in loc for loc in locs)
    assert gzip.decompress((out / "sitemap.xml.gz").read_bytes()).decode() == sitemap
    # `shlepa serve` answers at / and under the address's path, where the 404 page's links go.
    server, url = serve_in_thread(out, site_url="https://own.github.io/board/")
    try:
        for path in ["", "board/", "board/queue/"] + [link[1:] for link in links if link.startswith("/")]:
            assert urlopen(url + path).status == 200, path  # every link and asset of the 404 page
        with pytest.raises(HTTPError) as gone:
            urlopen(url + "board/no/such/page/")
        assert gone.value.code == 404 and gone.value.read() == (out / "404.html").read_bytes()
    finally:
        server.shutdown()
    # A site published under a name one of its own folders has (/data/) still serves that folder.
    server, url = serve_in_thread(out, site_url="https://own.github.io/data/")
    try:
        assert json.loads(urlopen(url + "data/leaderboard.json").read()) == data
        assert urlopen(url + "data/queue/").status == 200
    finally:
        server.shutdown()


def test_a_sitemap_over_the_protocols_limit_becomes_an_index_of_sitemaps(tmp_path: Path):
    """sitemaps.org: at most 50,000 addresses a file (here 3, to test it on a small site)."""
    import gzip

    from shlepa.site.build import SHELL_DIR, sitemap_with_model_pages

    mkdocs_own = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"\n    <url>\n         <loc>https://o.github.io/b/{p}</loc>\n    </url>" for p in ("", "queue/"))
        + f"\n    <url>\n         <loc>https://o.github.io/b/{SHELL_DIR}/</loc>\n    </url>\n</urlset>"
    )
    rows = [{"page": f"models/org/m{i}/{i:012x}_bfloat16_s/", "evaluated": "2026-12-01"} for i in range(5)]
    for limit, files in (
        (50_000, ["sitemap.xml"]),
        (3, ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap.xml"]),
    ):
        out = tmp_path / str(limit)
        out.mkdir()
        (out / "sitemap.xml").write_text(mkdocs_own, encoding="utf-8")
        (out / "sitemap.xml.gz").write_bytes(b"")
        sitemap_with_model_pages(out, rows, "https://o.github.io/b/", max_urls=limit)
        assert sorted(p.name for p in out.glob("sitemap*.xml")) == files
        locs = [loc for f in files for loc in re.findall(r"<loc>([^<]+)</loc>", (out / f).read_text())]
        pages = [loc for loc in locs if not loc.endswith(".xml")]
        assert pages == ["https://o.github.io/b/", "https://o.github.io/b/queue/"] + [
            f"https://o.github.io/b/{r['page']}" for r in rows
        ]  # the shell's entry gone, each model page once
        for f in files[:-1]:  # the index's files, each within the limit, listed in the index
            assert len(re.findall("<url>", (out / f).read_text())) <= limit
            assert f"<sitemap><loc>https://o.github.io/b/{f}</loc></sitemap>" in (out / "sitemap.xml").read_text()
        assert gzip.decompress((out / "sitemap.xml.gz").read_bytes()).decode() == (out / "sitemap.xml").read_text()


def test_a_rebuild_swaps_the_new_site_in_and_the_previous_one_is_deleted_after(tmp_path: Path):
    """The previous site's deletion runs in a process of its own (10,000 folders take seconds);
    one that was cut short is finished by the next build."""
    import time

    root = make_repo(tmp_path, 2, queue=0)
    out = root / "_site"
    build_site(root, out)
    (out / "mark.txt").write_text("first build", encoding="utf-8")
    stale = root / "._site.old-999999999"
    (stale / "models").mkdir(parents=True)
    build_site(root, out)
    assert not (out / "mark.txt").exists() and (out / "index.html").is_file()  # the new site, whole
    assert not stale.exists()
    deadline = time.monotonic() + 60
    while list(root.glob("._site.old-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(root.glob("._site.old-*")), "the previous site was never deleted"
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("._site")) == []
