"""``shlepa evaluate``: run a request's suite with lm-eval and write results.

With ``--next`` (or ``--commit --push`` and a request file) it is the runner loop
a workflow step runs: claim, evaluate, commit results + status in one commit, push.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shlepa.cli._app import RootOption, app, console, fail, resolve_root
from shlepa.config import DEFAULT_BACKEND, load_settings
from shlepa.details import open_store
from shlepa.errors import ShlepaError
from shlepa.evaluation.model import parse_backend_args
from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request
from shlepa.evaluation.sandbox import require_sandbox
from shlepa.queue.git import GitRepo
from shlepa.queue.runner import RunnerOptions, drain, evaluate_one, github_run_url, runner_name
from shlepa.records.suite import DataSource


def read_options(path: Path) -> EvalOptions:
    """The options record a parent runner wrote (:func:`shlepa.queue.runner.child_options`)."""
    try:
        return EvalOptions.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ShlepaError(f"not a readable evaluation options record: {exc}", path=path) from exc


def _batch(value: str) -> str | int:
    return int(value) if value.isdigit() else value


@app.command()
def evaluate(
    request_file: Path | None = typer.Argument(None, help="Request YAML under requests/ (omit with --next)."),
    data: DataSource | None = typer.Option(
        None,
        "--data",
        help="hub: stock lm-eval tasks on Hub datasets; bundled: offline mini edition "
        "(default: leaderboard.yaml runner.data, else hub).",
    ),
    benchmark: list[str] = typer.Option(None, "--benchmark", "-b", help="Only these benchmarks of the suite."),
    model_path: Path | None = typer.Option(
        None, "--model-path", help="Load the weights from this local folder instead of the Hub."
    ),
    backend: str | None = typer.Option(
        None,
        "--backend",
        help="lm-eval model backend: shlepa-hf (HF, each shared context computed once), hf (plain lm-eval), "
        "vllm (extra), shlepa-hybrid (log-likelihood via shlepa-hf, generation via vLLM when installed, "
        f"else the same HF model; --backend-arg generator=auto|vllm|hf|same) or dummy (tests) (default: leaderboard.yaml runner.backend, else {DEFAULT_BACKEND}).",
    ),
    backend_arg: list[str] = typer.Option(
        None, "--backend-arg", help="KEY=VALUE setting of the backend, e.g. max_batch_tokens=16384 (repeatable)."
    ),
    batch_size: str | None = typer.Option(
        None, "--batch-size", help="Batch size, or 'auto' (default: leaderboard.yaml runner.batch_size, else auto)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="torch device, e.g. cuda:0 or cpu (default: runner.device)."
    ),
    limit: float | None = typer.Option(None, "--limit", help="Only the first N items per task (testing)."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="lm-eval request cache folder: a killed run resumes from it."
    ),
    force: bool = typer.Option(False, "--force", help="Evaluate again even if results exist."),
    next_: bool = typer.Option(False, "--next", help="Drain the queue: claim the oldest PENDING request, repeat."),
    commit: bool = typer.Option(False, "--commit", help="Commit results and status (one commit per request)."),
    push: bool = typer.Option(False, "--push", help="Push each commit; a rejected push is rebased and retried."),
    runner: str | None = typer.Option(
        None, "--runner", help="Runner name recorded in the request (default $RUNNER_NAME)."
    ),
    run_url: str | None = typer.Option(None, "--run-url", help="Workflow run URL (default: from $GITHUB_* variables)."),
    log_url: str | None = typer.Option(None, "--log-url", help="Where the full log is (default: the run's artifacts)."),
    log_dir: Path | None = typer.Option(None, "--log-dir", help="Write one full log per request here (for upload)."),
    claimed: bool = typer.Option(False, "--claimed", help="The request is already RUNNING for this runner."),
    isolate: bool = typer.Option(False, "--isolate", help="Evaluate each request in a child process."),
    max_requests: int | None = typer.Option(None, "--max-requests", help="With --next: stop after this many."),
    branch: str = typer.Option("main", "--branch", help="Branch the queue lives on."),
    split: str | None = typer.Option(
        None,
        "--split",
        help="I/N: evaluate only part I (0-based) of N cost-balanced task splits into a partial "
        "file for `shlepa merge-split`; the request file is left as it is.",
    ),
    split_dir: Path | None = typer.Option(
        None, "--split-dir", help="With --split: folder for split_I_of_N.json (default splits/<key hash>/)."
    ),
    allow_code_eval: bool = typer.Option(
        False,
        "--allow-code-eval",
        help="Run the code benchmarks (HumanEval, MBPP): executes model-written code, each program in a "
        "bubblewrap sandbox (`make sandbox`); refused where none can be created. Off by default "
        "(leaderboard.yaml runner.allow_code_eval turns it on for every run).",
    ),
    memorization_data: Path | None = typer.Option(
        None, "--memorization-data", help="Local sample of the model's training data (JSONL 'text' or plain text)."
    ),
    wandb: str | None = typer.Option(
        None, "--wandb", metavar="PROJECT", help="Also log to this Weights & Biases project (needs shlepa[wandb])."
    ),
    options_file: Path | None = typer.Option(
        None,
        "--options-file",
        help="Take every evaluation option from this JSON record instead of the flags above "
        "(how --isolate and runner.launcher hand a request to the child process).",
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out",
        help="GPU hand-off: evaluate the claimed request into this folder (results, details, manifest.json); "
        "nothing is committed or pushed (`shlepa ingest` does that on a hosted runner).",
    ),
    claim: str | None = typer.Option(None, "--claim", help="With --out: the plan job's claim id of the request."),
    root: Path | None = RootOption,
) -> None:
    """Evaluate one request, or (--next) drain the queue as a runner: claim, evaluate, commit, push."""
    repo_root = resolve_root(root)
    settings = load_settings(repo_root).runner
    parsed_backend_args = parse_backend_args(backend_arg or [])
    if cache_dir is None and settings.cache_dir:
        cache_dir = Path(settings.cache_dir).expanduser()
    if limit is None:
        limit = settings.limit
    run_url = run_url or github_run_url()
    if options_file is not None:
        if request_file is None or next_ or commit or push or split is not None:
            fail("--options-file evaluates one request file: leave out --next, --commit, --push and --split")
        opts = read_options(options_file)
    else:
        opts = EvalOptions(
            source=data or DataSource(settings.data),
            benchmarks=benchmark or None,
            model_path=model_path,
            backend=backend or settings.backend,
            backend_args=parsed_backend_args,
            batch_size=_batch(str(batch_size or settings.batch_size)),
            device=device or settings.device,
            limit=int(limit) if limit is not None and limit >= 1 and float(limit).is_integer() else limit,
            cache_dir=cache_dir,
            force=force,
            runner=runner or runner_name(),
            run_url=run_url,
            log_url=log_url or (f"{run_url}#artifacts" if run_url else None),
            claimed=claimed,
            confirm_run_unsafe_code=allow_code_eval or settings.allow_code_eval,
            memorization_data=memorization_data.resolve() if memorization_data else None,
            wandb_project=wandb,
        )
    if opts.confirm_run_unsafe_code:
        require_sandbox()  # before anything is claimed: no sandbox, no code benchmarks (fails closed)
    if out_dir is not None:
        if next_ or commit or push or split is not None:
            fail("--out hands the results over as files: leave out --next, --commit, --push and --split")
        if request_file is None or not claim:
            fail("--out needs a request file and --claim (the plan job's claim id)")
        from shlepa.queue.handoff import write_handoff

        rel = request_file.resolve().relative_to(repo_root) if request_file.is_absolute() else request_file
        ropts = RunnerOptions(
            eval=opts,
            runner=claim,
            run_url=run_url,
            log_url=opts.log_url,
            log_dir=log_dir,
            launcher=settings.launcher or None,
            isolate=isolate,
            request_timeout_s=settings.request_timeout_minutes * 60.0,  # evaluate.yml's GPU job path too
        )
        typer.echo(str(write_handoff(repo_root, rel, claim, out_dir, ropts)))
        return
    if split is not None:
        if next_ or commit or push:
            fail("--split writes a partial file only: leave out --next, --commit and --push (merge-split commits)")
        if request_file is None:
            fail("--split needs a request file")
        from shlepa.evaluation.split import evaluate_split, parse_split
        from shlepa.queue.runner import EvaluationTimeout, deadline

        index, count = parse_split(split)
        # A part may take as long as a whole request: past it the part fails (no split file, so
        # the merge records the request FAILED naming it) and the GPU machine is free again.
        try:
            with deadline(settings.request_timeout_minutes * 60.0):
                target = evaluate_split(request_file, repo_root, opts, index, count, split_dir, say=console.log)
        except EvaluationTimeout as exc:
            fail(f"{request_file}: split {index}/{count}: {exc}")
        typer.echo(str(target))
        return
    if next_ or commit or push:
        if next_ and request_file is not None:
            fail("give either a request file or --next, not both")
        if not next_ and request_file is None:
            fail("give a request file or --next")
        if request_file is not None and not push:
            fail("--commit needs --push with a request file; for a local run leave both out")
        repo = GitRepo.from_env(
            repo_root, branch=branch, attempts=settings.push_attempts, backoff_s=settings.push_backoff_s
        )
        ropts = RunnerOptions(
            eval=opts,
            runner=opts.runner or runner_name(),
            run_url=run_url,
            log_url=opts.log_url,
            log_dir=log_dir,
            launcher=settings.launcher or None,
            isolate=isolate,
            max_requests=max_requests,
            request_timeout_s=settings.request_timeout_minutes * 60.0,
            store=open_store(load_settings(repo_root).details, repo_root),
        )
        if next_:
            outcomes = drain(repo, repo_root, ropts, say=console.log)
        else:
            assert request_file is not None  # checked above: a request file or --next
            rel = request_file.resolve().relative_to(repo_root) if request_file.is_absolute() else request_file
            outcomes = [evaluate_one(repo, repo_root, rel, ropts)]
        for out in outcomes:
            typer.echo(f"{out.status.value}\t{out.request}\t{out.note}".rstrip())
        if any(o.status.value == "FAILED" for o in outcomes):
            raise typer.Exit(3)  # the workflow run shows red; results of the others were pushed
        return
    if request_file is None:
        fail("give a request file (or --next to drain the queue)")

    def progress(message: str) -> None:
        status.update(message)
        console.log(message)

    with console.status("evaluating…") as status:
        result = evaluate_request(request_file, repo_root, opts, progress=progress)
    if result is not None:
        typer.echo(str(result))
