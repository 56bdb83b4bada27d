"""A fake GitHub REST API on 127.0.0.1 for the real PyGithub client (``Github(base_url=...)``).

Serves the routes the project uses: get repo (with the caller's ``permissions``), the
authenticated user, issue and its comments (list, create, edit), branch, create ref,
create file, create and list pulls (``?head=owner:branch``), and forks: ``POST .../forks``
creates (or returns) the user's fork, whose ``clone_url`` a test points at a local bare
repository; the fork's branches answer 404 for the first ``fork_ready_after`` polls, as a
fork GitHub is still copying does. State is kept in memory so tests can assert what was
created or edited.

For the merge gate it also serves a pull request's head as git trees and blobs
(:meth:`FakeGitHub.add_pull` takes the head's files with their modes), the PR's file
listing (``/pulls/N/files`` with each file's status and patch), ``/commits/SHA`` and
commit statuses (``POST /statuses/SHA``, kept in :attr:`FakeGitHub.statuses`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class FakeGitHub:
    def __init__(self, repo: str = "board/leaderboard", default_branch: str = "main") -> None:
        self.repo = repo
        self.default_branch = default_branch
        self.branches: dict[str, str] = {default_branch: "a" * 40}
        self.files: dict[tuple[str, str], str] = {}  # (branch, path) -> content
        self.comments: dict[int, dict[str, Any]] = {}  # id -> comment
        self.pulls: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.user = "someone"  # the token's login (GET /user)
        self.can_push = True  # permissions.push of the user on the leaderboard repo
        self.clone_url = f"https://github.com/{repo}.git"  # tests point these at local bare repos
        self.fork_clone_url = f"https://github.com/{self.user}/{repo.split('/')[1]}.git"
        self.fork_ready_after = 0  # polls of the fork's branch answered 404 before it is ready
        self.forks_created = 0
        self.fork_polls = 0
        self.has_fork = False
        self._next_id = 1000
        self.trees: dict[str, list[dict[str, Any]]] = {}  # tree (or commit) sha -> entries
        self.blobs: dict[str, bytes] = {}
        self.pull_files: dict[int, list[dict[str, Any]]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}  # commit sha -> statuses posted, in order
        self.move_head_on_listing: dict[int, str] = {}
        self.jit_requests: list[
            dict[str, Any]
        ] = []  # bodies of POST .../actions/runners/generate-jitconfig  # PR -> the head it moves to once its files are listed
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_comment(self, issue: int, body: str, user: str = "someone") -> int:
        with self._lock:
            self._next_id += 1
            cid = self._next_id
        self.comments[cid] = {"id": cid, "issue": issue, "body": body, "user": user}
        return cid

    # -- pull requests for the gate ---------------------------------------------------
    def _tree_of(self, files: dict[str, tuple[str, bytes]], prefix: str = "") -> str:
        """Store the folder ``prefix`` of ``files`` ({path: (mode, bytes)}) as git trees; its sha."""
        entries: list[dict[str, Any]] = []
        folders = sorted(
            {p[len(prefix) :].split("/", 1)[0] for p in files if p.startswith(prefix) and "/" in p[len(prefix) :]}
        )
        for name in folders:
            sha = self._tree_of(files, f"{prefix}{name}/")
            entries.append({"path": name, "mode": "040000", "type": "tree", "sha": sha})
        for path, (mode, data) in sorted(files.items()):
            rest = path[len(prefix) :]
            if path.startswith(prefix) and "/" not in rest:
                sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                self.blobs[sha] = data
                kind = "commit" if mode == "160000" else "blob"
                entries.append({"path": rest, "mode": mode, "type": kind, "sha": sha, "size": len(data)})
        sha = hashlib.sha1(json.dumps(entries, sort_keys=True).encode()).hexdigest()
        self.trees[sha] = entries
        return sha

    def add_pull(
        self,
        number: int,
        author: str,
        head: dict[str, bytes | tuple[str, bytes]],
        changes: dict[str, str] | None = None,
    ) -> str:
        """A PR whose head commit holds ``head`` ({path: bytes or (mode, bytes)}); ``changes`` = {path: status}
        as GitHub lists them (default: every head file "added"). Returns the head sha."""
        files = {p: v if isinstance(v, tuple) else ("100644", v) for p, v in head.items()}
        tree = self._tree_of(files)
        head_sha = hashlib.sha1(f"commit {tree} {number}".encode()).hexdigest()
        self.trees[head_sha] = self.trees[tree]
        listing = changes if changes is not None else dict.fromkeys(files, "added")
        self.pull_files[number] = [
            {
                "sha": "0" * 40,
                "filename": path,
                "status": status,
                "additions": 1,
                "deletions": 0,
                "changes": 1,
                "patch": "@@ -0,0 +1 @@\n+" + files.get(path, ("", b""))[1].decode("utf-8", "replace")[:200],
                **({"previous_filename": path + ".old"} if status in ("renamed", "copied") else {}),
            }
            for path, status in listing.items()
        ]
        self.pulls = [p for p in self.pulls if p["number"] != number]
        self.pulls.append(
            {
                "number": number,
                "id": number,
                "title": "submission",
                "state": "open",
                "user": {"login": author, "id": 9, "type": "User"},
                "head": {"ref": "submit", "label": f"{author}:submit", "sha": head_sha},
                "base": {"ref": self.default_branch, "sha": self.branches[self.default_branch]},
                "changed_files": len(listing),
                "url": f"{self.base_url}/repos/{self.repo}/pulls/{number}",
                "html_url": f"https://github.com/{self.repo}/pull/{number}",
            }
        )
        return head_sha

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == issue]

    # -- JSON shapes -------------------------------------------------------------------
    def _repo_json(self) -> dict[str, Any]:
        owner, name = self.repo.split("/")
        return {
            "id": 1,
            "name": name,
            "full_name": self.repo,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "default_branch": self.default_branch,
            "private": False,
            "url": f"{self.base_url}/repos/{self.repo}",
            "html_url": f"https://github.com/{self.repo}",
            "clone_url": self.clone_url,
            "fork": False,
            "permissions": {"admin": False, "maintain": False, "push": self.can_push, "triage": False, "pull": True},
        }

    @property
    def fork_name(self) -> str:
        return f"{self.user}/{self.repo.split('/')[1]}"

    def _fork_json(self) -> dict[str, Any]:
        return {
            "id": 2,
            "name": self.repo.split("/")[1],
            "full_name": self.fork_name,
            "owner": {"login": self.user, "id": 3, "type": "User"},
            "default_branch": self.default_branch,
            "private": False,
            "fork": True,
            "url": f"{self.base_url}/repos/{self.fork_name}",
            "html_url": f"https://github.com/{self.fork_name}",
            "clone_url": self.fork_clone_url,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }

    def _comment_json(self, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "body": c["body"],
            "user": {"login": c["user"], "id": 2, "type": "Bot"},
            "url": f"{self.base_url}/repos/{self.repo}/issues/comments/{c['id']}",
            "html_url": f"https://github.com/{self.repo}/pull/{c['issue']}#issuecomment-{c['id']}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gh = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, obj: Any) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _payload(self) -> dict[str, Any]:
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"{}") if n else {}

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

            def do_PUT(self) -> None:
                self._route("PUT")

            def _route(self, method: str) -> None:
                url = urlsplit(self.path)
                path = url.path
                gh.calls.append((method, path))
                if not (self.headers.get("Authorization") or "").startswith(("token ", "Bearer ")):
                    return self._json(401, {"message": "Requires authentication"})
                if path == "/user" and method == "GET":
                    return self._json(200, {"login": gh.user, "id": 3, "type": "User"})
                fork_prefix = f"/repos/{gh.fork_name}"
                if gh.has_fork and (path == fork_prefix or path.startswith(fork_prefix + "/")):
                    rest = path[len(fork_prefix) :]
                    if rest == "" and method == "GET":
                        return self._json(200, gh._fork_json())
                    if (m := re.fullmatch(r"/branches/(.+)", rest)) and method == "GET":
                        gh.fork_polls += 1
                        if gh.fork_polls <= gh.fork_ready_after:
                            return self._json(404, {"message": "Branch not found"})
                        return self._json(
                            200, {"name": m.group(1), "commit": {"sha": "f" * 40, "url": ""}, "protected": False}
                        )
                    return self._json(404, {"message": f"fake GitHub has no fork route {method} {rest}"})
                prefix = f"/repos/{gh.repo}"
                if not path.startswith(prefix):
                    return self._json(404, {"message": "Not Found"})
                rest = path[len(prefix) :]
                data = self._payload() if method in ("POST", "PATCH", "PUT") else {}
                if method == "GET" and rest == "":
                    return self._json(200, gh._repo_json())
                if m := re.fullmatch(r"/issues/(\d+)", rest):
                    n = int(m.group(1))
                    return self._json(
                        200,
                        {
                            "number": n,
                            "id": n,
                            "title": "PR",
                            "state": "open",
                            "url": f"{gh.base_url}{prefix}/issues/{n}",
                            "comments_url": f"{gh.base_url}{prefix}/issues/{n}/comments",
                        },
                    )
                if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
                    n = int(m.group(1))
                    if method == "GET":
                        return self._json(200, [gh._comment_json(c) for c in gh.comments_on(n)])
                    cid = gh.add_comment(n, data["body"], user="github-actions[bot]")
                    return self._json(201, gh._comment_json(gh.comments[cid]))
                if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
                    c = gh.comments.get(int(m.group(1)))
                    if c is None:
                        return self._json(404, {"message": "Not Found"})
                    c["body"] = data["body"]
                    return self._json(200, gh._comment_json(c))
                if m := re.fullmatch(r"/branches/(.+)", rest):
                    sha = gh.branches.get(m.group(1))
                    if sha is None:
                        return self._json(404, {"message": "Branch not found"})
                    return self._json(200, {"name": m.group(1), "commit": {"sha": sha, "url": ""}, "protected": False})
                if rest == "/git/refs" and method == "POST":
                    branch = data["ref"].removeprefix("refs/heads/")
                    if branch in gh.branches:
                        return self._json(422, {"message": "Reference already exists"})
                    gh.branches[branch] = data["sha"]
                    return self._json(
                        201,
                        {
                            "ref": data["ref"],
                            "url": f"{gh.base_url}{prefix}/git/{data['ref']}",
                            "object": {"sha": data["sha"], "type": "commit", "url": ""},
                        },
                    )
                if (m := re.fullmatch(r"/contents/(.+)", rest)) and method == "PUT":
                    branch = data.get("branch", gh.default_branch)
                    content = base64.b64decode(data["content"]).decode()
                    gh.files[(branch, m.group(1))] = content
                    sha = hashlib.sha1(content.encode()).hexdigest()
                    gh.branches[branch] = sha
                    return self._json(
                        201,
                        {
                            "content": {"path": m.group(1), "sha": sha, "name": m.group(1).rsplit("/", 1)[-1]},
                            "commit": {"sha": sha, "message": data["message"]},
                        },
                    )
                if rest == "/actions/runners/generate-jitconfig" and method == "POST":
                    gh.jit_requests.append({**data, "authorization": self.headers.get("Authorization")})
                    runner = {"id": len(gh.jit_requests), "name": data["name"], "labels": data["labels"]}
                    config = base64.b64encode(f"jit-{len(gh.jit_requests)}".encode()).decode()
                    return self._json(201, {"runner": runner, "encoded_jit_config": config})
                if (m := re.fullmatch(r"/pulls/(\d+)/files", rest)) and method == "GET":
                    n = int(m.group(1))
                    listing = gh.pull_files.get(n, [])
                    if n in gh.move_head_on_listing:  # a push lands while the gate reads the PR
                        pr = next(p for p in gh.pulls if p["number"] == n)
                        pr["head"] = dict(pr["head"], sha=gh.move_head_on_listing.pop(n))
                    return self._json(200, listing)
                if (m := re.fullmatch(r"/git/trees/([0-9a-f]{40})", rest)) and method == "GET":
                    entries = gh.trees.get(m.group(1))
                    if entries is None:
                        return self._json(404, {"message": "Not Found"})
                    tree = [dict(e, url=f"{gh.base_url}{prefix}/git/{e['type']}s/{e['sha']}") for e in entries]
                    return self._json(200, {"sha": m.group(1), "tree": tree, "truncated": False, "url": ""})
                if (m := re.fullmatch(r"/git/blobs/([0-9a-f]{40})", rest)) and method == "GET":
                    data = gh.blobs.get(m.group(1))
                    if data is None:
                        return self._json(404, {"message": "Not Found"})
                    content = base64.b64encode(data).decode()
                    return self._json(
                        200, {"sha": m.group(1), "size": len(data), "encoding": "base64", "content": content}
                    )
                if (m := re.fullmatch(r"/commits/([0-9a-f]{40})", rest)) and method == "GET":
                    return self._json(200, {"sha": m.group(1), "url": f"{gh.base_url}{prefix}/commits/{m.group(1)}"})
                if (m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)) and method == "POST":
                    status = {k: data.get(k) for k in ("state", "description", "context", "target_url")}
                    gh.statuses.setdefault(m.group(1), []).append(status)
                    return self._json(201, {"id": len(gh.statuses), "url": "", **status})
                if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "GET":
                    n = int(m.group(1))
                    pr = next((p for p in gh.pulls if p["number"] == n), None)
                    if pr is None:
                        return self._json(404, {"message": "Not Found"})
                    return self._json(200, pr)
                if rest == "/forks" and method == "POST":
                    gh.forks_created += 0 if gh.has_fork else 1
                    gh.has_fork = True
                    return self._json(202, gh._fork_json())
                if rest == "/pulls" and method == "GET":
                    query = dict(parse_qsl(url.query))
                    found = [
                        p
                        for p in gh.pulls
                        if p["state"] == query.get("state", "open")
                        and ("head" not in query or p["head"]["label"] == query["head"])
                    ]
                    return self._json(200, found)
                if rest == "/pulls" and method == "POST":
                    number = len(gh.pulls) + 1
                    owner, _, ref = data["head"].rpartition(":")
                    label = f"{owner or gh.repo.split('/')[0]}:{ref}"
                    pr = {
                        "number": number,
                        "id": number,
                        "title": data["title"],
                        "body": data.get("body"),
                        "head": {"ref": ref, "label": label, "sha": gh.branches.get(data["head"], "0" * 40)},
                        "base": {"ref": data["base"]},
                        "state": "open",
                        "url": f"{gh.base_url}{prefix}/pulls/{number}",
                        "html_url": f"https://github.com/{gh.repo}/pull/{number}",
                    }
                    gh.pulls.append(pr)
                    return self._json(201, pr)
                return self._json(404, {"message": f"fake GitHub has no route {method} {rest}"})

        return Handler
