"""Serve a built site on 127.0.0.1 (never on other interfaces: it is a preview)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files, and the site's own 404 page (MkDocs writes ``404.html``) with status 404
    for a missing page, as GitHub Pages answers, instead of Python's plain error page."""

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


def make_server(directory: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = True) -> ThreadingHTTPServer:
    """An HTTP server for ``directory``; ``port=0`` picks a free port (see ``server_address``)."""
    handler = functools.partial(_QuietHandler if quiet else _SiteHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)
