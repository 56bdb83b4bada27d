"""The site is the same whichever engine renders mkdocs.yml (issue 17 item 2): MkDocs with
Material, ProperDocs (a maintained fork of MkDocs 1.6) with Material, and Zensical.

Each engine builds one board; the pages must be the same set, every link and asset a page
names must exist in that engine's own output, and the leaderboard and a model page must work
in the browser. ci.yml runs this file once per engine (job "site engine").
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from shlepa.site.build import Engine

from support.board_page import open_board, visible
from support.result_sets import make_repo
from support.serving import chromium, serve_in_thread

MODELS = 3


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and not (tag == "link" and ("preconnect", None) in attrs):
                self.found.append(value)


def broken_links(out: Path) -> dict[str, list[str]]:
    """Per page, the site-internal links and assets that point to no file of ``out``."""
    broken: dict[str, list[str]] = {}
    for page in sorted(out.rglob("*.html")):
        scan = _Links()
        scan.feed(page.read_text(encoding="utf-8"))
        for link in scan.found:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "data:")) or not parts.path:
                continue
            # a site-absolute path (the 404 page's, served at any depth) starts at the site's root
            base = out if parts.path.startswith("/") else page.parent
            target = (base / unquote(parts.path.lstrip("/"))).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.setdefault(page.relative_to(out).as_posix(), []).append(link)
    return broken


def build(board: Path, out: Path, engine: Engine | None) -> None:
    """``shlepa build [--engine ENGINE]``, the command publish.yml runs, in a process of its own."""
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "shlepa", "build", "--root", str(board), "--out", str(out)]
    cmd += ["--engine", str(engine)] if engine else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"built {MODELS} model(s)" in " ".join((proc.stdout + proc.stderr).split())


def pages(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*.html")}


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("engines") / "board", MODELS, details_every=1, queue=2)


@pytest.fixture(scope="module")
def reference(board, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mkdocs") / "site"
    build(board, out, Engine.mkdocs)
    return out


@pytest.mark.parametrize("engine", list(Engine))
def test_every_engine_builds_the_same_pages_and_every_link_resolves(board, reference, tmp_path, engine) -> None:
    out = tmp_path / "site"
    build(board, out, engine)
    assert pages(out) == pages(reference)
    assert any(p.startswith("models/") for p in pages(out)) and "queue/index.html" in pages(out)
    assert broken_links(out) == {}
    # the data the scripts read is the engine's business not at all: byte for byte the same
    for data in ("data/leaderboard.json", "data/trajectories.json"):
        assert (out / data).read_bytes() == (reference / data).read_bytes()


@pytest.mark.parametrize("engine", list(Engine))
def test_the_board_and_a_model_page_work_in_the_browser(board, tmp_path, engine) -> None:
    out = tmp_path / "site"
    build(board, out, engine)
    server, url = serve_in_thread(out)
    errors: list[str] = []
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            open_board(page, url)
            rows = visible(page)
            assert len(rows) == MODELS
            assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
            page.goto(url + rows[0]["page"])
            page.wait_for_selector("#details-rows .details-row")
            page.goto(url + "queue/")
            page.wait_for_selector("h1")
            page.close()
    finally:
        server.shutdown()
    assert not errors, errors


def test_properdocs_after_mkdocs_in_one_process_is_refused_with_what_to_do(board, tmp_path) -> None:
    """In a child process: once Material is loaded for MkDocs, ProperDocs cannot take it over."""
    code = (
        "import sys; from pathlib import Path; from shlepa.site.build import BuildError, Engine, build_site\n"
        f"board, tmp = Path({str(board)!r}), Path({str(tmp_path)!r})\n"
        "build_site(board, tmp / 'a', engine=Engine.mkdocs)\n"
        "try:\n    build_site(board, tmp / 'b', engine=Engine.properdocs)\n"
        "except BuildError as exc:\n    print(exc)\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)}
    )
    assert "in a process of its own" in proc.stdout, proc.stdout + proc.stderr


def test_without_engine_the_build_takes_leaderboard_yaml_s(board, tmp_path) -> None:
    from typing import get_args

    from shlepa.config import SiteSettings, load_settings

    assert set(get_args(SiteSettings.model_fields["engine"].annotation)) == set(map(str, Engine))
    assert load_settings(Path(__file__).resolve().parents[2]).site.engine == "properdocs"  # the shipped choice
    build(board, tmp_path / "default", None)  # the fake board has no leaderboard.yaml: the setting's default
    assert 'content="mkdocs-ProperDocs' in (tmp_path / "default" / "about" / "index.html").read_text()
    (board / "leaderboard.yaml").write_text("site:\n  engine: mkdocs\n")
    try:
        build(board, tmp_path / "mkdocs", None)
    finally:
        (board / "leaderboard.yaml").unlink()
    assert 'content="mkdocs-1.6' in (tmp_path / "mkdocs" / "about" / "index.html").read_text()


@pytest.mark.parametrize("engine", list(Engine))
def test_every_engine_s_404_page_links_under_the_sites_address(tmp_path, engine) -> None:
    """site.url's path (a project site, https://OWNER.github.io/NAME/) starts every link of the 404 page."""
    board = make_repo(tmp_path / "board", MODELS)
    (board / "leaderboard.yaml").write_text("site:\n  url: https://own.github.io/board/\n", encoding="utf-8")
    out = tmp_path / "site"
    build(board, out, engine)
    scan = _Links()
    scan.feed((out / "404.html").read_text(encoding="utf-8"))
    local = [link for link in scan.found if not urlsplit(link).scheme and not link.startswith("#")]
    assert local and all(link.startswith("/board/") for link in local), local
    for link in local:
        target = out / unquote(urlsplit(link).path.removeprefix("/board/"))
        assert (target / "index.html" if target.is_dir() else target).is_file(), link
    assert "look the model up on the" in (out / "404.html").read_text(encoding="utf-8")
