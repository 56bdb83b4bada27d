"""GitHub through PyGithub: one checklist comment per PR (found again by a hidden marker), and opening a submission PR."""

from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Github, GithubException

from shlepa.errors import ShlepaError
from shlepa.submission.checklist import COMMENT_MARKER

DEFAULT_API = "https://api.github.com"
MAX_COMMENT_CHARS = 65_000  # GitHub refuses bodies above 65,536 characters


class GitHubError(ShlepaError, RuntimeError):
    pass


def client(token: str, base_url: str | None = None) -> Github:
    return Github(base_url=base_url or DEFAULT_API, auth=Auth.Token(token), retry=None, timeout=30)


def _body(markdown: str, marker: str) -> str:
    body = markdown if marker in markdown else f"{marker}\n{markdown}"
    if len(body) > MAX_COMMENT_CHARS:
        body = body[: MAX_COMMENT_CHARS - 60] + "\n\n… (truncated; the full checklist is in the workflow artifact)\n"
    return body


def upsert_comment(
    gh: Github, repo_name: str, pr_number: int, markdown: str, marker: str = COMMENT_MARKER
) -> tuple[str, int]:
    """Create the checklist comment, or edit the one already there: never a second one.

    Returns ("created" | "updated" | "unchanged", comment id).
    """
    try:
        issue = gh.get_repo(repo_name).get_issue(pr_number)
        body = _body(markdown, marker)
        for comment in issue.get_comments():
            if marker in (comment.body or ""):
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


__all__ = ["GitHubError", "OpenedPR", "client", "open_pull_request", "pull_head_sha", "upsert_comment"]
