"""``shlepa submit`` (write a request file from the Hub) and ``shlepa pr-comment`` (post the checklist)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import (
    REPO_NAME_RE,
    GithubApiOption,
    GithubRepoOption,
    HubEndpointOption,
    RootOption,
    app,
    console,
    fail,
    resolve_root,
)
from shlepa.config import load_settings
from shlepa.env import environment
from shlepa.records.keys import DEFAULT_SUITE, short_sha, submission_branch
from shlepa.records.request import ModelType, Precision, WeightType

_REPO_RE = REPO_NAME_RE


def _git_user(root: Path) -> str | None:
    proc = subprocess.run(["git", "-C", str(root), "config", "user.name"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or None


def pr_target(root: Path, github_repo: str | None) -> tuple[str, str]:
    """(token, OWNER/NAME) for --open-pr: the token from $GITHUB_TOKEN or `gh auth token`,
    the repository from --github-repo, $GITHUB_REPOSITORY or leaderboard.yaml's site.repository."""
    from shlepa.submission.github import resolve_token

    env = environment()
    name = github_repo or env.github_repository or load_settings(root).site.repository
    if not _REPO_RE.match(name):
        fail(f"--github-repo: expected OWNER/NAME, got {name!r}")
    return resolve_token(env.github_token), name


@app.command()
def submit(
    model_id: str = typer.Argument(..., help="Hub model id, e.g. my-org/my-model."),
    revision: str | None = typer.Option(
        None, "--revision", help="Branch, tag or commit sha (default: main); stored as the commit sha."
    ),
    precision: Precision | None = typer.Option(
        None, "--precision", help="Precision to evaluate in (default: the stored dtype)."
    ),
    model_type: ModelType = typer.Option(ModelType.pretrained, "--model-type", help="How the model was made."),
    weight_type: WeightType = typer.Option(WeightType.original, "--weight-type", help="original, adapter or delta."),
    base_model: str | None = typer.Option(None, "--base-model", help="Base model id (adapters and deltas)."),
    chat_template: bool = typer.Option(False, "--chat-template", help="Evaluate with the tokenizer's chat template."),
    suite: str = typer.Option(DEFAULT_SUITE, "--suite", help="Suite to evaluate on (eval/suites/<name>.yaml)."),
    submitter: str | None = typer.Option(
        None, "--submitter", help="Your GitHub login (default: git config user.name)."
    ),
    license: str | None = typer.Option(None, "--license", help="License id, if the model card has none."),
    hub_endpoint: str | None = HubEndpointOption,
    open_pr: bool = typer.Option(
        False,
        "--open-pr",
        help="Open the PR on GitHub instead (token: $GITHUB_TOKEN or `gh auth token`); from your fork if you cannot push.",
    ),
    github_repo: str | None = GithubRepoOption,
    github_api: str | None = GithubApiOption,
    root: Path | None = RootOption,
) -> None:
    """Write requests/<org>/<model>/<sha>_<precision>.yaml (status PENDING) from the Hub and print the git steps."""
    from shlepa.submission.github import client, submit_pull_request
    from shlepa.submission.hub import Hub
    from shlepa.submission.submit import build_request, git_steps, write_submission

    repo = resolve_root(root)
    who = submitter or _git_user(repo)
    if not who:
        fail("submitter: unknown; pass --submitter YOUR_GITHUB_LOGIN")
    settings = load_settings(repo).validation
    hub = Hub(endpoint=hub_endpoint, retry=settings.hub_retry)
    request, notes = build_request(
        hub,
        model_id,
        revision=revision,
        precision=precision.value if precision else None,
        model_type=model_type.value,
        submitter=who,
        weight_type=weight_type.value,
        base_model=base_model,
        use_chat_template=chat_template,
        license=license,
        suite=suite,
    )
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if open_pr:
        token, name = pr_target(repo, github_repo)
        branch = submission_branch(request.model, request.revision, request.precision.value)
        title = f"Submit {request.model}@{short_sha(request.revision)} ({request.precision.value})"
        pr = submit_pull_request(
            client(token, github_api),
            name,
            branch=branch,
            files={str(request.relpath): request.to_yaml()},
            title=title,
            body=f"Evaluation request for `{request.model}`.",
            token=token,
        )
        typer.echo(pr.url)
        return
    path = write_submission(request, repo)
    typer.echo(str(path.relative_to(repo)))
    console.print("Next steps:", highlight=False)
    for step in git_steps(request):
        console.print(f"  {escape(step)}", highlight=False, soft_wrap=True)


def _read_pr_number(path: Path) -> int:
    """The PR number from the (untrusted) artifact: digits only, or fail."""
    try:
        raw = path.read_text(encoding="ascii")[:20].strip()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the PR number: {exc}")
    if not raw.isdigit() or not 0 < int(raw) < 10**9:
        fail(f"{path}: the PR number must be a positive integer, got {raw[:20]!r}")
    return int(raw)


@app.command("pr-comment")
def pr_comment(
    markdown: Path = typer.Argument(..., help="The checklist Markdown written by `shlepa validate --markdown`."),
    pr_number: int | None = typer.Option(None, "--pr", min=1, help="Pull request number."),
    pr_file: Path | None = typer.Option(
        None, "--pr-file", help="Read the PR number from this (untrusted) file instead."
    ),
    expect_head_sha: str | None = typer.Option(
        None, "--expect-head-sha", help="Refuse unless the PR's head is this commit (the one that was validated)."
    ),
    github_repo: str = typer.Option(..., "--repo", help="OWNER/NAME."),
    github_api: str | None = GithubApiOption,
) -> None:
    """Post the checklist as ONE comment on the PR, editing it on later pushes (token: $GITHUB_TOKEN)."""
    from shlepa.submission.github import client, pull_head_sha, upsert_comment

    token = environment().github_token
    if not token:
        fail("GITHUB_TOKEN is not set")
    if not _REPO_RE.match(github_repo):
        fail(f"--repo: expected OWNER/NAME, got {github_repo!r}")
    number = pr_number or (_read_pr_number(pr_file) if pr_file else None)
    if number is None:
        fail("pass --pr NUMBER or --pr-file FILE")
    try:
        text = markdown.read_text(encoding="utf-8")[:200_000]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{markdown}: cannot read the checklist: {exc}")
    gh = client(token, github_api)
    if expect_head_sha:
        head = pull_head_sha(gh, github_repo, number)
        if head != expect_head_sha:
            fail(f"PR #{number}: its head is {head}, not the validated commit {expect_head_sha}; not commenting")
    action, cid = upsert_comment(gh, github_repo, number, text)
    typer.echo(f"{action} comment {cid}")
