"""GitRepo.publish against a real bare remote: only given paths, retry by applying again, never force.

The remote's failures are real: a pre-receive hook that refuses the first pushes
(or every push, as a ruleset does), a git HTTP server that answers 502, and main
rewritten by a force-push while a runner still holds the removed commit.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shlepa.io import atomic
from shlepa.queue.git import Change, GitRepo, PublishError

from support.flaky_git_http import flaky_git_server
from support.gitboard import clone, git


def _repo(path: Path) -> GitRepo:
    return GitRepo(path, attempts=5, backoff_s=0.0, sleep=lambda s: None)


def test_publish_commits_only_the_paths_apply_returns(git_board):
    remote, seed = git_board
    atomic.write_text(seed / "stray.txt", "not mine\n")

    def apply():
        atomic.write_text(seed / "requests" / "a.txt", "a\n")
        return Change([Path("requests/a.txt")], "added a")

    published = _repo(seed).publish(apply, "add a", sync_first=False)
    assert published.value == "added a"  # what apply returned comes back
    sha = published.sha
    assert sha == git(remote, "rev-parse", "main").strip()
    assert git(remote, "show", "--name-only", "--format=", "main").split() == ["requests/a.txt"]
    assert (seed / "stray.txt").exists()  # left alone, never committed


def test_rejected_push_is_applied_again_on_the_new_main_keeping_history_linear(git_board, tmp_path):
    remote, _ = git_board
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    ra, rb = _repo(a), _repo(b)
    ra.sync()
    rb.sync()  # b now holds a view that a's push will make stale

    def write(repo_dir: Path, name: str):
        def apply():
            atomic.write_text(repo_dir / "results" / name, name)
            return Change([Path("results") / name])

        return apply

    assert ra.publish(write(a, "one.json"), "one", sync_first=False).sha
    assert rb.publish(
        write(b, "two.json"), "two", sync_first=False
    ).sha  # rejected once, applied again on the new main, pushed
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert {"results/one.json", "results/two.json"} <= set(files)
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""
    assert git(remote, "log", "--format=%s", "main").split()[:2] == ["two", "one"]


def test_conflicting_change_is_applied_again_on_the_newest_state(git_board, tmp_path):
    remote, _ = git_board
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    ra, rb = _repo(a), _repo(b)
    ra.sync()
    rb.sync()
    assert ra.publish(
        lambda: atomic.write_text(a / "counter", "1\n") or Change(["counter"]), "a: 1", sync_first=False
    ).sha

    seen: list[str] = []

    def increment():
        old = (b / "counter").read_text() if (b / "counter").exists() else "0\n"
        seen.append(old.strip())
        atomic.write_text(b / "counter", f"{int(old) + 10}\n")
        return Change(["counter"], int(old) + 10)

    # b's first attempt wrote 10 on top of "nothing"; its push is rejected, so it is applied again on "1".
    atomic.write_text(b / "counter", "5\n")
    git(b, "add", "counter")
    git(b, "commit", "-qm", "b local")  # make b diverge on the same file
    published = rb.publish(increment, "b: +10", sync_first=False)
    assert published.sha and published.value == 11  # the value of the last (re-)applied change
    assert seen[-1] == "1"
    assert git(remote, "show", "main:counter").strip() == "11"
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""
    assert "b local" not in git(remote, "log", "--format=%s", "main")  # b's local history is never pushed


def test_publish_returns_no_commit_when_nothing_is_left_to_do(git_board):
    _, seed = git_board
    before = git(seed, "rev-parse", "HEAD")
    published = _repo(seed).publish(lambda: Change(value="nothing to do"), "nothing")
    assert published.sha is None and published.value == "nothing to do"
    assert git(seed, "rev-parse", "HEAD") == before


def test_token_goes_through_the_environment_not_the_command_line(tmp_path):
    repo = GitRepo(tmp_path, token="s3cret")
    env = repo._env()
    keys = [k for k in env if k.startswith("GIT_CONFIG_KEY_")]
    assert any(env[k] == "http.https://github.com/.extraheader" for k in keys)
    assert all("s3cret" not in v for v in env.values())  # only its base64 form, in a header value


def _hook(remote: Path, script: str) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def _write(repo_dir: Path, name: str, text: str = "x\n"):
    def apply():
        atomic.write_text(repo_dir / "results" / name, text)
        return Change([Path("results") / name])

    return apply


def test_a_hook_failing_the_first_pushes_is_retried_with_backoff(git_board, tmp_path):
    remote, _ = git_board
    _hook(
        remote,
        f'n=$(cat "{tmp_path}/count" 2>/dev/null || echo 0); echo $((n+1)) > "{tmp_path}/count"\n'
        'if [ "$n" -lt 2 ]; then echo "upstream connect error, try again" >&2; exit 1; fi\n',
    )
    waits: list[float] = []
    work = clone(remote, tmp_path / "w")
    repo = GitRepo(work, attempts=5, backoff_s=0.5, sleep=waits.append)
    assert repo.publish(_write(work, "r.json"), "results").sha == git(remote, "rev-parse", "main").strip()
    assert (tmp_path / "count").read_text().strip() == "3"  # two refusals, then through
    assert len(waits) == 2 and all(w >= 0 for w in waits)  # one backoff before each retry


def test_a_502_from_the_git_server_is_retried(git_board, tmp_path):
    remote, _ = git_board
    with flaky_git_server(remote.parent, fail_pushes=2) as (url, answered):
        work = tmp_path / "w"
        git(tmp_path, "clone", "--quiet", f"{url}/{remote.name}", "w")
        repo = GitRepo(work, attempts=5, backoff_s=0.0, sleep=lambda s: None)
        sha = repo.publish(_write(work, "r.json", "kept\n"), "results").sha
        assert answered == [2]
    assert sha == git(remote, "rev-parse", "main").strip()
    assert git(remote, "show", "main:results/r.json") == "kept\n"


def test_a_persistent_refusal_raises_with_gits_own_message_and_leaves_the_remote_state(git_board, tmp_path):
    remote, _ = git_board
    _hook(remote, 'echo "ruleset: results/ may only change through the publish job" >&2; exit 1\n')
    work = clone(remote, tmp_path / "w")
    before = git(remote, "rev-parse", "main")
    with pytest.raises(PublishError, match="ruleset: results/ may only change") as caught:
        GitRepo(work, attempts=3, backoff_s=0.0, sleep=lambda s: None).publish(_write(work, "r.json"), "results")
    assert "pre-receive hook declined" in caught.value.git_output and caught.value.attempts == 3
    assert git(remote, "rev-parse", "main") == before
    assert git(work, "rev-parse", "HEAD") == before and git(work, "status", "--porcelain") == ""


def test_a_ruleset_refusal_is_not_retried(git_board, tmp_path):
    remote, _ = git_board
    _hook(
        remote,
        f'echo x >> "{tmp_path}/calls"\n'
        'echo "error: GH013: Repository rule violations found for refs/heads/main." >&2; exit 1\n',
    )
    work = clone(remote, tmp_path / "w")
    with pytest.raises(PublishError, match="GH013"):
        GitRepo(work, attempts=5, backoff_s=0.0, sleep=lambda s: None).publish(_write(work, "r.json"), "results")
    assert (tmp_path / "calls").read_text().count("x") == 1


@pytest.mark.parametrize("sync_first", [True, False])
def test_a_commit_removed_from_main_by_a_force_push_is_never_pushed_back(git_board, tmp_path, sync_first):
    remote, seed = git_board
    work = clone(remote, tmp_path / "w")
    base = git(remote, "rev-parse", "main").strip()
    # Someone pushes a bad commit; the runner syncs while it is on main; the owners then force-push it away.
    atomic.write_text(seed / "secret.txt", "leaked\n")
    git(seed, "add", "secret.txt")
    git(seed, "commit", "-qm", "bad commit")
    git(seed, "push", "-q", "origin", "HEAD:main")
    repo = GitRepo(work, attempts=5, backoff_s=0.0, sleep=lambda s: None)
    repo.sync()
    assert (work / "secret.txt").exists()
    git(seed, "push", "-q", "--force", "origin", f"{base}:refs/heads/main")  # main is its parent again

    assert repo.publish(_write(work, "r.json"), "results", sync_first=sync_first).sha
    history = git(remote, "log", "--format=%s", "main").split("\n")
    assert "bad commit" not in history and history[0] == "results"
    assert git(remote, "rev-parse", "main^").strip() == base
    assert "secret.txt" not in git(remote, "ls-tree", "-r", "--name-only", "main")
