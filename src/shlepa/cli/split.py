"""``shlepa merge-split``, ``claim``, ``split-plan``: one request's tasks split over several runners."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shlepa.cli._app import RootOption, app, console, fail, resolve_root
from shlepa.cli.queue import runner_repo
from shlepa.config import load_settings
from shlepa.details import open_store
from shlepa.queue.git import GitError
from shlepa.queue.runner import github_run_url, runner_name
from shlepa.queue.store import claim as claim_fn
from shlepa.records.request import RequestError
from shlepa.records.results import ResultsError
from shlepa.records.suite import SuiteError


def _rel(repo_root: Path, path: Path) -> Path:
    return path.resolve().relative_to(repo_root) if path.is_absolute() else path


@app.command("merge-split")
def merge_split(
    splits: list[Path] = typer.Argument(..., help="Split files, or folders holding split_I_of_N.json files."),
    request_file: Path | None = typer.Option(None, "--request", help="The request (default: from the splits)."),
    commit: bool = typer.Option(False, "--commit", help="Commit results + FINISHED request in one commit."),
    push: bool = typer.Option(False, "--push", help="Push that commit; a rejected push is rebased and retried."),
    runner: str | None = typer.Option(None, "--runner", help="Runner name recorded (default $RUNNER_NAME)."),
    claim: str | None = typer.Option(
        None,
        "--claim",
        help="Refuse (commit nothing) unless the request is RUNNING under this claim id; split folders "
        "holding a symlink or special file are refused too (the workflow's parts come from GPU machines).",
    ),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    root: Path | None = RootOption,
) -> None:
    """Merge the splits of one request into ONE results file equal to an unsplit run's, and finish the request."""
    from shlepa.evaluation.split import SplitError
    from shlepa.queue.runner import merge_and_finish, record_merge_failure

    repo_root = resolve_root(root)
    if push and not commit:
        fail("--push needs --commit")
    rel = _rel(repo_root, request_file) if request_file is not None else None
    repo = runner_repo(repo_root, branch) if commit else None
    if claim is not None:
        from shlepa.queue.handoff import regular_files, require_claim
        from shlepa.records.request import load_request

        if rel is None:
            fail("--claim needs --request")
        require_claim(load_request(repo_root / rel), rel.as_posix(), claim)
        for folder in splits:
            if folder.is_dir():
                regular_files(folder)
    try:
        target, outcome = merge_and_finish(
            repo_root,
            splits,
            rel,
            runner or runner_name(),
            github_run_url(),
            repo=repo,
            push=push,
            store=open_store(load_settings(repo_root).details, repo_root) if commit else None,
        )
    except (SplitError, RequestError, SuiteError, ResultsError) as exc:
        if repo is not None and rel is not None and (repo_root / rel).is_file():
            try:
                record_merge_failure(repo_root, rel, str(exc), runner or runner_name(), github_run_url(), repo, push)
            except (RequestError, GitError) as again:
                console.print(f"could not record the failure: {again}", highlight=False)
        raise
    typer.echo(f"{outcome.status.value}\t{target.relative_to(repo_root)}\t{outcome.note}".rstrip())


@app.command()
def claim(
    request_file: Path = typer.Argument(..., help="PENDING request YAML under requests/."),
    runner: str | None = typer.Option(
        None, "--runner", help="Name recorded as the request's runner (default: this run's claim id, else 'split')."
    ),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    root: Path | None = RootOption,
) -> None:
    """Claim one PENDING request (commit RUNNING, push) so no drain evaluates it while its splits run."""
    repo_root = resolve_root(root)
    rel = _rel(repo_root, request_file)
    from shlepa.cli.handoff import default_claim

    who = runner or default_claim() or "split"
    won = claim_fn(runner_repo(repo_root, branch), repo_root, rel, who, github_run_url())
    if not won:
        fail(f"{rel}: field 'status': not PENDING (claimed by another runner?); nothing to split")
    typer.echo(f"RUNNING\t{rel}")


@app.command("split-plan")
def split_plan(
    count: int = typer.Option(..., "--count", help="How many GPU runners share the request's tasks (1-256)."),
) -> None:
    """Print ``split=[0,1,...]`` for $GITHUB_OUTPUT: one matrix job per part of the split."""
    if not 1 <= count <= 256:
        fail(f"--count {count}: expected 1 to 256")
    console.print(f"split into {count} part(s)", highlight=False)
    typer.echo(f"split={json.dumps(list(range(count)), separators=(',', ':'))}")
