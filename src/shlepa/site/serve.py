"""Serve a built site on 127.0.0.1 (never on other interfaces: it is a preview)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(directory: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = True) -> ThreadingHTTPServer:
    """An HTTP server for ``directory``; ``port=0`` picks a free port (see ``server_address``)."""
    handler = functools.partial(_QuietHandler if quiet else SimpleHTTPRequestHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)
