"""``shlepa validate``: check request files and list every problem at once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import HubEndpointOption, RootOption, app, console, resolve_root
from shlepa.config import load_settings
from shlepa.io.atomic import write_text
from shlepa.records.request import iter_request_files
from shlepa.submission.hub import Hub
from shlepa.submission.validate import Options, validate_changes, validate_paths


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
