"""The merge gate: the PR read through the (fake) GitHub API as data, main's validator, one commit status.

Each attack a PR could try on the old "Validate submission" check is played against
the gate: it only ever reads the PR's files from the head commit's git tree, so the
PR's workflows, code and checklist never take part; a PR touching anything but
request files, or a request that is not a plain 100644 file, never gets success.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.config import HubRetry, ValidationSettings
from shlepa.records.request import new_request
from shlepa.submission.checklist import Outcome
from shlepa.submission.gate import GATE_CONTEXT, run_gate, safe_request_path
from shlepa.submission.github import client
from shlepa.submission.hub import Hub
from shlepa.submission.validate import Options


def _opts(fake_hub) -> Options:
    hub = Hub(endpoint=fake_hub.endpoint, retry=HubRetry(attempts=2, base_delay_s=0, timeout_s=2))
    return Options(settings=ValidationSettings(), hub=hub)


def _request(fake_hub, model: str = "org/good", submitter: str = "alice") -> tuple[str, bytes]:
    req = new_request(model, fake_hub.repos[model].sha, "bfloat16", "pretrained", "apache-2.0", submitter)
    return str(req.relpath), req.to_yaml().encode()


def _gate(fake_github, fake_hub, board: Path, number: int = 5):
    return run_gate(client("t", fake_github.base_url), fake_github.repo, number, board, _opts(fake_hub))


def _failed(result) -> dict[str, str]:
    """Every failed check's message, joined per file."""
    out: dict[str, str] = {}
    for c in result.checklist.checks:
        if c.status == Outcome.failed:
            out[c.file] = f"{out.get(c.file, '')} | {c.message}"
    return out


def test_a_good_submission_gets_success_on_its_head_commit(fake_github, fake_hub, board):
    path, data = _request(fake_hub)
    head = fake_github.add_pull(5, "alice", {path: data})
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "success" and result.posted, [c.line() for c in result.checklist.problems()]
    assert result.author == "alice" and result.head_sha == head
    assert fake_github.statuses[head] == [
        {"state": "success", "description": result.description, "context": GATE_CONTEXT, "target_url": None}
    ]
    assert not (board / path).exists()  # main's checkout is never written


def test_a_pr_that_edits_the_validation_workflow_never_gets_success(fake_github, fake_hub, board):
    """The forged check: the PR makes its own "Validate submission" green; the gate ignores that run."""
    path, data = _request(fake_hub)
    forged = (
        b"name: Validate submission\non: pull_request\njobs: {ok: {runs-on: ubuntu-latest, steps: [{run: 'true'}]}}\n"
    )
    head = fake_github.add_pull(
        5,
        "alice",
        {path: data, ".github/workflows/validate.yml": forged},
        {path: "added", ".github/workflows/validate.yml": "modified"},
    )
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "failure"
    assert "outside requests/" in _failed(result)[".github/workflows/validate.yml"]
    assert [s["state"] for s in fake_github.statuses[head]] == ["failure"]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("removed", "deletes"),
        ("renamed", "renames"),
        ("copied", "copies"),
        ("changed", "mode or type"),
    ],
)
def test_a_change_other_than_add_or_modify_fails(fake_github, fake_hub, board, status, words):
    path, data = _request(fake_hub)
    head = fake_github.add_pull(5, "alice", {path: data}, {path: status})
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "failure" and words in _failed(result)[path]
    assert fake_github.statuses[head][-1]["state"] == "failure"


@pytest.mark.parametrize(("mode", "kind"), [("120000", "symlink"), ("100755", "executable"), ("160000", "submodule")])
def test_a_request_that_is_not_a_plain_file_fails(fake_github, fake_hub, board, mode, kind):
    """A symlink to /etc/passwd (or an executable, or a submodule) under requests/ is refused on its mode."""
    path, data = _request(fake_hub)
    payload = b"/etc/passwd" if kind == "symlink" else data
    fake_github.add_pull(5, "alice", {path: (mode, payload)}, {path: "added"})
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "failure"
    assert f"mode {mode}" in _failed(result)[path]


def test_a_path_that_climbs_out_of_requests_is_never_written(fake_github, fake_hub, board, tmp_path):
    _, data = _request(fake_hub)
    climbing = "requests/../../escaped.yaml"
    assert not safe_request_path(climbing) and safe_request_path("requests/org/m/x.yaml")
    fake_github.add_pull(5, "alice", {"requests/org/m/x.yaml": data}, {climbing: "added"})
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "failure" and "outside requests/" in _failed(result)[climbing]
    assert not list(tmp_path.rglob("escaped.yaml"))


def test_the_submitter_is_the_pr_author_from_github_not_from_the_file(fake_github, fake_hub, board):
    """mallory's PR edits alice's request: the author comes from the API, so the edit is refused."""
    path, data = _request(fake_hub, submitter="alice")
    (board / path).parent.mkdir(parents=True)
    (board / path).write_bytes(data)  # alice's request on main
    edited = data.replace(b"license: apache-2.0", b"license: mit")
    fake_github.add_pull(5, "mallory", {path: edited}, {path: "modified"})
    result = _gate(fake_github, fake_hub, board)
    assert result.state == "failure" and result.author == "mallory"
    assert "submitted by alice, not by mallory" in _failed(result)[path]


def test_an_empty_pr_and_an_unreadable_request_fail(fake_github, fake_hub, board):
    fake_github.add_pull(5, "alice", {}, {})
    assert _gate(fake_github, fake_hub, board).state == "failure"
    fake_github.add_pull(6, "alice", {"requests/org/m/x.yaml": b"model: [unclosed"})
    result = _gate(fake_github, fake_hub, board, number=6)
    assert result.state == "failure" and "requests/org/m/x.yaml" in _failed(result)


def test_no_status_is_posted_when_the_head_moves_while_it_is_read(fake_github, fake_hub, board):
    path, data = _request(fake_hub)
    head = fake_github.add_pull(5, "alice", {path: data})
    fake_github.move_head_on_listing[5] = "e" * 40  # the author pushes again mid-check
    result = _gate(fake_github, fake_hub, board)
    assert not result.posted and head not in fake_github.statuses and "e" * 40 not in fake_github.statuses
    assert "moved" in result.notes[0]


def test_the_gate_command_posts_the_status_and_writes_the_checklist(
    fake_github, fake_hub, board, tmp_path, monkeypatch
):
    path, data = _request(fake_hub)
    head = fake_github.add_pull(8, "alice", {path: data, "README.md": b"hi"}, {path: "added", "README.md": "modified"})
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    out = tmp_path / "out"
    args = ["gate", "--repo", fake_github.repo, "--pr", "8", "--out", str(out), "--root", str(board)]
    args += ["--github-api", fake_github.base_url, "--hub-endpoint", fake_hub.endpoint]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"failure\t{head}\tposted" in result.output
    assert fake_github.statuses[head][-1]["context"] == GATE_CONTEXT
    assert (out / "pr_number").read_text() == "8\n" and (out / "head_sha").read_text() == f"{head}\n"
    assert "Changes needed" in (out / "checklist.md").read_text()
    monkeypatch.delenv("GITHUB_TOKEN")
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 1 and "GITHUB_TOKEN is not set" in missing.output
