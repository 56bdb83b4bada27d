"""Check a suite against lm-eval: every task exists and reports the metric the suite scores.

``load_suite`` checks the suite's own shape; this module checks what only lm-eval knows:
that ``task`` names a stock lm-eval task or group (or one in ``eval/tasks``), that
``bundled_task`` names one in ``eval/tasks``, and that the task reports ``metric`` under
``filter``. Problems read "file: field 'benchmarks.N.x': cause". Reading lm-eval's index of
~15,000 stock task files takes a while, so callers may pass a prebuilt index.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shlepa.records.suite import Suite, SuiteError, available_suites, load_suite, suites_dir, tasks_dir

# lm-eval's default metrics per output type (when a task has no metric_list).
DEFAULT_METRICS = {
    "loglikelihood": {"perplexity", "acc"},
    "loglikelihood_rolling": {"word_perplexity", "byte_perplexity", "bits_per_byte"},
    "multiple_choice": {"acc", "acc_norm"},
    "generate_until": {"exact_match"},
}

Index = Mapping[str, Any]  # task/group name -> lm-eval index Entry (kind, yaml_path, cfg)


def build_index(root: Path, *, stock: bool = True) -> dict[str, Any]:
    """lm-eval's task index over ``eval/tasks`` and, with ``stock``, lm-eval's own tasks."""
    from shlepa.evaluation import lm_eval_api

    paths = [lm_eval_api.stock_tasks_dir()] if stock else []
    paths.append(tasks_dir(root).resolve())
    return lm_eval_api.build_task_index(paths)


def _metric_names(metric_list: list[Any]) -> set[str]:
    names = set()
    for item in metric_list:
        metric = item.get("metric") if isinstance(item, dict) else item
        if isinstance(metric, str) and "/" not in metric and "." not in metric:
            names.add(metric)
        elif isinstance(item, dict) and item.get("k") is not None:
            ks = item["k"] if isinstance(item["k"], list) else [item["k"]]
            names.update(f"pass@{k}" for k in ks)  # code_eval-style functions report pass@k
        elif isinstance(metric, str):
            names.add(metric.rsplit(".", 1)[-1])  # an unresolved !function: its name
    return names


def reported(name: str, index: Index, _depth: int = 0) -> tuple[set[str], set[str]] | None:
    """(metrics, filters) that task or group ``name`` reports; None when it cannot be told."""
    entry = index.get(name)
    if entry is None or _depth > 6:
        return None
    cfg = entry.cfg or {}
    kind = getattr(entry.kind, "name", str(entry.kind))
    if kind == "GROUP":
        metrics = _metric_names(cfg.get("aggregate_metric_list") or [])
        filters = {"none"}
        subtasks = cfg.get("task") or []
        for sub in subtasks if isinstance(subtasks, list) else [subtasks]:
            part = reported(sub, index, _depth + 1) if isinstance(sub, str) else None
            if part:
                metrics |= part[0]
                filters |= part[1]
        return metrics, filters
    if kind != "TASK":
        return None  # class-based (Python) tasks: metrics are only known at run time
    metric_list = cfg.get("metric_list")
    metrics = _metric_names(metric_list) if metric_list else set(DEFAULT_METRICS.get(str(cfg.get("output_type")), ()))
    filters = {str(f.get("name")) for f in cfg.get("filter_list") or [] if isinstance(f, dict)} or {"none"}
    return metrics, filters


def check_suite(suite: Suite, path: Path, index: Index, bundled: set[str]) -> list[str]:
    """Problems of one loaded suite; ``bundled`` are the task names defined in ``eval/tasks``."""
    problems = []
    for i, bench in enumerate(suite.benchmarks):
        where = f"{path}: field 'benchmarks.{i}"
        if bench.kind != "lm_eval":
            continue
        if not bench.task and not bench.bundled_task:
            problems.append(f"{where}.task': benchmark {bench.key!r} has neither task nor bundled_task")
        names = []
        if bench.task:
            if bench.task not in index:
                problems.append(f"{where}.task': unknown lm-eval task {bench.task!r}")
            else:
                names.append(("task", bench.task))
        if bench.bundled_task:
            if bench.bundled_task not in bundled:
                problems.append(f"{where}.bundled_task': {bench.bundled_task!r} is not a task in eval/tasks")
            elif bench.bundled_task in index:
                names.append(("bundled_task", bench.bundled_task))
        for field, name in names:
            got = reported(name, index)
            if got is None:
                continue
            metrics, filters = got
            unknown = [
                f"{where}.{key}': {field} {name!r} does not report {metric!r} "
                f"(it reports: {', '.join(sorted(metrics)) or 'nothing'})"
                for key, metric in [("metric", bench.metric), *(("also_metrics", m) for m in bench.also_metrics)]
                if metric not in metrics
            ]
            problems += unknown
            if not unknown and bench.filter not in filters:
                problems.append(
                    f"{where}.filter': {field} {name!r} has no filter {bench.filter!r} "
                    f"(filters: {', '.join(sorted(filters))})"
                )
    return problems


def check_suites(root: Path, names: list[str] | None = None, index: Index | None = None) -> list[str]:
    """Problems of every suite under ``eval/suites`` (or the named ones); empty when all is well."""
    root = Path(root)
    if index is None:
        index = build_index(root)
    bundled = set(build_index(root, stock=False))
    problems: list[str] = []
    for name in names or available_suites(root):
        path = suites_dir(root) / f"{name}.yaml"
        try:
            suite = load_suite(name, root)
        except SuiteError as exc:
            problems.append(str(exc))
            continue
        problems += check_suite(suite, path, index, bundled)
    return problems
