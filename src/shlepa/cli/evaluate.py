"""``shlepa evaluate``: run a request's suite with lm-eval and write results."""

from __future__ import annotations

from pathlib import Path

import typer

from ..evaluation import DEFAULT_BACKEND, EvalOptions, EvaluationError, evaluate_request, parse_backend_args
from ..modelargs import ModelArgsError
from ..request import RequestError
from ..suites import DataSource, SuiteError
from ._app import RootOption, app, console, fail, resolve_root


def _batch(value: str) -> str | int:
    return int(value) if value.isdigit() else value


@app.command()
def evaluate(
    request_file: Path = typer.Argument(..., help="Request YAML under requests/."),
    data: DataSource = typer.Option(
        DataSource.hub, "--data", help="hub: stock lm-eval tasks on Hub datasets; bundled: offline mini edition."
    ),
    benchmark: list[str] = typer.Option(None, "--benchmark", "-b", help="Only these benchmarks of the suite."),
    model_path: Path | None = typer.Option(
        None, "--model-path", help="Load the weights from this local folder instead of the Hub."
    ),
    backend: str = typer.Option(
        DEFAULT_BACKEND,
        "--backend",
        help="lm-eval model backend: shlepa-hf (HF, each shared context computed once), hf (plain lm-eval), vllm.",
    ),
    backend_arg: list[str] = typer.Option(
        None, "--backend-arg", help="KEY=VALUE setting of the backend, e.g. max_batch_tokens=16384 (repeatable)."
    ),
    batch_size: str = typer.Option("auto", "--batch-size", help="Batch size, or 'auto'."),
    device: str | None = typer.Option(None, "--device", help="torch device, e.g. cuda:0 or cpu."),
    limit: float | None = typer.Option(None, "--limit", help="Only the first N items per task (testing)."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="lm-eval request cache folder: a killed run resumes from it."
    ),
    force: bool = typer.Option(False, "--force", help="Evaluate again even if results exist."),
    root: Path | None = RootOption,
) -> None:
    """Evaluate one request: model loaded once, every task of its suite, results written atomically."""
    repo = resolve_root(root)
    try:
        parse_backend_args(backend_arg or [])
    except ValueError as exc:
        fail(str(exc))
    opts = EvalOptions(
        source=data,
        benchmarks=benchmark or None,
        model_path=model_path,
        backend=backend,
        backend_args=parse_backend_args(backend_arg or []),
        batch_size=_batch(batch_size),
        device=device,
        limit=int(limit) if limit is not None and limit >= 1 and float(limit).is_integer() else limit,
        cache_dir=cache_dir,
        force=force,
    )
    try:
        with console.status("evaluating…") as status:
            target = evaluate_request(request_file, repo, opts, progress=lambda m: status.update(m) or console.log(m))
    except (RequestError, SuiteError, ModelArgsError, EvaluationError) as exc:
        fail(str(exc))
    typer.echo(str(target))
