"""From lm-eval's raw results to leaderboard scores (percent), averages and normalized scores.

Normalization follows the Open LLM Leaderboard: the benchmark's baseline maps to 0,
the maximum (100) to 100, and anything below the baseline to 0. Where a benchmark
has subjects (MMLU), each subject is normalized first and then averaged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from shlepa.records.suite import Benchmark


class BenchmarkScore(BaseModel):
    """One benchmark's score in one evaluation."""

    value: float | None = Field(description="percent, 0-100")
    stderr: float | None = None
    task: str
    metric: str
    num_fewshot: int
    n_samples: int | None = None
    subtasks: dict[str, float] | None = Field(default=None, description="percent per subject")


def finite(x: Any) -> float | None:
    """A real number as float; None for NaN, infinities, booleans and non-numbers (JSON has no NaN)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def benchmark_score(
    bench: Benchmark,
    task: str,
    leaf_tasks: list[str],
    lm_results: Mapping[str, Any],
    n_samples: Mapping[str, Any] | None = None,
) -> BenchmarkScore:
    """Score of ``bench`` from lm-eval's ``results`` mapping.

    ``task`` is the task or group that was run; ``leaf_tasks`` are the tasks lm-eval
    actually evaluated for it (one, or the subjects of a group).
    """
    n_samples = n_samples or {}
    scale = bench.scale

    def metric_of(name: str, key: str) -> float | None:
        return finite((lm_results.get(name) or {}).get(key))

    def count_of(name: str) -> int | None:
        entry = n_samples.get(name) or {}
        value = entry.get("effective", entry.get("original")) if isinstance(entry, dict) else None
        return int(value) if isinstance(value, (int, float)) else None

    if bench.aggregate == "subtask_mean":
        subjects = {t: metric_of(t, bench.metric_key) for t in leaf_tasks}
        values = [v for v in subjects.values() if v is not None]
        errors = [metric_of(t, bench.stderr_key) for t in leaf_tasks]
        value = sum(values) / len(values) * scale if values and len(values) == len(leaf_tasks) else None
        stderr = None
        known = [e for e in errors if e is not None]
        if values and len(known) == len(errors):
            stderr = math.sqrt(sum(e * e for e in known)) / len(known) * scale
        counts = [count_of(t) for t in leaf_tasks]
        return BenchmarkScore(
            value=value,
            stderr=stderr,
            task=task,
            metric=bench.metric_key,
            num_fewshot=bench.num_fewshot,
            n_samples=sum(c for c in counts if c) or None,
            subtasks={t: v * scale for t, v in subjects.items() if v is not None},
        )
    name = leaf_tasks[0] if len(leaf_tasks) == 1 else task
    value = metric_of(name, bench.metric_key)
    stderr = metric_of(name, bench.stderr_key)
    if bench.also_metrics:  # the mean of several metrics (IFEval); their errors are correlated: no stderr
        parts = [value, *(metric_of(name, f"{m},{bench.filter}") for m in bench.also_metrics)]
        value = None if any(p is None for p in parts) else sum(p for p in parts if p is not None) / len(parts)
        stderr = None
    return BenchmarkScore(
        value=None if value is None else value * scale,
        stderr=None if stderr is None else stderr * scale,
        task=task,
        metric=bench.metric_key,
        num_fewshot=bench.num_fewshot,
        n_samples=count_of(name),
    )


def normalize(value: float | None, baseline: float, maximum: float = 100.0) -> float | None:
    """Baseline -> 0, maximum -> 100, below baseline -> 0."""
    if value is None:
        return None
    if maximum <= baseline:
        return 0.0
    return max(0.0, (value - baseline) / (maximum - baseline) * 100.0)


def normalized_score(bench: Benchmark, score: BenchmarkScore | None) -> float | None:
    if score is None or score.value is None:
        return None
    if not bench.normalizes:
        return None
    if score.subtasks and bench.subtask_baselines:  # each subtask on its own baseline (v2's BBH, MuSR)
        return mean(normalize(v, bench.subtask_baselines.get(t, bench.baseline)) for t, v in score.subtasks.items())
    if score.subtasks:  # per subject first; inlined normalize(): 57 subjects x every row of the site
        base = bench.baseline
        if base >= 100.0:
            return 0.0
        span = (100.0 - base) / 100.0
        parts = score.subtasks.values()
        return sum(max(0.0, (v - base) / span) for v in parts if v is not None) / len(parts)
    return normalize(score.value, bench.baseline)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the present values; ``None`` when none is present."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def average(scores: Mapping[str, float | None], keys: Iterable[str]) -> float | None:
    """The leaderboard average over ``keys``; missing benchmarks are left out."""
    return mean(scores.get(k) for k in keys)
