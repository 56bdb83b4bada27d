"""Serve a built site from a background thread, for the browser tests and the site benchmark."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shlepa.site.serve import make_server

#: Debian's Chromium, headless, with its background network traffic off (the machine has no network).
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Screenshots and other test artifacts: never tracked files ($SHLEPA_ARTIFACTS, default tmp/artifacts).
ARTIFACTS = Path(os.environ.get("SHLEPA_ARTIFACTS") or Path(__file__).resolve().parents[2] / "tmp" / "artifacts")


def serve_in_thread(directory: Path, port: int = 0, site_url: str | None = None) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns the server and its base URL (``/``; the site
    also answers under ``site_url``'s path, as ``shlepa serve`` does)."""
    server = make_server(directory, port, site_url=site_url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, real_port = server.server_address[:2]
    return server, f"http://{host}:{real_port}/"


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (it never downloads a browser of its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args], headless=True)
        try:
            yield browser
        finally:
            browser.close()
