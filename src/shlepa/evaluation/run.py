"""Run a request's suite with lm-eval: load the model once, run every task, write results.

The request moves PENDING -> RUNNING -> FINISHED, or FAILED with the error class,
message and the tail of the log. Results and details are written atomically; a
failure leaves ``results/`` as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import math
import os
import shlex
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shlepa import __version__
from shlepa.env import environment
from shlepa.evaluation import EvaluationError, lm_eval_api
from shlepa.evaluation.model import (
    backend_model_args,
    create_lm,
    effective_backend_args,
    is_main_process,
    model_args_string,
    model_info,
)
from shlepa.evaluation.options import EvalOptions, EvaluationRun
from shlepa.evaluation.tasks import LoadedTasks, load_tasks
from shlepa.records import scoring
from shlepa.records.keys import short_sha
from shlepa.records.request import Failure, Request, Status, load_request, save_request
from shlepa.records.results import find_results_for, results_relpath, write_results
from shlepa.records.scores import BenchmarkScore, average, benchmark_score
from shlepa.records.suite import Benchmark, DataSource

log = logging.getLogger("shlepa.evaluate")


def versions() -> dict[str, str]:
    out = {"shlepa": __version__}
    for dist in ("lm_eval", "transformers", "torch", "tokenizers", "accelerate", "datasets"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    lock = lock_digest()
    if lock:
        out["lock"] = lock
    return out


def lock_digest() -> str | None:
    """``<lock file name>@sha256:<hex>`` of the lock this environment was installed from
    (``SHLEPA_LOCK``, set by the Makefile and the setup action), so a results file names
    every package version behind it; None when the variable is unset."""
    name = environment().shlepa_lock
    if not name:
        return None
    path = Path(name)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise EvaluationError(
            f"SHLEPA_LOCK names a lock file that cannot be read ({exc.strerror}); "
            "point it at the requirements/*.txt the environment was installed from, or unset it",
            path=path,
            field="SHLEPA_LOCK",
        ) from None
    return f"{path.name}@sha256:{digest}"


@contextlib.contextmanager
def _capture_log(lines: deque[str]) -> Iterator[None]:
    """Keep the last lines logged by lm-eval and us, for the FAILED request's log tail."""
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(n) for n in ("lm-eval", "lm_eval", "shlepa")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def cache_prefix(opts: EvalOptions, request: Request) -> str | None:
    """lm-eval's request-cache path for this model; a killed run resumes from it.

    lm-eval's cache key is the request, not the model, so the prefix carries the
    model id, the commit and the precision.
    """
    if opts.cache_dir is None:
        return None
    opts.cache_dir.mkdir(parents=True, exist_ok=True)
    return str(opts.cache_dir / f"{request.org}__{request.name}__{request.revision}__{request.precision.value}")


def run_lm_eval(
    lm: Any,
    tasks: LoadedTasks,
    opts: EvalOptions,
    cache_prefix: str | None,
    apply_chat_template: bool = False,
    fewshot_as_multiturn: bool = False,
) -> dict[str, Any] | None:
    return lm_eval_api.simple_evaluate(
        model=lm,
        tasks=tasks.objects,
        task_manager=tasks.manager,
        batch_size=opts.batch_size,
        device=opts.device,
        limit=opts.limit,
        use_cache=cache_prefix,
        log_samples=True,
        apply_chat_template=apply_chat_template,
        fewshot_as_multiturn=fewshot_as_multiturn,
        confirm_run_unsafe_code=opts.confirm_run_unsafe_code,
    )


@contextlib.contextmanager
def code_eval_allowed(allowed: bool) -> Iterator[None]:
    """Set lm-eval's code-execution safeguard variable for this evaluation only."""
    if not allowed:
        yield
        return
    before = os.environ.get("HF_ALLOW_CODE_EVAL")
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_ALLOW_CODE_EVAL", None)
        else:
            os.environ["HF_ALLOW_CODE_EVAL"] = before


def run_memorization(
    lm: Any, benches: list[Benchmark], opts: EvalOptions
) -> tuple[dict[str, BenchmarkScore], list[dict[str, Any]], dict[str, Any]]:
    """Memorization scores with the already loaded model (Hugging Face backends only)."""
    from shlepa.evaluation.memorization import measure_file

    model, tokenizer = getattr(lm, "model", None), getattr(lm, "tokenizer", None)
    if model is None or tokenizer is None or not hasattr(model, "parameters"):
        raise EvaluationError(f"memorization needs a Hugging Face model; backend {opts.backend} has none")
    limit = int(opts.limit) if isinstance(opts.limit, (int, float)) and opts.limit >= 1 else None
    scores, rows, info = {}, [], {}
    for bench in benches:
        assert opts.memorization_data is not None  # plan() only memorizes with a sample given
        res = measure_file(model, tokenizer, Path(opts.memorization_data), k=bench.memorization_k, limit=limit)
        p = res.memorized
        scores[bench.key] = BenchmarkScore(
            value=p * bench.scale,
            stderr=math.sqrt(p * (1 - p) / (res.n - 1)) * bench.scale if res.n > 1 else None,
            task="shlepa.evaluation.memorization",
            metric="memorized,none",
            num_fewshot=0,
            n_samples=res.n,
        )
        rows += [
            {
                "benchmark": bench.key,
                "task": "shlepa.evaluation.memorization",
                "choices": [],
                "filter": "none",
                "doc": None,
                **row,
            }
            for row in res.rows
        ]
        info[bench.key] = {"k": res.k, "n": res.n, "match_rate": res.match_rate, "data": str(opts.memorization_data)}
    return scores, rows, info


def _arguments(sample: dict[str, Any]) -> list[tuple[Any, ...]]:
    args = sample.get("arguments") or []
    if isinstance(args, dict):  # lm-eval >= 0.4.5: {"gen_args_0": {"arg_0": ..., "arg_1": ...}}
        return [tuple(v.values()) for v in args.values()]
    return [tuple(a) for a in args]


def _generation(sample: dict[str, Any]) -> str | None:
    """The model's raw text of a generation sample (lm-eval's ``resps``: [[text]]), else None."""
    resps = sample.get("resps")
    if isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]:
        first = resps[0][0]
        return first if isinstance(first, str) else None
    return None


def detail_rows(raw: dict[str, Any], leaves: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Per-sample details, one row per sample: prompt, choices or generation, target, score
    (full rows; ``records.results.write_results`` stores them compact, ``records.details``)."""
    bench_of = {leaf: key for key, names in leaves.items() for leaf in names}
    rows = []
    for task, samples in (raw.get("samples") or {}).items():
        for s in samples:
            args = _arguments(s)
            prompt = args[0][0] if args and args[0] else ""
            choices = [a[1] for a in args if len(a) > 1 and isinstance(a[1], str)]
            metrics = {k: s[k] for k in s.get("metrics", []) if k in s}
            generation = None if choices else _generation(s)
            rows.append(
                {
                    "benchmark": bench_of.get(task, task),
                    "task": task,
                    "doc_id": s.get("doc_id"),
                    "prompt": prompt,
                    "choices": choices,
                    "target": s.get("target"),
                    "response": s.get("filtered_resps"),
                    "filter": s.get("filter"),
                    "metrics": metrics,
                    "doc": s.get("doc"),
                    **({"generation": generation} if generation is not None else {}),
                }
            )
    return rows


def scoring_of(lm: Any, raw: dict[str, Any], backend: str) -> dict[str, Any]:
    """Per task, which path scored its requests and why (see :mod:`shlepa.records.scoring`)."""
    report = lm.scoring_report() if callable(getattr(lm, "scoring_report", None)) else {}
    requests: dict[str, int] = {}
    for task, samples in (raw.get("samples") or {}).items():
        seen: dict[Any, int] = {}
        for s in samples:  # one sample per document and filter: count each document once
            seen[s.get("doc_id")] = len(_arguments(s))
        requests[task] = sum(seen.values())
    types = {t: str(c.get("output_type", "")) for t, c in (raw.get("configs") or {}).items() if isinstance(c, dict)}
    return scoring.compact(report, requests, types, getattr(lm, "generation_backend", backend))


def say_scoring(record: dict[str, Any], say: Callable[[str], None]) -> None:
    """Log the paths per task; every fallback is a WARNING and is said on the console too."""
    for task, entry in record.items():
        log.info("scoring %s: %s", task, ", ".join(f"{p} {n}" for p, n in entry["paths"].items()))
    for task, path, n, reasons in scoring.fallbacks(record):
        message = f"warning: {task}: {n} request(s) on the {scoring.PATH_TITLES[path]} path: {'; '.join(reasons)}"
        log.warning(message)
        say(message)


def reproduction(
    request: Request,
    results_file: str,
    opts: EvalOptions,
    model_args: dict[str, Any],
    benchmarks: list[Benchmark],
    chat: tuple[bool, bool] | None = None,
) -> dict[str, Any]:
    """The commands that reproduce this results file: ``shlepa reproduce`` reruns it from the
    settings the file records and compares every number; plain lm-eval, one command per task."""
    sh = ["shlepa", "reproduce", results_file]
    backend_args = effective_backend_args(opts.backend, opts.backend_args)
    # shlepa-hf gives plain hf's numbers (within 1e-4 in float32), so plain lm-eval reproduces it.
    # shlepa-hybrid: shlepa-hf's numbers for log-likelihood; hf's generation stands for its generator's.
    lm_eval_model = "hf" if opts.backend in ("shlepa-hf", "shlepa-hybrid") else opts.backend
    plain = backend_model_args(lm_eval_model, model_args)
    if lm_eval_model == "vllm":
        plain.update(backend_args)
    plain_args = model_args_string(plain)
    lm_eval_cmds = []
    for bench in benchmarks:
        if bench.kind != "lm_eval" or not bench.task_for(opts.source):
            continue
        cmd = [
            "lm_eval",
            "--model",
            lm_eval_model,
            "--model_args",
            plain_args,
            "--tasks",
            str(bench.task_for(opts.source)),
            "--num_fewshot",
            str(bench.num_fewshot),
            "--batch_size",
            str(opts.batch_size),
        ]
        if opts.source == DataSource.bundled:
            cmd += ["--include_path", "eval/tasks"]
        if opts.limit is not None:
            cmd += ["--limit", str(opts.limit)]
        apply_chat, multiturn = chat if chat is not None else (request.use_chat_template, False)
        if apply_chat:
            cmd += ["--apply_chat_template"]
        if multiturn:
            cmd += ["--fewshot_as_multiturn"]
        if bench.unsafe_code:
            cmd = ["env", "HF_ALLOW_CODE_EVAL=1", *cmd, "--confirm_run_unsafe_code"]
        if shlex.join(cmd) not in lm_eval_cmds:
            lm_eval_cmds.append(shlex.join(cmd))
    return {"shlepa": shlex.join(sh), "lm_eval": lm_eval_cmds, "cwd": "repository root"}


def build_payload(run: EvaluationRun) -> dict[str, Any]:
    """The results file's content from the run record (shared by plain runs and merged splits)."""
    request, suite, opts, raw = run.request, run.suite, run.options, run.raw
    to_run, _, skipped = run.plan
    backend_args = effective_backend_args(opts.backend, opts.backend_args)
    rel_request = str(request.relpath)
    assert run.finished is not None  # the results file is named after it (write_results)
    written = run.finished
    scores: dict[str, BenchmarkScore] = {
        b.key: benchmark_score(b, run.names[b.key], run.leaves[b.key], raw["results"], raw.get("n-samples"))
        for b in to_run
    }
    scores.update(run.memo_scores or {})
    scores = {b.key: scores[b.key] for b in run.benchmarks if b.key in scores}  # suite order
    evaluation: dict[str, Any] = {
        "started_at": run.started.isoformat() if run.started else None,
        "finished_at": run.finished.isoformat() if run.finished else None,
        "duration_s": run.duration_s,
        "data": opts.source.value,
        "backend": opts.backend,
        "backend_args": backend_args,
        "model_args": {k: v for k, v in run.lm_args.items() if k != "device" and k not in backend_args},
        "batch_size": opts.batch_size,
        "batch_sizes": raw.get("config", {}).get("batch_sizes"),
        "device": opts.device or run.model_args.get("device") or "cpu",
        "limit": opts.limit,
        "apply_chat_template": run.chat_template,
        "fewshot_as_multiturn": run.fewshot_as_multiturn,
        "benchmarks": [b.key for b in run.benchmarks],
        "allow_code_eval": opts.confirm_run_unsafe_code,
        "memorization_data": str(opts.memorization_data) if opts.memorization_data else None,
        "wandb": {"project": opts.wandb_project, "dir": run.wandb_dir} if opts.wandb_project else None,
        "versions": versions(),
        "runner": opts.runner,
        "run_url": opts.run_url,
    }
    if run.splits is not None:
        evaluation["splits"] = run.splits
    return {
        "request": request.model_dump(mode="json", exclude={"history", "status", "failure"}),
        "request_file": rel_request,
        "suite": suite.name,
        "evaluation": evaluation,
        "model_info": run.model_info or {},
        "scores": {k: v.model_dump() for k, v in scores.items()},
        "average": average({k: v.value for k, v in scores.items()}, [k for k in suite.average_keys if k in scores]),
        "skipped": skipped,
        "memorization": run.memo_info or None,
        "scoring": run.scoring,
        "reproduce": reproduction(
            request,
            str(results_relpath(request.model, written)),
            opts,
            run.model_args,
            to_run,
            (run.chat_template, run.fewshot_as_multiturn),
        ),
        "lm_eval": {k: v for k, v in raw.items() if k != "samples"},
    }


def record_failure(
    root: Path,
    request: Request | Path,
    error: BaseException | str,
    *,
    error_class: str | None = None,
    log_tail: str = "",
    log_url: str | None = None,
    runner: str | None = None,
    run_url: str | None = None,
    only_running: bool = False,
) -> Request | None:
    """Mark the request FAILED with the error, its class and the log tail: the one place failures are written.

    ``request`` is the request itself or its path relative to ``root`` (then read
    from disk). With ``only_running`` a request that is no longer RUNNING (finished
    or failed meanwhile) is left as it is and None returned.
    """
    root = Path(root)
    if not isinstance(request, Request):
        request = load_request(root / request)
    if only_running and request.status != Status.running:
        return None
    cls = error_class or (type(error).__name__ if isinstance(error, BaseException) else "EvaluationError")
    text = str(error)
    failed = request.with_status(Status.failed, f"{cls}: {text}"[:2000], runner=runner, run_url=run_url)
    failure = Failure(error_class=cls, message=(text or cls)[:4000], log_tail=log_tail[-20000:], log_url=log_url)
    failed = failed.model_copy(update={"failure": failure})
    save_request(failed, root)
    return failed


def _mark(request_path: Path, request: Request, status: Status, reason: str, root: Path, **kw: Any) -> Request:
    updated = request.with_status(status, reason, **kw)
    save_request(updated, root)
    if (root / updated.relpath).resolve() != Path(request_path).resolve():
        log.warning("request %s is not at its canonical place %s", request_path, updated.relpath)
    return updated


ProgressFn = Callable[[str], None]


def evaluate_request(
    request_path: Path,
    root: Path,
    opts: EvalOptions | None = None,
    progress: ProgressFn | None = None,
) -> Path | None:
    """Evaluate one request end to end; returns the results file written (or found).

    Under ``accelerate launch`` every rank evaluates its share, but only rank 0
    writes files; the other ranks return None.
    """
    opts = opts or EvalOptions()
    say = progress or (lambda msg: log.info(msg))
    root = Path(root).resolve()
    request_path = Path(request_path)
    request = load_request(request_path)
    run = EvaluationRun.start(request, root, opts)
    to_run, to_memorize, skipped = run.plan
    rel_request = str(request.relpath)

    if not opts.force and request.status == Status.finished:
        existing = find_results_for(root, request.key)
        if existing is not None:
            say(f"{request.key} already FINISHED with {existing.relative_to(root)}; use --force to rerun")
            return existing

    writer = is_main_process()
    if writer and not opts.claimed:
        request = _mark(
            request_path, request, Status.running, "evaluation started", root, runner=opts.runner, run_url=opts.run_url
        )
        run.request = request
    lines: deque[str] = deque(maxlen=60)
    run.started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        with _capture_log(lines), contextlib.chdir(root):
            for key, why in skipped.items():
                say(f"skipping {key}: {why}")
            say(f"loading {len(to_run)} benchmark(s) of suite {run.suite.name} ({opts.source.value} data)")
            tasks = load_tasks(root, to_run, opts.source)
            run.leaves, run.names = tasks.leaves, tasks.names
            say(
                f"loading model {request.model}@{short_sha(request.revision)} ({request.precision.value}) with {opts.backend}"
            )
            lm = create_lm(opts.backend, run.lm_args, opts.batch_size, opts.device)
            run.model_info = model_info(lm)
            cache = cache_prefix(opts, request)
            raw: dict[str, Any] | None = {"results": {}}
            if tasks.objects:
                say(f"running {len(set(tasks.names.values()))} lm-eval task(s)")
                with code_eval_allowed(opts.confirm_run_unsafe_code):
                    raw = run_lm_eval(lm, tasks, opts, cache, run.chat_template, run.fewshot_as_multiturn)
            if raw is None or not writer:
                return None  # not rank 0: lm-eval gathered the results on rank 0, which writes them
            run.raw = raw
            run.scoring = scoring_of(lm, raw, opts.backend)
            say_scoring(run.scoring, say)
            memo_rows: list[dict[str, Any]] = []
            if to_memorize:
                say(f"measuring memorization on {opts.memorization_data}")
                run.memo_scores, memo_rows, run.memo_info = run_memorization(lm, to_memorize, opts)
            if opts.wandb_project:
                from shlepa.evaluation.wandb_log import init_args, log_evaluation

                say(f"logging to Weights & Biases project {opts.wandb_project}")
                run.wandb_dir = log_evaluation(raw, init_args(opts.wandb_project, request))
        run.finished = datetime.now(UTC)
        run.duration_s = round(time.perf_counter() - t0, 3)
        payload = build_payload(run)
        details = detail_rows(raw, tasks.leaves) + memo_rows
        say("writing results and per-sample details")
        target = write_results(root, payload, details, run.finished)
    except BaseException as exc:
        if writer:
            tail = "\n".join([*lines, *traceback.format_exc().splitlines()[-30:]])
            try:
                record_failure(root, request, exc, log_tail=tail, log_url=opts.log_url)
            except OSError:
                log.exception("could not record the failure in %s", rel_request)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise EvaluationError(f"evaluation failed: {type(exc).__name__}: {exc}", path=rel_request) from exc
    _mark(request_path, request, Status.finished, f"results in {target.relative_to(root)}", root)
    say(f"done: {target.relative_to(root)}")
    return target
