"""The README screenshot (docs/img/leaderboard.png), taken from the demo board.

    make screenshot            # runs the demo (tiny local models, offline) if needed, then this
    python scripts/screenshot.py [--site .shlepa/demo/_site] [--out docs/img/leaderboard.png]

The demo's models are the demo's own (``shlepa-demo/...``), so the picture shows no
invented models under real organisations' names. Debian's Chromium, driven by Playwright.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the site server and browser settings the tests use

from support.serving import ARGS, CHROMIUM, serve_in_thread  # noqa: E402


def take(site: Path, out: Path, width: int = 1400, height: int = 900) -> Path:
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").is_file():
        raise SystemExit(f"{site}: no built site; run `shlepa demo --no-serve` first")
    server, url = serve_in_thread(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_selector("#lb-app[data-ready]")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=REPO / ".shlepa" / "demo" / "_site")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "leaderboard.png")
    args = parser.parse_args()
    print(take(args.site, args.out))


if __name__ == "__main__":
    main()
