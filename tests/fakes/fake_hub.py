"""A fake Hugging Face Hub on 127.0.0.1 for the real huggingface_hub/transformers clients.

It serves the routes the submission checks use:

- ``GET /api/models/{org}/{name}`` and ``/api/models/{org}/{name}/revision/{rev}``: model info
  (sha, private, gated, siblings, cardData);
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{file}``: files with ``X-Repo-Commit``,
  ``ETag``, ``X-Linked-Etag`` and ``Content-Length``, honouring ``Range`` (safetensors headers);

Model info carries ``safetensors: {parameters: {dtype: n}, total}`` (from the headers of
its ``.safetensors`` files), as huggingface.co's does, and every answer carries
``Access-Control-Allow-Origin: *`` so the site's Submit form can call it from a browser;
and it answers errors the way the Hub does (``X-Error-Code`` RepoNotFound, GatedRepo,
RevisionNotFound, EntryNotFound). Dataset repositories (``add_dataset``, keyed
``datasets/<org>/<name>``) also take uploads the way huggingface_hub 2.x sends them:
``POST /api/datasets/{repo}/preupload/{rev}`` (every file "regular", inline) and
``POST /api/datasets/{repo}/commit/{rev}`` (NDJSON: a header line, then one base64
``file`` line per file), and serve them at ``/datasets/{repo}/resolve/{rev}/{file}``.
``outage`` switches make it answer 500/429, stall, or drop
the connection, for the first N requests or for all of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

GOOD_CARD_BODY = (
    "# {name}\n\nA tiny test model used by the Shlepa test suite. It is a randomly initialised "
    "decoder-only transformer with a small vocabulary, trained on nothing at all. It exists so "
    "that the submission checks can be exercised end to end against a local stand-in of the "
    "Hugging Face Hub without any network access.\n"
)


def sha_of(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def safetensors_header(tensors: dict[str, tuple[str, list[int]]], with_data: bool = True) -> bytes:
    """A safetensors file (or only its header when ``with_data`` is false: headers are all the checks read)."""
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        nbytes = n * sizes[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    body = b"\0" * offset if with_data else b""
    return struct.pack("<Q", len(raw)) + raw + body


def safetensors_counts(files: dict[str, bytes]) -> dict[str, int]:
    """Parameters per dtype over every .safetensors file (read from the headers, as the Hub does)."""
    counts: dict[str, int] = {}
    for name, data in files.items():
        if not name.endswith(".safetensors") or len(data) < 8:
            continue
        (n,) = struct.unpack("<Q", data[:8])
        for key, t in json.loads(data[8 : 8 + n]).items():
            if key == "__metadata__":
                continue
            size = 1
            for d in t["shape"]:
                size *= d
            counts[t["dtype"]] = counts.get(t["dtype"], 0) + size
    return counts


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    sha: str
    refs: dict[str, str] = field(default_factory=dict)
    private: bool = False
    gated: bool | str = False
    card_data: dict[str, Any] | None = None
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def files_at(self, rev: str) -> tuple[str, dict[str, bytes]] | None:
        sha = self.refs.get(rev, rev)
        if sha == self.sha:
            return sha, self.files
        if sha in self.commits:
            return sha, self.commits[sha]
        return None


class FakeHub:
    """The server plus its repositories and outage switches."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self.ranges: list[tuple[str, str | None]] = []  # (path, Range header) of every GET of a file
        self.outage: str | None = None  # "500" | "429" | "slow" | "drop"
        self.outage_count: int | None = None  # None: every request; N: the next N requests
        self.slow_s = 3.0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # dropped connections are on purpose
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, repo_id: str, files: dict[str, bytes], **kw: Any) -> FakeRepo:
        sha = kw.pop("sha", None) or sha_of(repo_id, *sorted(files))
        repo = FakeRepo(files=dict(files), sha=sha, **kw)
        repo.refs.setdefault("main", sha)
        self.repos[repo_id] = repo
        return repo

    def add_dataset(self, repo_id: str, files: dict[str, bytes] | None = None) -> FakeRepo:
        """An (empty) dataset repository that accepts commits."""
        return self.add(f"datasets/{repo_id}", files or {})

    def commit(self, repo_key: str, rev: str, files: dict[str, bytes]) -> str:
        """Add files to ``rev`` of a repository as one new commit; returns its sha."""
        with self._lock:
            repo = self.repos[repo_key]
            found = repo.files_at(rev)
            old_sha = found[0] if found else None
            if found is not None:
                repo.commits[found[0]] = dict(found[1])
            base = {**(found[1] if found else {}), **files}
            new_sha = sha_of(repo_key, old_sha or "", *sorted(base))
            repo.files, repo.sha = base, new_sha
            repo.refs[rev] = new_sha
            return new_sha

    def set_outage(self, kind: str | None, count: int | None = None) -> None:
        with self._lock:
            self.outage, self.outage_count = kind, count

    def _take_outage(self) -> str | None:
        with self._lock:
            if self.outage is None:
                return None
            if self.outage_count is not None:
                if self.outage_count <= 0:
                    return None
                self.outage_count -= 1
            return self.outage

    # -- HTTP --------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = unquote(urlsplit(self.path).path)
                hub.requests.append(("POST", path))
                outage = hub._take_outage()
                if outage in ("500", "429"):
                    return self._send(int(outage), b"internal error" if outage == "500" else b"slow down")
                if outage == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                m = re.match(r"^/api/datasets/([^/]+/[^/]+)/(preupload|commit)/([^/]+)$", path)
                if not m or f"datasets/{m.group(1)}" not in hub.repos:
                    return self._error(404, "RepoNotFound", False)
                repo_key, action, rev = f"datasets/{m.group(1)}", m.group(2), m.group(3)
                if action == "preupload":
                    files = json.loads(body)["files"]
                    answer = {
                        "files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                    }
                    return self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
                added: dict[str, bytes] = {}
                for line in body.splitlines():
                    item = json.loads(line) if line.strip() else {}
                    if item.get("key") == "file":
                        added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                sha = hub.commit(repo_key, rev, added)
                answer = {"commitUrl": f"{hub.endpoint}/{repo_key}/commit/{sha}", "commitOid": sha, "success": True}
                return self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

            def do_OPTIONS(self) -> None:  # CORS preflight, answered like huggingface.co
                self._send(204, b"", {"Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "*"})

            def _send(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False
            ) -> None:
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Expose-Headers", "X-Error-Code, X-Repo-Commit")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _error(self, status: int, code: str, head: bool) -> None:
                body = json.dumps({"error": code}).encode()
                self._send(status, body, {"X-Error-Code": code, "Content-Type": "application/json"}, head)

            def _serve(self, head: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                hub.requests.append((self.command, path))
                outage = hub._take_outage()
                if outage == "500":
                    return self._send(500, b"internal error", head=head)
                if outage == "429":
                    return self._send(429, b"slow down", {"Retry-After": "0"}, head=head)
                if outage == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if outage == "slow":
                    time.sleep(hub.slow_s)
                m = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/(.+))?$", path)
                if m:
                    return self._model_info(m.group(1), m.group(2) or "main", head)
                m = re.match(r"^/((?:datasets/)?[^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
                if m:
                    return self._resolve(m.group(1), m.group(2), m.group(3), head)
                return self._error(404, "NotFound", head)

            def _repo(self, repo_id: str, head: bool, for_file: bool) -> FakeRepo | None:
                repo = hub.repos.get(repo_id)
                if repo is None or repo.private:
                    self._error(401, "RepoNotFound", head)
                    return None
                if repo.gated and for_file:
                    self._error(403, "GatedRepo", head)
                    return None
                return repo

            def _at(self, repo_id: str, rev: str, head: bool, for_file: bool) -> tuple[Any, str, Any] | None:
                """(repo, sha, files) at ``rev``; None when an error was already sent."""
                repo = self._repo(repo_id, head, for_file=for_file)
                if repo is None:
                    return None
                found = repo.files_at(rev)
                if found is None:
                    self._error(404, "RevisionNotFound", head)
                    return None
                return (repo, *found)

            def _model_info(self, repo_id: str, rev: str, head: bool) -> None:
                at = self._at(repo_id, rev, head, for_file=False)
                if at is None:
                    return
                repo, sha, files = at
                info = {
                    "_id": sha[:24],
                    "id": repo_id,
                    "modelId": repo_id,
                    "author": repo_id.split("/")[0],
                    "sha": sha,
                    "private": repo.private,
                    "gated": repo.gated,
                    "disabled": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                    "siblings": [{"rfilename": f} for f in sorted(files)],
                    "createdAt": "2024-01-01T00:00:00.000Z",
                    "lastModified": "2024-01-02T00:00:00.000Z",
                }
                if repo.card_data is not None:
                    info["cardData"] = repo.card_data
                if counts := safetensors_counts(files):
                    info["safetensors"] = {"parameters": counts, "total": sum(counts.values())}
                body = json.dumps(info).encode()
                self._send(200, body, {"Content-Type": "application/json"}, head)

            def _resolve(self, repo_id: str, rev: str, filename: str, head: bool) -> None:
                at = self._at(repo_id, rev, head, for_file=True)
                if at is None:
                    return
                _repo, sha, files = at
                if filename not in files:
                    return self._error(404, "EntryNotFound", head)
                data = files[filename]
                etag = hashlib.sha256(data).hexdigest()
                headers = {
                    "X-Repo-Commit": sha,
                    "ETag": f'"{etag}"',
                    "X-Linked-Etag": f'"{etag}"',
                    "Accept-Ranges": "bytes",
                    "Content-Type": "application/octet-stream",
                }
                rng = self.headers.get("Range") or self.headers.get("range")
                if not head:
                    hub.ranges.append((filename, rng))
                if rng and not head:
                    m = re.match(r"bytes=(\d+)-(\d*)", rng)
                    if m:
                        start = int(m.group(1))
                        end = int(m.group(2)) if m.group(2) else len(data) - 1
                        part = data[start : end + 1]
                        headers["Content-Range"] = f"bytes {start}-{start + len(part) - 1}/{len(data)}"
                        return self._send(206, part, headers)
                self._send(200, data, headers, head)

        return Handler
