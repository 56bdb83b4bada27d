"""``shlepa evaluate``: run a request's suite with lm-eval and write results."""

from __future__ import annotations

from pathlib import Path

import typer

from ..evaluation import EvalOptions, EvaluationError, evaluate_request
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
    backend: str = typer.Option("hf", "--backend", help="lm-eval model backend name."),
    batch_size: str = typer.Option("auto", "--batch-size", help="Batch size, or 'auto'."),
    device: str | None = typer.Option(None, "--device", help="torch device, e.g. cuda:0 or cpu."),
    limit: float | None = typer.Option(None, "--limit", help="Only the first N items per task (testing)."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="lm-eval request cache folder: a killed run resumes from it."
    ),
    force: bool = typer.Option(False, "--force", help="Evaluate again even if results exist."),
    allow_code_eval: bool = typer.Option(
        False, "--allow-code-eval",
        help="Run the code benchmarks (HumanEval, MBPP): executes model-written code in this job. Off by default.",
    ),
    memorization_data: Path | None = typer.Option(
        None, "--memorization-data", help="Local sample of the model's training data (JSONL 'text' or plain text)."
    ),
    wandb: str | None = typer.Option(
        None, "--wandb", metavar="PROJECT", help="Also log to this Weights & Biases project (needs shlepa[wandb])."
    ),
    root: Path | None = RootOption,
) -> None:
    """Evaluate one request: model loaded once, every task of its suite, results written atomically."""
    repo = resolve_root(root)
    opts = EvalOptions(
        source=data,
        benchmarks=benchmark or None,
        model_path=model_path,
        backend=backend,
        batch_size=_batch(batch_size),
        device=device,
        limit=int(limit) if limit is not None and limit >= 1 and float(limit).is_integer() else limit,
        cache_dir=cache_dir,
        force=force,
        confirm_run_unsafe_code=allow_code_eval,
        memorization_data=memorization_data.resolve() if memorization_data else None,
        wandb_project=wandb,
    )
    try:
        with console.status("evaluating…") as status:
            target = evaluate_request(request_file, repo, opts, progress=lambda m: status.update(m) or console.log(m))
    except (RequestError, SuiteError, ModelArgsError, EvaluationError) as exc:
        fail(str(exc))
    typer.echo(str(target))
