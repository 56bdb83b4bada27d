"""The Submit form and the queue search in headless Chromium, against the fake Hub.

The form's checks must be worded as `shlepa validate` words them for the same model, and
the file it renders must be the one `shlepa submit` writes (byte for byte, but for the
time of submission) and pass `shlepa validate`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.config import ValidationSettings
from shlepa.records.keys import queue_anchor
from shlepa.records.request import load_all_requests
from shlepa.site.build import build_site
from shlepa.submission.hub import Hub
from shlepa.submission.rules import BASE_PREFIX, CHECKS
from shlepa.submission.validate import Options, validate_paths

from support.result_sets import make_repo
from support.serving import CHROMIUM, chromium, serve_in_thread

pytestmark = pytest.mark.browser
TIME_RE = re.compile(r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z'")
FORM_NAMES = {r.name for r in CHECKS.values()} | {BASE_PREFIX + r.name for r in CHECKS.values()}
OPTOUT = "optout-org"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    root = make_repo(tmp_path_factory.mktemp("repo"), 3, queue=4)
    suite = Path(__file__).resolve().parents[2] / "eval" / "suites" / "analysis360.yaml"
    (root / "eval" / "suites" / "analysis360.yaml").write_bytes(suite.read_bytes())  # a second suite to pick
    (root / "leaderboard.yaml").write_text(f"validation:\n  optout_orgs: [{OPTOUT}]\nsite:\n  repository: own/board\n")
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    yield url, root
    server.shutdown()


@pytest.fixture(scope="module")
def browser(site):
    # A page Playwright fulfils (the CSP test) counts as public; its calls to the fake Hub on
    # 127.0.0.1 would then be refused as local-network access, which huggingface.co is not.
    with chromium("--disable-features=LocalNetworkAccessChecks") as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    # a routed request still being fulfilled as the page closes would fail the next test's new_page
    pg.unroute_all(behavior="ignoreErrors")
    context.close()
    assert not errors, errors


def open_form(page, site, hub) -> None:
    page.goto(f"{site[0]}submit/?hub={hub.endpoint}")
    page.wait_for_selector("#submit-app[data-ready]")


def fill(
    page,
    model: str,
    *,
    revision: str = "main",
    precision: str = "",
    model_type: str = "pretrained",
    weight_type: str = "original",
    base_model: str = "",
    chat: bool = False,
    suite: str = "open_llm_v1",
    submitter: str = "tester",
    license: str = "",
) -> None:
    page.check("#sf-mode-single")
    page.fill("#sf-model", model)
    page.fill("#sf-revision", revision)
    page.select_option("#sf-precision", precision)
    page.select_option("#sf-model-type", model_type)
    page.select_option("#sf-weight-type", weight_type)
    if weight_type != "original":
        page.fill("#sf-base-model", base_model)
    page.set_checked("#sf-chat", chat)
    page.select_option("#sf-suite", suite)
    page.fill("#sf-submitter", submitter)
    page.fill("#sf-license", license)


def press_check(page) -> None:
    page.evaluate("document.querySelector('#sf-status').textContent = ''")
    page.click("#sf-submit")
    page.wait_for_function(
        "() => { const t = document.querySelector('#sf-status').textContent; return t && !t.startsWith('Asking'); }"
    )


def form_checks(page) -> list[tuple[str, str, str]]:
    return [
        tuple(x)
        for x in page.eval_on_selector_all(
            "#sf-checks .sf-check",
            "els => els.map(e => [e.querySelector('.sf-check-name').textContent, e.dataset.status, "
            "e.querySelector('.sf-check-message').textContent])",
        )
    ]


def form_files(page) -> list[tuple[str, str]]:
    return [
        tuple(x)
        for x in page.eval_on_selector_all(
            "#sf-files .sf-file",
            "els => els.map(e => [e.querySelector('.sf-path').textContent, e.querySelector('.sf-yaml').textContent])",
        )
    ]


def validator_checks(board: Path, rel: str, text: str, hub) -> list[tuple[str, str, str]]:
    """What `shlepa validate` says about the file, restricted to the checks the form runs."""
    (board / rel).parent.mkdir(parents=True, exist_ok=True)
    (board / rel).write_text(text)
    opts = Options(settings=ValidationSettings(optout_orgs=[OPTOUT]), hub=Hub(endpoint=hub.endpoint))
    checklist = validate_paths(board, [board / rel], opts)
    return [(c.name, c.status.value, c.message) for c in checklist.checks if c.name in FORM_NAMES]


CASES = [
    ("good", dict(model="org/good")),
    ("bf16 evaluated in float16", dict(model="org/good", precision="float16")),
    ("stored float32", dict(model="org/fp32")),
    ("closed license", dict(model="org/closed-license")),
    ("pickle weights", dict(model="org/pickle-only")),
    ("too big", dict(model="org/too-big")),
    ("no license in the card", dict(model="org/no-card", license="apache-2.0")),
    ("opted-out organisation", dict(model=f"{OPTOUT}/model")),
    ("adapter and its base", dict(model="org/adapter", weight_type="adapter", base_model="org/base")),
]


@pytest.mark.parametrize("case", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_the_forms_checks_are_worded_as_the_validators(page, site, fake_hub, tmp_path, case):
    open_form(page, site, fake_hub)
    fill(page, **case)
    press_check(page)
    shown = form_checks(page)
    ((rel, text),) = form_files(page)
    assert shown, "the form ran no checks"
    assert validator_checks(tmp_path / "board", rel, text, fake_hub) == shown


def test_an_unknown_model_or_revision_is_reported_with_the_validators_words(page, site, fake_hub):
    open_form(page, site, fake_hub)
    fill(page, "org/does-not-exist")
    press_check(page)
    assert form_checks(page) == [
        ("model on the Hub", "fail", CHECKS["model_missing"].message.format(model="org/does-not-exist"))
    ]
    fill(page, "org/good", revision="no-such-branch")
    press_check(page)
    assert form_checks(page) == [
        ("revision", "fail", CHECKS["revision_missing"].message.format(revision="no-such-branch", model="org/good"))
    ]
    assert page.is_hidden("#sf-output")


SAME_FILE = [
    (
        "chat model at a tag",
        dict(model="org/good", revision="v1.0", model_type="chat", chat=True),
        ["--revision", "v1.0", "--model-type", "chat", "--chat-template"],
    ),
    (
        "delta on another suite, license given",
        dict(
            model="org/fp32",
            model_type="fine-tuned",
            weight_type="delta",
            base_model="org/base",
            precision="float32",
            suite="analysis360",
            license="mit",
        ),
        [
            "--model-type",
            "fine-tuned",
            "--weight-type",
            "delta",
            "--base-model",
            "org/base",
            "--precision",
            "float32",
            "--suite",
            "analysis360",
            "--license",
            "mit",
        ],
    ),
]


@pytest.mark.parametrize(("form", "cli"), [c[1:] for c in SAME_FILE], ids=[c[0] for c in SAME_FILE])
def test_the_rendered_file_is_what_shlepa_submit_writes_and_passes_validate(page, site, fake_hub, tmp_path, form, cli):
    open_form(page, site, fake_hub)
    fill(page, **form, submitter="some-one")
    press_check(page)
    ((rel, text),) = form_files(page)
    # GitHub's new-file page in the configured repository, with this file.
    link = urlsplit(page.get_attribute("#sf-github", "href"))
    query = parse_qs(link.query)
    assert (link.netloc, link.path) == ("github.com", "/own/board/new/main")
    assert query["filename"] == [rel] and query["value"] == [text]
    # What `shlepa submit` writes for the same inputs (only the time of submission differs).
    cli_board, form_board = tmp_path / "cli", tmp_path / "form"
    for b in (cli_board, form_board):
        (b / "eval" / "suites").mkdir(parents=True)
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "submit",
            form["model"],
            *cli,
            "--submitter",
            "some-one",
            "--hub-endpoint",
            fake_hub.endpoint,
            "--root",
            str(cli_board),
        ],
    )
    assert made.exit_code == 0, made.output
    cli_text = (cli_board / rel).read_text()
    stamps = set(TIME_RE.findall(text))
    assert len(stamps) == 1 and len(set(TIME_RE.findall(cli_text))) == 1
    assert TIME_RE.sub(stamps.pop(), cli_text) == text
    (form_board / rel).parent.mkdir(parents=True)
    (form_board / rel).write_bytes(text.encode())
    checked = runner.invoke(
        app, ["validate", str(form_board / rel), "--hub-endpoint", fake_hub.endpoint, "--root", str(form_board)]
    )
    assert checked.exit_code == 0, checked.output
    assert (form_board / rel).read_bytes() == text.encode()  # validated as written
    sha = fake_hub.repos[form["model"]].sha
    assert page.inner_text("#sf-queue-anchor") == "#" + queue_anchor(
        form["model"], sha, form.get("precision") or "bfloat16", form.get("suite", "open_llm_v1")
    )


def test_a_checkpoint_series_renders_every_file_a_patch_and_the_command(page, site, fake_hub, tmp_path):
    open_form(page, site, fake_hub)
    page.check("#sf-mode-series")
    page.fill("#sf-model", "org/run")
    page.fill("#sf-series", "run-v1")
    page.fill("#sf-checkpoints", "2000=step_2000\n1000=step_1000\n3000=step_3000")
    page.fill("#sf-submitter", "tester")
    page.select_option("#sf-suite", "open_llm_v1")
    press_check(page)
    files = form_files(page)
    assert len(files) == 3
    assert "GitHub's new-file page takes one file" in page.inner_text("#sf-several")
    command = page.inner_text("#sf-command-series")
    assert (
        command.startswith("shlepa submit-series org/run -c 2000=step_2000 -c 1000=step_1000")
        and "--open-pr" in command
    )
    # The patch applies with git and gives exactly the files shown ...
    work = tmp_path / "apply"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (tmp_path / "series.patch").write_text(
        page.inner_text("#sf-patch") + ("" if page.inner_text("#sf-patch").endswith("\n") else "\n")
    )
    subprocess.run(["git", "apply", str(tmp_path / "series.patch")], cwd=work, check=True)
    assert [(rel, (work / rel).read_text()) for rel, _ in files] == files
    # ... which are the ones `shlepa submit-series` writes.
    cli_board = tmp_path / "cli"
    (cli_board / "eval" / "suites").mkdir(parents=True)
    made = CliRunner().invoke(
        app,
        [
            "submit-series",
            "org/run",
            "-c",
            "2000=step_2000",
            "-c",
            "1000=step_1000",
            "-c",
            "3000=step_3000",
            "--series",
            "run-v1",
            "--suite",
            "open_llm_v1",
            "--submitter",
            "tester",
            "--hub-endpoint",
            fake_hub.endpoint,
            "--root",
            str(cli_board),
        ],
    )
    assert made.exit_code == 0, made.output
    stamp = TIME_RE.search(files[0][1]).group(0)
    cli_files = sorted(
        (str(p.relative_to(cli_board)), TIME_RE.sub(stamp, p.read_text()))
        for p in (cli_board / "requests").rglob("*.yaml")
    )
    assert cli_files == sorted(files)
    steps = [int(re.search(r"step: (\d+)", t).group(1)) for _, t in files]
    assert steps == [1000, 2000, 3000]


def test_queue_anchors_and_my_submissions_filter(page, site):
    url, root = site
    good, _ = load_all_requests(root)
    queued = [r for _, r in good if r.status.value != "FINISHED"]
    who = queued[0].submitter
    page.goto(url + "queue/")
    page.wait_for_selector("body[data-queue-ready]")
    total = page.locator(".queue-table tr[data-submitter]").count()
    page.fill("#queue-submitter", who.upper()[:4])
    page.wait_for_function("q => new URLSearchParams(location.search).get('submitter') === q", arg=who.upper()[:4])
    shown = page.eval_on_selector_all(
        ".queue-table tr[data-submitter]:not([hidden])", "els => els.map(e => e.dataset.submitter)"
    )
    assert shown and all(who.upper()[:4].lower() in s.lower() for s in shown) and len(shown) < total
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    other.wait_for_selector("body[data-queue-ready]")
    assert other.input_value("#queue-submitter") == who.upper()[:4]
    assert other.locator(".queue-table tr[data-submitter]:not([hidden])").count() == len(shown)
    other.close()
    req = queued[-1]
    anchor = queue_anchor(req.model, req.revision, req.precision.value, req.suite)
    page.goto(url + "queue/#" + anchor)
    page.wait_for_selector("body[data-queue-ready]")
    assert page.evaluate("() => document.querySelector(':target') && document.querySelector(':target').id") == anchor
    assert req.model in page.inner_text(f'[id="{anchor}"]')


def test_the_form_works_under_a_strict_content_security_policy(page, site, fake_hub):
    policy = "script-src 'self'; object-src 'none'; base-uri 'self'"  # the policy test_browser.py holds every page to
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": policy})

    page.route(site[0] + "**", with_policy)
    open_form(page, site, fake_hub)
    fill(page, "org/good")
    press_check(page)
    assert form_checks(page)[0] == ("model on the Hub", "pass", "org/good exists and is public")
    assert not refused, refused


def test_submit_page_screenshots(page, site, fake_hub, tmp_path):
    """The form as a visitor sees it at desktop and phone width, with no sideways scrolling.

    The pictures (submit-1400.png, submit-390.png) go to $SHLEPA_SCREENSHOTS when set (they hold
    a timestamp, so they are not committed), else to the test's temporary folder.
    """
    out = Path(os.environ.get("SHLEPA_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        open_form(page, site, fake_hub)
        fill(page, "org/good", precision="float16")
        press_check(page)
        page.evaluate("window.scrollTo(0, 0)")
        box = page.locator("#submit-app").bounding_box()  # page coordinates once scrolled to the top
        top = max(0, box["y"] - 80)
        page.screenshot(
            path=str(out / f"submit-{width}.png"),
            full_page=True,
            clip={"x": 0, "y": top, "width": width, "height": box["y"] + box["height"] - top},
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    page.set_viewport_size({"width": 1400, "height": 900})
    open_form(page, site, fake_hub)
    page.check("#sf-mode-series")
    page.fill("#sf-model", "org/run")
    page.fill("#sf-series", "run-v1")
    page.fill("#sf-checkpoints", "1000=step_1000\n2000=step_2000")
    page.fill("#sf-submitter", "tester")
    press_check(page)
    page.locator("#submit-app").screenshot(path=str(out / "submit-series-1400.png"))
