"""``shlepa submit`` against the fake Hub: branch/tag resolved to a sha, license and size filled in."""

from __future__ import annotations

from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.records.request import load_request


def test_submit_resolves_tag_and_writes_a_pending_request(fake_hub, board):
    sha = fake_hub.repos["org/good"].sha
    res = CliRunner().invoke(
        app,
        [
            "submit",
            "org/good",
            "--revision",
            "v1.0",
            "--submitter",
            "alice",
            "--chat-template",
            "--hub-endpoint",
            fake_hub.endpoint,
            "--root",
            str(board),
        ],
    )
    assert res.exit_code == 0, res.output
    path = board / "requests/org/good" / f"{sha}_bfloat16.yaml"
    req = load_request(path)
    assert (req.revision, req.license, req.status.value, req.use_chat_template) == (sha, "apache-2.0", "PENDING", True)
    assert req.params == 0.0  # 1,024 parameters, read from the safetensors header
    assert "git switch -c" in res.output and str(req.relpath) in res.output
    again = CliRunner().invoke(
        app, ["submit", "org/good", "--submitter", "alice", "--hub-endpoint", fake_hub.endpoint, "--root", str(board)]
    )
    assert again.exit_code == 1 and "already exists" in again.output


def test_submit_unknown_model_fails_clearly_and_writes_nothing(fake_hub, board):
    res = CliRunner().invoke(
        app, ["submit", "org/nope", "--submitter", "a", "--hub-endpoint", fake_hub.endpoint, "--root", str(board)]
    )
    assert res.exit_code == 1 and "org/nope" in res.output and "public" in res.output
    assert not list((board / "requests").rglob("*.yaml"))


def test_submit_open_pr_through_pygithub(fake_hub, fake_github, board, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    res = CliRunner().invoke(
        app,
        [
            "submit",
            "org/good",
            "--submitter",
            "alice",
            "--hub-endpoint",
            fake_hub.endpoint,
            "--open-pr",
            "--github-repo",
            fake_github.repo,
            "--github-api",
            fake_github.base_url,
            "--root",
            str(board),
        ],
    )
    assert res.exit_code == 0, res.output
    (branch, path), content = next(iter(fake_github.files.items()))
    assert path.startswith("requests/org/good/") and "status: PENDING" in content
    assert fake_github.pulls[0]["head"]["ref"] == branch


def test_submit_pins_an_adapters_base_model_at_its_current_commit(fake_hub, board):
    """#15 item 7: the request records the base model's own commit, which the evaluation loads."""
    adapter, base = fake_hub.repos["org/adapter"].sha, fake_hub.repos["org/base"].sha
    res = CliRunner().invoke(
        app,
        [
            "submit", "org/adapter", "--submitter", "alice", "--model-type", "fine-tuned",
            "--weight-type", "adapter", "--base-model", "org/base",
            "--hub-endpoint", fake_hub.endpoint, "--root", str(board),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    req = load_request(next((board / "requests/org/adapter").glob(f"{adapter}_*.yaml")))
    assert (req.revision, req.base_model, req.base_revision) == (adapter, "org/base", base)
