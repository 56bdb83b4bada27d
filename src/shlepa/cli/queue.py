"""``shlepa queue``, ``requeue``, ``sweep``: the evaluation queue on main."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from shlepa.cli._app import RootOption, app, console, fail, resolve_root
from shlepa.config import check_stale_after, load_settings
from shlepa.queue.git import GitRepo
from shlepa.queue.store import list_queue
from shlepa.queue.store import requeue as requeue_fn
from shlepa.queue.store import sweep as sweep_fn
from shlepa.records.request import Status, format_age, load_request


@app.command()
def queue(
    status: list[Status] = typer.Option(None, "--status", help="Only these statuses."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    root: Path | None = RootOption,
) -> None:
    """List requests as PENDING / RUNNING / FINISHED / FAILED with their ages."""
    repo_root = resolve_root(root)
    entries, bad = list_queue(repo_root)
    if status:
        entries = [e for e in entries if e.status in status]
    now = datetime.now(UTC)
    rows = [
        {
            "status": e.status.value,
            "age": format_age(e.age(now)),
            "age_s": int(e.age(now).total_seconds()),
            "request": str(e.path.relative_to(repo_root)),
            "runner": e.runner if e.status == Status.running else None,
            "error": e.request.failure.error_class if e.request.failure else None,
        }
        for e in entries
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        for r in rows:
            extra = r["runner"] or r["error"] or ""
            typer.echo(f"{r['status']:<9} {r['age']:>7}  {r['request']}  {extra}".rstrip())
        counts = {s.value: sum(1 for r in rows if r["status"] == s.value) for s in Status}
        console.print(" ".join(f"{k}={v}" for k, v in counts.items()), highlight=False)
    for err in bad:
        console.print(f"[yellow]unreadable:[/] {err}", highlight=False, markup=True)


def runner_repo(repo_root: Path, branch: str) -> GitRepo:
    """The repository as a runner pushes to it, with the push settings of leaderboard.yaml."""
    settings = load_settings(repo_root).runner
    return GitRepo.from_env(
        repo_root, branch=branch, attempts=settings.push_attempts, backoff_s=settings.push_backoff_s
    )


@app.command()
def requeue(
    request_file: Path = typer.Argument(..., help="Request YAML under requests/."),
    reason: str = typer.Option("", "--reason", help="Why, recorded in the request's history."),
    force: bool = typer.Option(False, "--force", help="Also requeue a RUNNING request."),
    push: bool = typer.Option(False, "--push", help="Commit and push (what the rerun button does)."),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    root: Path | None = RootOption,
) -> None:
    """Put a FAILED (or FINISHED) request back to PENDING, so the next run evaluates it again."""
    repo_root = resolve_root(root)
    rel = request_file.resolve().relative_to(repo_root) if request_file.is_absolute() else request_file
    if not (repo_root / rel).is_file():
        fail(f"{rel}: no such request file")
    req = requeue_fn(repo_root, rel, reason, force, repo=runner_repo(repo_root, branch) if push else None)
    typer.echo(f"{req.status.value}\t{rel}")


@app.command()
def sweep(
    stale_after_minutes: int | None = typer.Option(
        None, "--stale-after-minutes", help="Default: runner.stale_after_minutes in leaderboard.yaml."
    ),
    push: bool = typer.Option(False, "--push", help="Commit and push the requeued requests."),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    root: Path | None = RootOption,
) -> None:
    """Put RUNNING requests whose runner died (older than the timeout) back to PENDING.

    A request the sweep already requeued runner.max_attempts times (each a dead runner) ends FAILED instead.
    """
    repo_root = resolve_root(root)
    settings = load_settings(repo_root).runner
    if stale_after_minutes is not None:
        settings = settings.model_copy(update={"stale_after_minutes": stale_after_minutes})
    check_stale_after(repo_root, settings)
    minutes = settings.stale_after_minutes
    swept = sweep_fn(
        repo_root,
        timedelta(minutes=minutes),
        repo=runner_repo(repo_root, branch) if push else None,
        max_attempts=settings.max_attempts,
    )
    statuses = [load_request(repo_root / rel).status for rel in swept]
    for rel, status in zip(swept, statuses, strict=True):
        typer.echo(f"{status.value}\t{rel}")
    failed = statuses.count(Status.failed)
    console.print(f"{len(swept) - failed} stale request(s) requeued, {failed} failed", highlight=False)


@app.command("matrix-plan")
def matrix_plan(
    wanted: int = typer.Option(0, "--wanted", help="GPU runners wanted (0: runner.max_runners)."),
    root: Path | None = RootOption,
) -> None:
    """Print ``runners=[0,1,...]`` for $GITHUB_OUTPUT: one matrix job per runner, none if nothing is PENDING."""
    from shlepa.queue.matrix import matrix_json, runner_count

    repo_root = resolve_root(root)
    settings = load_settings(repo_root).runner
    typer.echo(f"runners={matrix_json(runner_count(repo_root, max(0, wanted), settings.max_runners))}")
