"""A git smart-HTTP server on 127.0.0.1 (git's own ``http-backend``) that answers 502 to chosen pushes.

It plays GitHub having a bad minute: chosen POSTs to
``git-receive-pack`` get ``502 Bad Gateway`` before reaching git; every other
request is served by ``git http-backend`` over CGI, so fetches and later pushes
are real.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@contextmanager
def flaky_git_server(project_root: Path, fail_pushes: int | set[int]) -> Iterator[tuple[str, list[int]]]:
    """Serve the bare repositories below ``project_root``; yields (base URL, [502s answered]).

    ``fail_pushes``: the first N pushes fail, or (a set) the pushes with these numbers, counting from 0.
    """
    answered = [0]
    pushes = [0]
    failing = set(range(fail_pushes)) if isinstance(fail_pushes, int) else set(fail_pushes)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "POST" and path.endswith("/git-receive-pack"):
                with lock:
                    fail = pushes[0] in failing
                    pushes[0] += 1
                    answered[0] += fail
                if fail:
                    self.send_response(502, "Bad Gateway")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            env = {
                **os.environ,
                "GIT_PROJECT_ROOT": str(project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": "runner",
                "REMOTE_ADDR": "127.0.0.1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
            }
            for header, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "HTTP_GIT_PROTOCOL")):
                if self.headers.get(header):
                    env[var] = self.headers[header]
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
