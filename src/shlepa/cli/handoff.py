"""``shlepa plan-claims``, ``ingest``: the hosted halves of the credential-free GPU hand-off."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shlepa.cli._app import RootOption, app, console, fail, resolve_root
from shlepa.cli.queue import runner_repo
from shlepa.config import load_settings
from shlepa.env import environment
from shlepa.queue.runner import github_run_url
from shlepa.records.keys import claim_id


def default_claim() -> str | None:
    """This Actions run's claim (``run-<id>.<attempt>``), or None outside Actions."""
    env = environment()
    return claim_id(env.github_run_id, env.github_run_attempt) if env.github_run_id else None


def _claim(claim: str | None) -> str:
    found = claim or default_claim()
    if not found:
        fail("--claim: no claim given and $GITHUB_RUN_ID is not set")
    return found


@app.command("plan-claims")
def plan_claims(
    wanted: int = typer.Option(0, "--wanted", help="GPU jobs wanted (0: runner.max_runners)."),
    claim: str | None = typer.Option(None, "--claim", help="Claim id recorded as the runner (default: this run's)."),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    root: Path | None = RootOption,
) -> None:
    """Claim the oldest PENDING requests (one per GPU job, pushed as RUNNING) and print ``claimed=[...]`` for
    $GITHUB_OUTPUT: the GPU matrix, each entry with its request and claim."""
    from shlepa.queue.handoff import claim_batch
    from shlepa.queue.matrix import runner_count

    repo_root = resolve_root(root)
    settings = load_settings(repo_root).runner
    count = runner_count(repo_root, max(0, wanted), settings.max_runners)
    who = _claim(claim)
    rels = claim_batch(runner_repo(repo_root, branch), repo_root, count, who, github_run_url()) if count else []
    entries = [{"index": i, "request": rel.as_posix(), "claim": who} for i, rel in enumerate(rels)]
    console.print(f"claimed {len(rels)} request(s) as {who}", highlight=False)
    typer.echo(f"claimed={json.dumps(entries, separators=(',', ':'))}")
    typer.echo(f"claim={who}")


@app.command()
def ingest(
    folder: Path = typer.Argument(..., help="The GPU job's hand-off folder (downloaded artifact; may be missing)."),
    request_file: Path = typer.Option(..., "--request", help="The claimed request, from the plan job's output."),
    claim: str | None = typer.Option(None, "--claim", help="The plan job's claim id (default: this run's)."),
    push: bool = typer.Option(True, "--push/--no-push", help="Commit and push (rebase and retry, never forced)."),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    log_dir: Path | None = typer.Option(
        None,
        "--log-dir",
        help="Results main refuses for good are kept in DIR/unpublished/ (upload DIR; default .shlepa/unpublished).",
    ),
    root: Path | None = RootOption,
) -> None:
    """Check a GPU job's hand-off with this checkout's code and publish it: results + FINISHED in one commit,
    or FAILED with the reason. A refused hand-off commits none of its files; results whose push main refuses
    for good are kept (--log-dir, a shlepa/unpublished/* branch) and the request FAILED. Exit 3 when it FAILED."""
    from shlepa.details import open_store
    from shlepa.queue.handoff import ingest_handoff

    repo_root = resolve_root(root)
    rel = request_file.resolve().relative_to(repo_root) if request_file.is_absolute() else request_file
    if not (repo_root / rel).is_file():
        fail(f"{rel}: no such request file")
    repo = runner_repo(repo_root, branch)
    store = open_store(load_settings(repo_root).details, repo_root)  # details uploaded before the results commit
    outcome = ingest_handoff(
        repo, repo_root, rel, _claim(claim), folder, github_run_url(), push=push, log_dir=log_dir, store=store
    )
    typer.echo(f"{outcome.status.value}\t{outcome.request}\t{outcome.note}".rstrip())
    if outcome.status.value == "FAILED":
        raise typer.Exit(3)
