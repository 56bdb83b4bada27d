"""GitRepo.publish against a real bare remote: only given paths, rebase + retry, re-apply, never force."""

from __future__ import annotations

from pathlib import Path

from shlepa.io import atomic
from shlepa.queue.git import Change, GitRepo

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


def test_rejected_push_is_rebased_and_retried_keeping_history_linear(git_board, tmp_path):
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
    assert rb.publish(write(b, "two.json"), "two", sync_first=False).sha  # rejected once, rebased, pushed
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

    # b's first attempt wrote 10 on top of "nothing"; the rebase conflicts, so it is applied again on "1".
    atomic.write_text(b / "counter", "5\n")
    git(b, "add", "counter")
    git(b, "commit", "-qm", "b local")  # make b diverge on the same file
    published = rb.publish(increment, "b: +10", sync_first=False)
    assert published.sha and published.value == 11  # the value of the last (re-)applied change
    assert seen[-1] == "1"
    assert git(remote, "show", "main:counter").strip() == "11"
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""


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
