"""GitHub through PyGithub: one checklist comment per PR (found again by a hidden marker), and opening a submission PR.

A submission PR works for anyone with a GitHub account (:func:`submit_pull_request`):
someone who may push to the leaderboard gets a branch there (through the API); anyone
else gets (or reuses) a fork, the branch is pushed to the fork with git and the PR is
opened upstream from ``user:branch``. The token comes from ``GITHUB_TOKEN`` or, when
the GitHub CLI is installed, ``gh auth token`` (:func:`resolve_token`).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from github import Auth, Github, GithubException
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from shlepa.errors import ShlepaError
from shlepa.submission.checklist import COMMENT_MARKER

DEFAULT_API = "https://api.github.com"
MAX_COMMENT_CHARS = 65_000  # GitHub refuses bodies above 65,536 characters
#: The login GITHUB_TOKEN comments as in Actions; the checklist comment is only ever found among its comments.
BOT_LOGIN = "github-actions[bot]"


class GitHubError(ShlepaError, RuntimeError):
    pass


class MissingTokenError(GitHubError):
    """No GitHub token: neither ``GITHUB_TOKEN`` nor a logged-in GitHub CLI."""


class ForkNotReady(GitHubError):
    """GitHub created the fork but it did not become usable within the timeout."""


class PullRequestExists(GitHubError):
    """An open PR already comes from the same branch (the same request)."""


def resolve_token(env_token: str | None, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> str:
    """``GITHUB_TOKEN`` (read by the caller through shlepa.env), else ``gh auth token`` when ``gh`` exists."""
    if env_token:
        return env_token
    gh = shutil.which("gh")
    if gh:
        try:
            proc = run([gh, "auth", "token"], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            proc = None
        token = proc.stdout.strip() if proc is not None and proc.returncode == 0 else ""
        if token:
            return token
    raise MissingTokenError(
        "no GitHub token: set GITHUB_TOKEN (a token that may open pull requests) or log in with `gh auth login`",
        field="GITHUB_TOKEN",
    )


def client(token: str, base_url: str | None = None) -> Github:
    return Github(base_url=base_url or DEFAULT_API, auth=Auth.Token(token), retry=None, timeout=30)


def _body(markdown: str, marker: str) -> str:
    body = markdown if marker in markdown else f"{marker}\n{markdown}"
    if len(body) > MAX_COMMENT_CHARS:
        body = body[: MAX_COMMENT_CHARS - 60] + "\n\n… (truncated; the full checklist is in the workflow artifact)\n"
    return body


def upsert_comment(
    gh: Github,
    repo_name: str,
    pr_number: int,
    markdown: str,
    marker: str = COMMENT_MARKER,
    bot_login: str = BOT_LOGIN,
) -> tuple[str, int]:
    """Create the checklist comment, or edit the one already there: never a second one.

    Only a comment the bot itself wrote (author ``bot_login``) is ever edited: anyone can
    paste the marker into a comment of their own, and editing that one would put the
    bot's checklist under a stranger's name (or keep a forged one in place).
    Returns ("created" | "updated" | "unchanged", comment id).
    """
    try:
        issue = gh.get_repo(repo_name).get_issue(pr_number)
        body = _body(markdown, marker)
        for comment in issue.get_comments():
            author = comment.user.login if comment.user is not None else None
            if author == bot_login and marker in (comment.body or ""):
                if comment.body == body:
                    return "unchanged", comment.id
                comment.edit(body)
                return "updated", comment.id
        created = issue.create_comment(body)
        return "created", created.id
    except GithubException as exc:
        raise GitHubError(f"GitHub API error {exc.status} on {repo_name}#{pr_number}: {exc.data}") from None


def pull_head_sha(gh: Github, repo_name: str, pr_number: int) -> str:
    """The commit a PR currently points at (to tie an artifact to the PR it claims)."""
    try:
        return gh.get_repo(repo_name).get_pull(pr_number).head.sha
    except GithubException as exc:
        raise GitHubError(f"GitHub API error {exc.status} on {repo_name}#{pr_number}: {exc.data}") from None


@dataclass(frozen=True)
class OpenedPR:
    number: int
    url: str
    branch: str


def open_pull_request(
    gh: Github, repo_name: str, *, branch: str, path: str, content: str, title: str, body: str, base: str | None = None
) -> OpenedPR:
    """Create branch, commit the request file on it, and open the PR."""
    try:
        repo = gh.get_repo(repo_name)
        base = base or repo.default_branch
        head_sha = repo.get_branch(base).commit.sha
        repo.create_git_ref(ref=f"refs/heads/{branch}", sha=head_sha)
        repo.create_file(path, title, content, branch=branch)
        pr = repo.create_pull(title=title, body=body, head=branch, base=base)
        return OpenedPR(pr.number, pr.html_url, branch)
    except GithubException as exc:
        raise GitHubError(f"GitHub API error {exc.status} on {repo_name}: {exc.data}") from None


def _api_error(exc: GithubException, where: str) -> GitHubError:
    return GitHubError(f"GitHub API error {exc.status} on {where}: {exc.data}")


def wait_for_fork(
    gh: Github,
    full_name: str,
    branch: str,
    *,
    timeout_s: float = 120.0,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll until the fork answers for ``branch`` (GitHub creates forks asynchronously), at most ``timeout_s``."""

    def ready() -> bool:
        try:
            gh.get_repo(full_name).get_branch(branch)
            return True
        except GithubException as exc:
            if exc.status in (404, 409):  # not there yet, or still empty
                return False
            raise _api_error(exc, full_name) from None

    retrying = Retrying(
        stop=stop_after_delay(timeout_s), wait=wait_fixed(poll_s), retry=retry_if_result(lambda ok: not ok), sleep=sleep
    )
    try:
        retrying(ready)
    except RetryError:
        raise ForkNotReady(
            f"the fork was not ready after {timeout_s:g} s; run the command again in a minute", path=full_name
        ) from None


def _git_env(token: str | None) -> dict[str, str]:
    """The token for HTTPS pushes to github.com through GIT_CONFIG_* (never on a command line)."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        env["GIT_CONFIG_COUNT"] = str(count + 1)
        env[f"GIT_CONFIG_KEY_{count}"] = "http.https://github.com/.extraheader"
        env[f"GIT_CONFIG_VALUE_{count}"] = f"AUTHORIZATION: basic {basic}"
    return env


def push_files(
    source_url: str,
    base: str,
    target_url: str,
    branch: str,
    files: Mapping[str, str],
    *,
    message: str,
    author: str,
    token: str | None = None,
) -> str:
    """Commit ``files`` on top of ``base`` of ``source_url`` and push them as ``branch`` to ``target_url``.

    Works in a throwaway repository (only the base commit is fetched); never force-pushes.
    Returns the new commit's sha.
    """
    env = _git_env(token)
    with tempfile.TemporaryDirectory(prefix="shlepa-submit-") as tmp:

        def git(*args: str) -> str:
            proc = subprocess.run(["git", *args], cwd=tmp, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise GitHubError(f"git {args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-1000:]}")
            return proc.stdout.strip()

        git("init", "-q")
        git("fetch", "-q", "--depth=1", source_url, f"refs/heads/{base}")
        git("checkout", "-q", "-b", branch, "FETCH_HEAD")
        for rel, content in files.items():
            target = Path(tmp) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            git("add", "--", rel)
        git(
            "-c",
            f"user.name={author}",
            "-c",
            f"user.email={author}@users.noreply.github.com",
            "commit",
            "-q",
            "-m",
            message,
        )
        try:
            git("push", "-q", target_url, f"HEAD:refs/heads/{branch}")
        except GitHubError as exc:
            if "rejected" in str(exc) or "fetch first" in str(exc):
                raise GitHubError(
                    f"the branch already exists on {target_url} with other commits (an earlier "
                    "submission?); delete that branch on your fork and run again",
                    path=branch,
                ) from None
            raise
        return git("rev-parse", "HEAD")


def submit_pull_request(
    gh: Github,
    repo_name: str,
    *,
    branch: str,
    files: Mapping[str, str],
    title: str,
    body: str,
    token: str | None = None,
    base: str | None = None,
    fork_timeout_s: float = 120.0,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> OpenedPR:
    """Open one PR adding ``files`` ({path: text}) to ``repo_name``, from a fork when the user cannot push there."""
    first = next(iter(files))
    try:
        repo = gh.get_repo(repo_name)
        base = base or repo.default_branch
        login = gh.get_user().login
        can_push = bool(repo.permissions and repo.permissions.push)
        owner = repo.owner.login if can_push else login
        for pr in repo.get_pulls(state="open", head=f"{owner}:{branch}"):
            raise PullRequestExists(
                f"pull request #{pr.number} already submits this ({pr.html_url}); "
                "push to its branch instead of opening another",
                path=first,
            )
        if can_push:
            head_sha = repo.get_branch(base).commit.sha
            repo.create_git_ref(ref=f"refs/heads/{branch}", sha=head_sha)
            for path, content in files.items():
                repo.create_file(path, title, content, branch=branch)
            pr = repo.create_pull(title=title, body=body, head=branch, base=base)
            return OpenedPR(pr.number, pr.html_url, branch)
        fork = repo.create_fork()  # returns the existing fork when there is one
        fork_name, fork_url = fork.full_name, fork.clone_url
    except GithubException as exc:
        raise _api_error(exc, repo_name) from None
    wait_for_fork(gh, fork_name, base, timeout_s=fork_timeout_s, poll_s=poll_s, sleep=sleep)
    push_files(repo.clone_url, base, fork_url, branch, files, message=title, author=login, token=token)
    try:
        pr = repo.create_pull(title=title, body=body, head=f"{login}:{branch}", base=base)
    except GithubException as exc:
        raise _api_error(exc, repo_name) from None
    return OpenedPR(pr.number, pr.html_url, branch)


__all__ = [
    "BOT_LOGIN",
    "ForkNotReady",
    "GitHubError",
    "MissingTokenError",
    "OpenedPR",
    "PullRequestExists",
    "client",
    "open_pull_request",
    "pull_head_sha",
    "push_files",
    "resolve_token",
    "submit_pull_request",
    "upsert_comment",
    "wait_for_fork",
]
