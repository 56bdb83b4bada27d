"""`shlepa submit --open-pr` for anyone: a fork when the user cannot push, the push to it, the PR upstream.

The real PyGithub talks to the fake GitHub API; the leaderboard and the fork are local
bare repositories the fake reports as their ``clone_url``, so the git push is real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.records.keys import series_branch, submission_branch
from shlepa.submission import github as ghmod
from shlepa.submission.github import (
    ForkNotReady,
    MissingTokenError,
    PullRequestExists,
    client,
    resolve_token,
    submit_pull_request,
)

from support.gitboard import git

pytestmark = pytest.mark.usefixtures("git_env")
FILES = {"requests/org/m/" + "b" * 40 + "_bfloat16.yaml": "model: org/m\n"}


@pytest.fixture
def remotes(tmp_path: Path, fake_github):
    """The leaderboard (one commit on main) and its fork, as bare repositories the fake GitHub points at."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("board\n")
    git(work, "add", "README.md")
    git(work, "commit", "-q", "-m", "init")
    upstream, fork = tmp_path / "upstream.git", tmp_path / "fork.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(upstream))
    git(tmp_path, "clone", "-q", "--bare", str(upstream), str(fork))
    fake_github.clone_url, fake_github.fork_clone_url = str(upstream), str(fork)
    fake_github.can_push = False
    return upstream, fork


def _show(bare: Path, ref: str, path: str) -> str:
    return git(bare, "show", f"{ref}:{path}")


def test_a_user_without_push_access_gets_a_fork_a_pushed_branch_and_a_pr_from_it(fake_github, remotes):
    upstream, fork = remotes
    fake_github.fork_ready_after = 2  # GitHub copies a new fork in the background
    sleeps: list[float] = []
    pr = submit_pull_request(
        client("t", fake_github.base_url),
        fake_github.repo,
        branch="submit/org-m",
        files=FILES,
        title="Submit org/m",
        body="request",
        poll_s=0.5,
        sleep=sleeps.append,
    )
    assert fake_github.forks_created == 1 and fake_github.fork_polls == 3 and sleeps == [0.5, 0.5]
    ((path, content),) = FILES.items()
    assert _show(fork, "submit/org-m", path) == content  # pushed to the fork with git
    assert _show(fork, "submit/org-m", "README.md") == "board\n"  # on top of the leaderboard's main
    assert (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "submit/org-m"], cwd=upstream, check=False, capture_output=True
        ).returncode
        != 0
    )  # nothing pushed upstream
    head = fake_github.pulls[0]["head"]
    assert (pr.number, head["label"], fake_github.pulls[0]["base"]["ref"]) == (1, "someone:submit/org-m", "main")
    assert not fake_github.files  # no API commit on the leaderboard


def test_an_existing_fork_is_reused(fake_github, remotes):
    fake_github.has_fork = True
    submit_pull_request(
        client("t", fake_github.base_url),
        fake_github.repo,
        branch="b1",
        files=FILES,
        title="t",
        body="b",
        sleep=lambda s: None,
    )
    assert fake_github.forks_created == 0 and fake_github.pulls[0]["head"]["label"] == "someone:b1"


def test_a_fork_that_never_becomes_ready_is_a_clear_error(fake_github, remotes):
    fake_github.fork_ready_after = 10**9
    with pytest.raises(ForkNotReady) as err:  # real sleeps: about 1 s
        submit_pull_request(
            client("t", fake_github.base_url),
            fake_github.repo,
            branch="b",
            files=FILES,
            title="t",
            body="b",
            fork_timeout_s=1,
            poll_s=0.1,
        )
    assert err.value.path == "someone/leaderboard" and "not ready after 1 s" in str(err.value)
    assert not fake_github.pulls and fake_github.fork_polls >= 2  # it polled, then gave up


def test_an_open_pr_for_the_same_request_is_refused_before_anything_is_pushed(fake_github, remotes):
    _, fork = remotes
    gh = client("t", fake_github.base_url)
    submit_pull_request(gh, fake_github.repo, branch="b", files=FILES, title="t", body="b", sleep=lambda s: None)
    before = git(fork, "rev-parse", "b")
    with pytest.raises(PullRequestExists) as err:
        submit_pull_request(gh, fake_github.repo, branch="b", files=FILES, title="t", body="b", sleep=lambda s: None)
    assert err.value.path == next(iter(FILES)) and "#1" in str(err.value)
    assert len(fake_github.pulls) == 1 and git(fork, "rev-parse", "b") == before


def test_a_leftover_branch_on_the_fork_is_never_overwritten(fake_github, remotes):
    _, fork = remotes
    gh = client("t", fake_github.base_url)
    submit_pull_request(gh, fake_github.repo, branch="b", files=FILES, title="t", body="b", sleep=lambda s: None)
    fake_github.pulls[0]["state"] = "closed"  # the earlier PR was closed, its branch left on the fork
    before = git(fork, "rev-parse", "b")
    with pytest.raises(ghmod.GitHubError, match="already exists on") as err:
        submit_pull_request(
            gh,
            fake_github.repo,
            branch="b",
            files={next(iter(FILES)): "model: org/m\n# v2\n"},
            title="t",
            body="b",
            sleep=lambda s: None,
        )
    assert err.value.path == "b" and git(fork, "rev-parse", "b") == before and len(fake_github.pulls) == 1


def test_a_user_with_push_access_gets_a_branch_upstream_through_the_api(fake_github):
    fake_github.can_push = True
    files = {**FILES, "requests/org/m/" + "c" * 40 + "_bfloat16.yaml": "model: org/m\n# 2\n"}
    pr = submit_pull_request(
        client("t", fake_github.base_url), fake_github.repo, branch="s", files=files, title="t", body="b"
    )
    assert {p for (b, p) in fake_github.files if b == "s"} == set(files) and fake_github.forks_created == 0
    assert pr.branch == "s" and fake_github.pulls[0]["head"]["label"] == "board:s"


def test_token_from_the_environment_else_gh_auth_token_else_a_clear_error(monkeypatch):
    assert resolve_token("from-env") == "from-env"
    monkeypatch.setattr(ghmod.shutil, "which", lambda name: "/usr/bin/gh" if name == "gh" else None)
    calls = []

    def fake_run(args, **kw):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="gho_cli\n", stderr="")

    assert resolve_token(None, run=fake_run) == "gho_cli" and calls == [["/usr/bin/gh", "auth", "token"]]

    def logged_out(args, **kw):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="not logged in")

    with pytest.raises(MissingTokenError) as err:
        resolve_token(None, run=logged_out)
    assert err.value.field == "GITHUB_TOKEN"
    monkeypatch.setattr(ghmod.shutil, "which", lambda name: None)  # no gh: never run
    with pytest.raises(MissingTokenError, match="GITHUB_TOKEN"):
        resolve_token(None, run=lambda *a, **k: pytest.fail("gh must not run when it is not installed"))


def test_submit_open_pr_command_goes_through_a_fork(fake_hub, fake_github, remotes, board, monkeypatch):
    _, fork = remotes
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    args = [
        "submit",
        "org/good",
        "--submitter",
        "someone",
        "--open-pr",
        "--github-repo",
        fake_github.repo,
        "--github-api",
        fake_github.base_url,
        "--root",
        str(board),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    sha = fake_hub.repos["org/good"].sha
    branch = submission_branch("org/good", sha, "bfloat16")
    text = _show(fork, branch, f"requests/org/good/{sha}_bfloat16.yaml")
    assert text.startswith("model: org/good\nrevision: " + sha) and "submitter: someone\n" in text
    assert fake_github.pulls[0]["head"]["label"] == f"someone:{branch}"
    assert "https://github.com/board/leaderboard/pull/1" in result.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "already submits this" in again.output


def test_submit_open_pr_without_any_token_says_how_to_get_one(fake_hub, fake_github, board, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setattr(ghmod.shutil, "which", lambda name: None)
    result = CliRunner().invoke(
        app,
        [
            "submit",
            "org/good",
            "--submitter",
            "someone",
            "--open-pr",
            "--github-repo",
            fake_github.repo,
            "--github-api",
            fake_github.base_url,
            "--root",
            str(board),
        ],
    )
    assert result.exit_code == 1 and "GITHUB_TOKEN" in result.output and "gh auth login" in result.output
    assert not fake_github.calls


def test_submit_series_open_pr_opens_one_pr_with_every_checkpoint(fake_hub, fake_github, remotes, board, monkeypatch):
    _, fork = remotes
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    run = fake_hub.repos["org/run"]
    result = CliRunner().invoke(
        app,
        [
            "submit-series",
            "org/run",
            "-c",
            "1000=step_1000",
            "-c",
            "2000=step_2000",
            "--series",
            "run-v1",
            "--submitter",
            "someone",
            "--open-pr",
            "--github-repo",
            fake_github.repo,
            "--github-api",
            fake_github.base_url,
            "--root",
            str(board),
        ],
    )
    assert result.exit_code == 0, result.output
    branch = series_branch("org/run", "run-v1")
    for ref in ("step_1000", "step_2000"):
        text = _show(fork, branch, f"requests/org/run/{run.refs[ref]}_bfloat16_analysis360.yaml")
        assert f"ref: {ref}\n" in text
    assert len(fake_github.pulls) == 1 and fake_github.pulls[0]["head"]["label"] == f"someone:{branch}"
