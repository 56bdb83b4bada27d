"""``shlepa reproduce``: evaluate again from a results file's recorded settings and compare.

The rerun goes into a scratch leaderboard folder (the checkout's ``eval/`` linked in,
a copy of the request, empty ``results/``), so the checkout's requests and results are
never touched. Every numeric lm-eval metric, every leaderboard score and every
per-sample log-likelihood is compared with the file's; a difference beyond the
tolerance of the run's backend and precision (:data:`TOLERANCES`, the one table) fails.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shlepa.evaluation import EvaluationError
from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request
from shlepa.records.request import Request, Status, StatusChange, save_request
from shlepa.records.results import load_details, read_results_data
from shlepa.records.suite import DataSource


@dataclass(frozen=True)
class Tolerance:
    """How far a rerun may lie from the recorded numbers: ``abs + rel * |recorded|``."""

    metric_abs: float  # lm-eval's own scale (accuracy 0-1); leaderboard scores get 100x
    metric_rel: float
    loglik_abs: float  # nats per request
    loglik_rel: float

    def metric(self, recorded: float, scale: float = 1.0) -> float:
        return self.metric_abs * scale + self.metric_rel * abs(recorded)

    def loglik(self, recorded: float) -> float:
        return self.loglik_abs + self.loglik_rel * abs(recorded)


#: The one table of reproduction tolerances, by (backend, precision); ``*`` is any backend.
#: float32 reruns are deterministic up to kernel order (plain hf against itself at another
#: batch size: < 1e-5 nat on the tiny models, 6.1e-5 on SmolLM2-135M), so they are tight;
#: half precision rounds activations differently with batch shape and hardware (plain hf
#: bfloat16 answers flip between batch sizes 1 and 8, #19), so it is looser; vLLM's kernels
#: differ from run to run more than HF's.
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("*", "float32"): Tolerance(metric_abs=1e-6, metric_rel=1e-6, loglik_abs=1e-4, loglik_rel=1e-6),
    ("*", "float16"): Tolerance(metric_abs=1e-2, metric_rel=1e-3, loglik_abs=5e-2, loglik_rel=2.0**-10),
    ("*", "bfloat16"): Tolerance(metric_abs=2e-2, metric_rel=1e-2, loglik_abs=2e-1, loglik_rel=2.0**-7),
    ("*", "8bit"): Tolerance(metric_abs=2e-2, metric_rel=1e-2, loglik_abs=2e-1, loglik_rel=2.0**-7),
    ("*", "4bit"): Tolerance(metric_abs=2e-2, metric_rel=1e-2, loglik_abs=2e-1, loglik_rel=2.0**-7),
    ("vllm", "float32"): Tolerance(metric_abs=1e-3, metric_rel=1e-4, loglik_abs=1e-3, loglik_rel=1e-5),
}


def tolerance_for(backend: str, precision: str) -> Tolerance:
    """The tolerance of a backend at a precision (the backend's own row, else any backend's)."""
    found = TOLERANCES.get((backend, precision)) or TOLERANCES.get(("*", precision))
    if found is None:
        raise EvaluationError(f"no reproduction tolerance for precision {precision!r}", field="request.precision")
    return found


@dataclass
class Difference:
    """One compared number: where it is, both values, and the tolerance it is held to."""

    kind: str  # "metric", "score", "loglik", "missing"
    where: str
    recorded: float | None
    reproduced: float | None
    tolerance: float

    @property
    def delta(self) -> float:
        if self.recorded is None or self.reproduced is None:
            return math.inf
        if math.isnan(self.recorded) and math.isnan(self.reproduced):
            return 0.0
        return abs(self.recorded - self.reproduced)

    @property
    def ok(self) -> bool:
        return self.delta <= self.tolerance


@dataclass
class Comparison:
    """Every number compared between a results file and its rerun."""

    tolerance: Tolerance
    compared: list[Difference] = field(default_factory=list)
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # recorded vs rerun, where they differ

    @property
    def failures(self) -> list[Difference]:
        return [d for d in self.compared if not d.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def largest(self, n: int) -> list[Difference]:
        """The ``n`` largest differences relative to their tolerance, failures first."""

        def rank(d: Difference) -> tuple[bool, float]:
            return (d.ok, -(d.delta / d.tolerance if d.tolerance > 0 else (math.inf if d.delta else 0.0)))

        return sorted(self.compared, key=rank)[:n]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _metrics(lm_eval: dict[str, Any]) -> Iterator[tuple[str, float]]:
    for task, metrics in sorted((lm_eval.get("results") or {}).items()):
        for name, value in sorted((metrics or {}).items()):
            number = _number(value)
            if number is not None and name != "sample_len":
                yield f"{task} {name}", number


def _logliks(rows: list[dict[str, Any]]) -> Iterator[tuple[str, float]]:
    """Per request: ``task doc filter #choice`` and its log-likelihood (multiple-choice rows)."""
    for row in rows:
        response = row.get("response")
        if not isinstance(response, list):
            continue
        for i, item in enumerate(response):
            ll = _number(item[0]) if isinstance(item, list) and item else None
            if ll is not None:
                yield f"{row.get('task')} doc {row.get('doc_id')} [{row.get('filter')}] choice {i}", ll


def _compare(
    kind: str, recorded: dict[str, float], rerun: dict[str, float], tol: Callable[[float], float]
) -> list[Difference]:
    out = []
    for where in sorted(recorded.keys() | rerun.keys()):
        a, b = recorded.get(where), rerun.get(where)
        out.append(
            Difference(kind if a is not None and b is not None else "missing", f"{kind}: {where}", a, b, tol(a or 0.0))
        )
    return out


#: Settings that must match for a comparison to mean anything; a change is reported, not failed.
_SETTINGS = ("versions", "batch_size", "device", "limit", "data", "backend", "backend_args", "model_args")
_SEEDS = ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")


def compare(
    recorded: dict[str, Any],
    rerun: dict[str, Any],
    recorded_rows: list[dict[str, Any]],
    rerun_rows: list[dict[str, Any]],
) -> Comparison:
    """Compare two results files' data and their details rows under the recorded run's tolerance."""
    ev = recorded["evaluation"]
    tolerance = tolerance_for(ev["backend"], recorded["request"]["precision"])
    comparison = Comparison(tolerance)
    comparison.compared += _compare(
        "metric", dict(_metrics(recorded["lm_eval"])), dict(_metrics(rerun["lm_eval"])), tolerance.metric
    )
    scores = {k: v["value"] for k, v in (recorded.get("scores") or {}).items() if _number(v.get("value")) is not None}
    again = {k: v["value"] for k, v in (rerun.get("scores") or {}).items() if _number(v.get("value")) is not None}
    comparison.compared += _compare("score", scores, again, lambda v: tolerance.metric(v, scale=100.0))
    comparison.compared += _compare(
        "loglik", dict(_logliks(recorded_rows)), dict(_logliks(rerun_rows)), tolerance.loglik
    )
    for name in _SETTINGS:
        a, b = ev.get(name), rerun["evaluation"].get(name)
        if a != b:
            comparison.settings[name] = (a, b)
    config_a, config_b = recorded["lm_eval"].get("config") or {}, rerun["lm_eval"].get("config") or {}
    for name in _SEEDS:
        if config_a.get(name) != config_b.get(name):
            comparison.settings[f"lm_eval.config.{name}"] = (config_a.get(name), config_b.get(name))
    return comparison


def recorded_options(data: dict[str, Any], model_path: Path | None = None, device: str | None = None) -> EvalOptions:
    """The evaluation options a results file records (a local model folder or device may be given anew)."""
    ev = data["evaluation"]
    args = ev.get("model_args") or {}
    if model_path is None:
        request = data["request"]
        weights = args.get("peft") or args.get("delta") or args.get("pretrained")
        if weights and weights not in (request.get("model"), request.get("base_model")):
            model_path = Path(weights)  # the run read a local folder (--model-path)
    memorization = ev.get("memorization_data")
    return EvalOptions(
        source=DataSource(ev["data"]),
        benchmarks=list(ev.get("benchmarks") or []) or None,
        model_path=model_path,
        backend=ev["backend"],
        backend_args=dict(ev.get("backend_args") or {}),
        batch_size=ev.get("batch_size") or "auto",
        device=device or ev.get("device"),
        limit=ev.get("limit"),
        force=True,
        confirm_run_unsafe_code=bool(ev.get("allow_code_eval")),
        memorization_data=Path(memorization) if memorization else None,
        runner="shlepa reproduce",
    )


def scratch_board(root: Path, data: dict[str, Any], work: Path | None) -> tuple[Path, Path]:
    """A leaderboard folder for the rerun: the checkout's ``eval/`` linked, the request copied PENDING."""
    folder = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="shlepa-reproduce-"))
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "results").exists() and any((folder / "results").rglob("results_*.json")):
        raise EvaluationError("the scratch folder already holds results; give an empty one", path=folder)
    (folder / "results").mkdir(exist_ok=True)
    eval_link = folder / "eval"
    if not eval_link.exists():
        eval_link.symlink_to((Path(root) / "eval").resolve(), target_is_directory=True)
    fields = {k: v for k, v in data["request"].items() if k not in ("status", "history", "failure")}
    change = StatusChange(at=datetime.now(UTC), status=Status.pending, reason="shlepa reproduce")
    request = Request.model_validate({**fields, "status": Status.pending, "history": [change]})
    return folder, save_request(request, folder)


@dataclass
class Reproduction:
    results_file: Path  # the rerun's, in the scratch folder
    comparison: Comparison


def reproduce(
    results_file: Path,
    root: Path,
    *,
    work: Path | None = None,
    model_path: Path | None = None,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
    read_details: Callable[[Path, dict[str, Any]], list[dict[str, Any]]] = load_details,
) -> Reproduction:
    """Evaluate ``results_file``'s request again with its recorded settings and compare.

    ``read_details`` reads the recorded per-sample rows (default: beside the results file; the
    CLI passes a reader of the configured details store). They are read before the rerun, so an
    unreachable store fails in seconds, not after the evaluation.
    """
    results_file = Path(results_file)
    recorded = read_results_data(results_file)
    recorded_rows = read_details(results_file, recorded)
    opts = recorded_options(recorded, model_path=model_path, device=device)
    folder, request_path = scratch_board(root, recorded, work)
    target = evaluate_request(request_path, folder, opts, progress=progress)
    if target is None:
        raise EvaluationError("the rerun wrote no results (not the main process?)", path=results_file)
    rerun = read_results_data(target)
    comparison = compare(recorded, rerun, recorded_rows, load_details(target, rerun))
    return Reproduction(target, comparison)
