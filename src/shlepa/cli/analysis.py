"""``shlepa submit-series`` (one request per training checkpoint) and ``shlepa suites-check``."""

from __future__ import annotations

from pathlib import Path

import typer

from shlepa.cli._app import (
    GithubApiOption,
    GithubRepoOption,
    HubEndpointOption,
    RootOption,
    app,
    console,
    fail,
    resolve_root,
)
from shlepa.cli.submit import pr_target
from shlepa.config import load_settings
from shlepa.evaluation.suitecheck import check_suites
from shlepa.records.keys import series_branch
from shlepa.records.request import ModelType, Precision
from shlepa.submission.series import SERIES_DEFAULT_SUITE, SeriesError, parse_checkpoint, series_requests, write_series


@app.command("submit-series")
def submit_series(
    model_id: str = typer.Argument(..., help="Hub model id, e.g. my-org/my-run."),
    checkpoint: list[str] = typer.Option(
        ...,
        "--checkpoint",
        "-c",
        help="STEP=REVISION (branch, tag or sha), repeated: -c 1000=step_1000 -c 2000=step_2000.",
    ),
    series: str = typer.Option(..., "--series", help="Name of the training run, e.g. my-run-v1."),
    suite: str = typer.Option(SERIES_DEFAULT_SUITE, "--suite", help="Suite to evaluate every checkpoint on."),
    precision: Precision = typer.Option(Precision.bfloat16, "--precision", help="Precision to evaluate in."),
    model_type: ModelType = typer.Option(ModelType.pretrained, "--model-type", help="How the model was made."),
    license: str | None = typer.Option(None, "--license", help="License id (default: from the model card)."),
    submitter: str = typer.Option(..., "--submitter", help="Your GitHub login."),
    hub_endpoint: str | None = HubEndpointOption,
    open_pr: bool = typer.Option(
        False,
        "--open-pr",
        help="Open ONE PR with every checkpoint's request instead of writing them (see `submit --open-pr`).",
    ),
    github_repo: str | None = GithubRepoOption,
    github_api: str | None = GithubApiOption,
    root: Path | None = RootOption,
) -> None:
    """Write one request per checkpoint, each revision pinned to its commit sha, and print their paths."""
    from shlepa.submission.github import client, submit_pull_request
    from shlepa.submission.hub import CouldNotVerify, Hub, HubNotFound

    repo = resolve_root(root)
    settings = load_settings(repo).validation
    specs = [parse_checkpoint(c) for c in checkpoint]
    hub = Hub(endpoint=hub_endpoint, retry=settings.hub_retry)
    licenses: list[str] = []

    def resolve(ref: str) -> str:
        try:
            facts = hub.model_facts(model_id, ref)
        except (HubNotFound, CouldNotVerify) as exc:
            raise SeriesError(str(exc), path=f"{model_id}@{ref}") from None
        if facts.license:
            licenses.append(facts.license)
        return facts.sha

    if license is None:  # the card's license at the newest checkpoint
        resolve(specs[-1][1])
    lic = license or (licenses[-1] if licenses else None)
    if not lic:
        fail(f"{model_id}: the model card declares no license; pass --license")
    requests = series_requests(
        model_id,
        specs,
        resolve,
        series=series,
        precision=precision.value,
        model_type=model_type.value,
        license=lic,
        submitter=submitter,
        suite=suite,
    )
    if open_pr:
        token, name = pr_target(repo, github_repo)
        pr = submit_pull_request(
            client(token, github_api),
            name,
            branch=series_branch(model_id, series),
            files={str(r.relpath): r.to_yaml() for r in requests},
            token=token,
            title=f"Submit checkpoint series {series} of {model_id} ({len(requests)} checkpoints)",
            body=f"Evaluation requests for {len(requests)} checkpoints of `{model_id}` (series `{series}`).",
        )
        typer.echo(pr.url)
        return
    paths = write_series(repo, requests)
    for path in paths:
        typer.echo(str(path.relative_to(repo)))
    console.print(f"{len(paths)} checkpoint request(s) of series {series}; commit them and open one pull request.")


@app.command("suites-check")
def suites_check(
    name: list[str] = typer.Argument(None, help="Suites to check (default: all under eval/suites)."),
    root: Path | None = RootOption,
) -> None:
    """Check every suite against lm-eval: tasks exist and report the metric and filter the suite scores."""
    repo = resolve_root(root)
    with console.status("reading lm-eval's task index…"):
        problems = check_suites(repo, name or None)
    for problem in problems:
        typer.echo(problem, err=True)  # one unwrapped line per problem
    if problems:
        raise typer.Exit(1)
    console.print("all suites OK")
