"""Serve a built site on 127.0.0.1 (never on other interfaces: it is a preview)."""

from __future__ import annotations

import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files, and the site's own 404 page (MkDocs writes ``404.html``) with status 404
    for a missing page, as GitHub Pages answers, instead of Python's plain error page.

    The site answers at ``/`` and also under ``base_path``, the path of its published address
    (``/NAME/`` for ``https://OWNER.github.io/NAME/``), which the 404 page's links start with.
    """

    def __init__(self, *args: Any, base_path: str = "/", **kwargs: Any) -> None:
        self.base_path = base_path  # before the base class's __init__, which handles the request
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        """The file at ``path``, else (the site's own folders first: a site named /data/ still
        has data/) the file at ``path`` without ``base_path``."""
        found = super().translate_path(path)
        base = self.base_path
        if base != "/" and not os.path.exists(found) and (path == base.rstrip("/") or path.startswith(base)):
            return super().translate_path("/" + path[len(base) :])
        return found

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _QuietHandler(_SiteHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def base_path(site_url: str | None) -> str:
    """The path a site published at ``site_url`` lives under: ``/NAME/`` for a project site, else ``/``."""
    return (urlsplit(site_url).path if site_url else "") or "/"


def make_server(
    directory: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = True, site_url: str | None = None
) -> ThreadingHTTPServer:
    """An HTTP server for ``directory``; ``port=0`` picks a free port (see ``server_address``);
    ``site_url``: the site's published address (leaderboard.yaml ``site.url``), whose path it
    also answers under."""
    base = base_path(site_url)
    handler = functools.partial(_QuietHandler if quiet else _SiteHandler, directory=str(directory), base_path=base)
    return ThreadingHTTPServer((host, port), handler)
