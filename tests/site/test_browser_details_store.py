"""The details browser reading a store (the fake Hub, cross-origin with CORS) shows what it
shows for details beside the page, and a file missing from the store reads "details unavailable"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shlepa.details.hf import HfStore
from shlepa.site.build import build_site

from support.result_sets import make_repo
from support.serving import CHROMIUM, chromium, serve_in_thread
from support.stores import move_details_to_store

pytestmark = pytest.mark.browser


def _rows_text(pg, url: str) -> str:
    pg.goto(url)
    pg.wait_for_selector("#details-browser[data-filters][data-ready] .details-row")
    first = pg.query_selector("#details-browser .details-row")
    pg.select_option("#details-bench", index=1)
    first.wait_for_element_state("hidden")  # the first benchmark's rows are replaced, not just still there
    pg.wait_for_selector("#details-browser .details-row")
    return pg.inner_text("#details-browser")


def test_a_stored_details_file_reads_as_details_beside_the_page_and_a_missing_one_says_so(
    tmp_path: Path, fake_hub
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    beside = make_repo(tmp_path / "beside", 4, details_every=1)
    stored = tmp_path / "stored"
    shutil.copytree(beside, stored, symlinks=True)
    build_site(beside, beside / "_site")

    fake_hub.add_dataset("board/details")
    store = HfStore("board/details", endpoint=fake_hub.endpoint)
    keys = move_details_to_store(store, stored)
    (stored / "leaderboard.yaml").write_text(
        f"details:\n  store: hf\n  hf: {{repo: board/details, endpoint: '{fake_hub.endpoint}'}}\n", encoding="utf-8"
    )
    build_site(stored, stored / "_site")
    rows = json.loads((stored / "_site" / "data" / "leaderboard.json").read_text())["rows"]
    pages = {r["page"]: (stored / "_site" / r["page"] / "index.html").read_text() for r in rows}
    url_of = {p: html.split('data-details-url="', 1)[1].split('"', 1)[0] for p, html in pages.items()}
    gone = url_of[rows[-1]["page"]].split("/resolve/main/", 1)[1]
    kept = next(p for p, u in url_of.items() if not u.endswith(gone))
    lost = [p for p, u in url_of.items() if u.endswith(gone)]
    assert gone in keys
    del fake_hub.repos["datasets/board/details"].files[gone]  # the store lost one file

    s1, beside_url = serve_in_thread(beside / "_site")
    s2, stored_url = serve_in_thread(stored / "_site")
    try:
        with chromium() as browser:
            pg = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            assert _rows_text(pg, stored_url + kept) == _rows_text(pg, beside_url + kept)
            assert any(p == "GET" and "/datasets/board/details/resolve/main/" in path for p, path in fake_hub.requests)
            pg.goto(stored_url + lost[0])
            pg.wait_for_selector("#details-browser[data-ready=unavailable]")
            assert "details unavailable" in pg.inner_text("#details-browser")
            assert pg.inner_text("#scores")  # the rest of the page is whole
            assert not errors, errors
    finally:
        s1.shutdown()
        s2.shutdown()
