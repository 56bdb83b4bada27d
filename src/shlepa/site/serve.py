"""Serve a built site on 127.0.0.1 (never on other interfaces: it is a preview)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def make_server(directory: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = True) -> ThreadingHTTPServer:
    """An HTTP server for ``directory``; ``port=0`` picks a free port (see ``server_address``)."""
    handler = functools.partial(_QuietHandler if quiet else SimpleHTTPRequestHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)


def serve_in_thread(directory: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns the server and its base URL (for tests)."""
    server = make_server(directory, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, real_port = server.server_address[:2]
    return server, f"http://{host}:{real_port}/"
