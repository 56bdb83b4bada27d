"""The leaderboard table: the newest results per evaluation, joined with requests and suites.

This is the one place where results become rows; the site, the downloads and the
CLI all read the same table.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shlepa.records.flags import Flag, FlagsError, load_flags
from shlepa.records.keys import MODEL_ID_RE, SHA_RE, model_page_path, row_id
from shlepa.records.queue_order import merge_times
from shlepa.records.request import MODEL_TYPE_SYMBOLS, Request, load_all_requests, read_all_request_data
from shlepa.records.results import ResultsFile, iter_results_files, latest_by_key, load_all_results
from shlepa.records.scores import average, finite, normalized_score
from shlepa.records.suite import Suite, SuiteError, available_suites, load_suite


@dataclass
class Board:
    """Everything the site is built from, plus what could not be read."""

    suites: dict[str, Suite]
    #: One dict per evaluation, in rank order (by average, missing last; ties as loaded).
    rows: list[dict[str, Any]]
    requests: list[tuple[Path, Request]]
    results: dict[str, tuple[Path, ResultsFile]]
    errors: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    root: Path | None = None
    #: ``records.queue_order.merge_times`` of the checkout ({} outside git): the queue page's order and ages.
    merge_times: dict[str, int] = field(default_factory=dict)


MOE_RE = re.compile(r"moe|mixtral", re.IGNORECASE)


def is_moe(architecture: str | None, config: dict[str, Any]) -> bool:
    """Mixture of experts: the architecture says so, or the results recorded a config flag."""
    if architecture and MOE_RE.search(architecture):
        return True
    return bool(config.get("moe") or config.get("num_local_experts") or config.get("num_experts"))


def is_merged(model_type: str, tags: Any) -> bool:
    return model_type == "merge" or (isinstance(tags, list) and "merge" in tags)


def is_local(model: str, model_args: dict[str, Any]) -> bool:
    """Evaluated from a folder on disk (``--model-path``, as the demo does), not from the Hub:
    lm-eval's ``pretrained`` is then that folder, not the request's model id."""
    pretrained = model_args.get("pretrained")
    return isinstance(pretrained, str) and pretrained != model


def result_row(res: ResultsFile, suite: Suite, path: Path, root: Path) -> dict[str, Any]:
    req = res.request
    # The id and sha become folder names and URLs: refuse anything a request could not hold.
    if not MODEL_ID_RE.match(str(req.get("model", ""))):
        raise ValueError(f"field 'request.model': not a model id: {str(req.get('model'))[:80]!r}")
    if not SHA_RE.match(str(req.get("revision", ""))):
        raise ValueError("field 'request.revision': not a 40-hex commit sha")
    keys = suite.keys
    scores = {k: (res.scores[k].value if k in res.scores else None) for k in keys}
    stderrs = {k: (res.scores[k].stderr if k in res.scores else None) for k in keys}
    normalized = {k: normalized_score(suite.benchmark(k), res.scores.get(k)) for k in keys}
    config = res.lm_eval.get("config") or {}
    info = (res.model_extra or {}).get("model_info") or {}
    arch = info.get("architecture") or config.get("model_architecture") or config.get("architecture")
    model_type = str(req.get("model_type"))
    params = req.get("params")
    if params is None and isinstance(info.get("num_parameters"), int):
        params = info["num_parameters"] / 1e9  # counted when the model was loaded
    harness = res.evaluation.versions.get("lm_eval")
    return {
        "id": row_id(req["model"], req["revision"], req["precision"], res.suite),
        "model": req["model"],
        "revision": req["revision"],
        "precision": req["precision"],
        "suite": res.suite,
        "model_type": model_type,
        "type_symbol": MODEL_TYPE_SYMBOLS.get(model_type, ""),
        "weight_type": req.get("weight_type", "original"),
        "base_model": req.get("base_model"),
        "license": req.get("license"),
        "params": params,
        "architecture": arch,
        "submitted_at": str(req.get("submitted_at", "")),
        "evaluated_at": res.evaluation.finished_at.isoformat(),
        "data": res.evaluation.data,
        "backend": res.evaluation.backend,
        "checkpoint_series": (req.get("checkpoint") or {}).get("series"),
        "checkpoint_step": (req.get("checkpoint") or {}).get("step"),
        "local": is_local(req["model"], res.evaluation.model_args),
        "limit": res.evaluation.limit,
        "scores": scores,
        "stderrs": stderrs,
        "normalized": normalized,
        # v2 averages (and ranks by) the normalized scores; the suite's data says which.
        "average": average(normalized if suite.average_of == "normalized" else scores, suite.average_keys),
        "average_normalized": average(normalized, suite.average_keys),
        "missing": [k for k in keys if scores[k] is None],
        "moe": is_moe(arch, {**config, **info}),
        "merged": is_merged(model_type, info.get("tags") if isinstance(info, dict) else None),
        "available": True,
        "lm_eval": harness,
        # Scores move between lm-eval releases: a result from a release other than the one the
        # suite pins (or one that recorded none) is marked on the board and can be filtered out.
        "harness_other": suite.lm_eval_version is not None and harness != suite.lm_eval_version,
        "flag_reason": None,
        "flag_url": None,
        "page": model_page_path(req["model"], req["revision"], req["precision"], res.suite),
        "results_file": path.relative_to(root).as_posix(),
    }


PARALLEL_FROM = 2000  # results files; below this a second process costs more than it saves
# The one part of lm-eval's own output (~90% of each results file) that rows read.
LM_EVAL_KEYS = frozenset({"config"})


def _in_fork(fn: Any, *args: Any) -> Future:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return future


def _descending(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Highest ``key`` first, rows without a finite one last; ties keep their order (a stable sort)."""

    def order(r: dict[str, Any]) -> tuple[bool, float]:
        v = finite(r.get(key))
        return (True, 0.0) if v is None else (False, -v)

    return sorted(rows, key=order)


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in rank order, each with its ``rank`` and ``rank_norm``.

    Ranks are per suite: averages over different benchmarks are not comparable. ``rank``
    orders by the average, ``rank_norm`` by the normalized average (ties keep the order of
    the average); the site, the CSV and the JSON all show these."""
    rows = _descending(rows, "average")
    for key, order in (("rank", rows), ("rank_norm", _descending(rows, "average_normalized"))):
        seen: dict[str, int] = {}
        for r in order:
            r[key] = seen[r["suite"]] = seen.get(r["suite"], 0) + 1
    return rows


def load_board(root: Path) -> Board:
    """Read requests, results and suites under ``root``; unreadable files become errors."""
    root = Path(root)
    errors: list[str] = []
    suites: dict[str, Suite] = {}
    for name in available_suites(root):
        try:
            suites[name] = load_suite(name, root)
        except SuiteError as exc:
            errors.append(str(exc))
    # At scale a forked process parses the request YAML (the slow part: ~0.2 ms per file)
    # while this one reads the results and builds the rows; the requests come back as plain
    # data (it pickles faster than models) and are validated here.
    files = iter_results_files(root)
    parallel = len(files) >= PARALLEL_FROM and len(os.sched_getaffinity(0)) >= 2
    pending = _in_fork(read_all_request_data, root) if parallel else None
    results, bad_results = load_all_results(root, paths=files, lm_eval_keys=LM_EVAL_KEYS)
    latest = latest_by_key(results)
    rows = []
    for _key, (path, res) in sorted(latest.items()):
        suite = suites.get(res.suite)
        if suite is None:
            errors.append(f"{path}: field 'suite': unknown suite {res.suite!r}")
            continue
        try:
            rows.append(result_row(res, suite, path, root))
        except (KeyError, ValueError, TypeError) as exc:
            errors.append(f"{path}: {exc}" if isinstance(exc, ValueError) else f"{path}: {type(exc).__name__}: {exc}")
    errors += [str(e) for e in bad_results]
    requests, bad_requests = load_all_requests(root, pending.result() if pending else None)
    errors += [str(e) for e in bad_requests]
    try:
        flags = load_flags(root)
    except FlagsError as exc:
        errors.append(str(exc))
        flags = []
    apply_flags(rows, flags)
    return Board(
        suites=suites,
        rows=ranked(rows),
        requests=requests,
        results=latest,
        errors=errors,
        flags=flags,
        root=root,
        merge_times=merge_times(root) or {},
    )


def apply_flags(rows: list[dict[str, Any]], flags: list[Flag]) -> None:
    """Mark flagged and no-longer-available rows in place (first matching flag of each kind wins)."""
    by_model: dict[str, list[Flag]] = {}
    for flag in flags:
        by_model.setdefault(flag.model, []).append(flag)
    for row in rows:
        for flag in by_model.get(row["model"], []):
            if not flag.matches(row["model"], row["revision"]):
                continue
            if flag.kind == "unavailable":
                row["available"] = False
            elif row["flag_reason"] is None:
                row["flag_reason"], row["flag_url"] = flag.reason, flag.url


__all__ = ["Board", "apply_flags", "is_local", "is_merged", "is_moe", "load_board", "result_row"]
