"""``shlepa validate``: check request files and list every problem at once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import (
    REPO_NAME_RE,
    GithubApiOption,
    HubEndpointOption,
    RootOption,
    app,
    console,
    fail,
    resolve_root,
)
from shlepa.config import load_settings
from shlepa.io.atomic import write_text
from shlepa.records.request import iter_request_files


@app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="Request files (default: all under requests/)."),
    changed: str | None = typer.Option(
        None, "--changed", help="Check a PR instead: the files changed in BASE...HEAD (git refs)."
    ),
    offline: bool = typer.Option(False, "--offline", "--no-hub", help="Skip the Hugging Face Hub checks."),
    hub_endpoint: str | None = HubEndpointOption,
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write the checklist as Markdown to this file."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Folder whose leaderboard.yaml holds the rules (default: the repository; in CI: the base branch).",
    ),
    pr_author: str | None = typer.Option(
        None, "--pr-author", help="GitHub login of the PR author (edits of others' requests fail)."
    ),
    repo_url: str | None = typer.Option(None, "--repo-url", help="URL prefix for links to existing requests."),
    site_url: str | None = typer.Option(
        None,
        "--site-url",
        help="The published site, for the link to each request's queue entry (default: site.url in leaderboard.yaml).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list the checks that passed."),
    root: Path | None = RootOption,
) -> None:
    """Run every submission check and print a checklist. Exit 1 if any check fails or cannot be verified."""
    from shlepa.submission.hub import Hub
    from shlepa.submission.validate import Options, validate_changes, validate_paths

    repo = resolve_root(root)
    all_settings = load_settings(config or repo)
    settings = all_settings.validation
    hub = None if offline else Hub(endpoint=hub_endpoint, retry=settings.hub_retry)
    opts = Options(
        settings=settings, hub=hub, pr_author=pr_author, repo_url=repo_url, site_url=site_url or all_settings.site.url
    )
    if changed:
        checklist = validate_changes(repo, changed, opts)
    else:
        files = list(paths) if paths else iter_request_files(repo)
        checklist = validate_paths(repo, files, opts)
    if markdown:
        write_text(markdown, checklist.to_markdown())
    checklist.print(console, verbose=verbose)
    if not checklist.ok:
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {escape(checklist.summary())}")


@app.command()
def gate(
    github_repo: str = typer.Option(..., "--repo", help="OWNER/NAME of the leaderboard."),
    pr_number: int = typer.Option(..., "--pr", min=1, help="Pull request number."),
    out: Path | None = typer.Option(
        None, "--out", help="Write checklist.md, pr_number and head_sha here (the comment workflow posts them)."
    ),
    target_url: str | None = typer.Option(None, "--target-url", help="Link of the status (the gate's run)."),
    no_status: bool = typer.Option(False, "--no-status", help="Compute the verdict only; post no status."),
    hub_endpoint: str | None = HubEndpointOption,
    github_api: str | None = GithubApiOption,
    root: Path | None = RootOption,
) -> None:
    """The merge gate: read the PR's files through the API as data, validate them with this checkout's code,
    post the commit status shlepa/gate on the PR's head (token: $GITHUB_TOKEN). Exit 1 unless success."""
    from shlepa.env import environment
    from shlepa.submission.gate import run_gate
    from shlepa.submission.github import client
    from shlepa.submission.hub import Hub
    from shlepa.submission.validate import Options

    token = environment().github_token
    if not token:
        fail("GITHUB_TOKEN is not set (the gate posts a commit status with it)")
    if not REPO_NAME_RE.match(github_repo):
        fail(f"--repo: expected OWNER/NAME, got {github_repo!r}")
    repo = resolve_root(root)
    all_settings = load_settings(repo)
    opts = Options(
        settings=all_settings.validation,
        hub=Hub(endpoint=hub_endpoint, retry=all_settings.validation.hub_retry),
        site_url=all_settings.site.url,
    )
    result = run_gate(
        client(token, github_api), github_repo, pr_number, repo, opts, post=not no_status, target_url=target_url
    )
    if out is not None:
        write_text(out / "checklist.md", result.checklist.to_markdown())
        write_text(out / "pr_number", f"{result.pr}\n")
        write_text(out / "head_sha", f"{result.head_sha}\n")
    result.checklist.print(console)
    for note in result.notes:
        console.print(escape(note), highlight=False)
    posted = "posted" if result.posted else "not posted"
    typer.echo(f"{result.state}\t{result.head_sha}\t{posted}")
    if result.state != "success":
        raise typer.Exit(1)
