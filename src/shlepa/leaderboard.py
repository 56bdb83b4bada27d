"""The leaderboard table: the newest results per evaluation, joined with requests and suites.

This is the one place where results become rows; the site, the downloads and the
CLI all read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .request import MODEL_TYPE_SYMBOLS, Request, RequestError, load_all_requests
from .results import ResultsError, ResultsFile, latest_by_key, load_all_results
from .scores import average, normalized_score
from .suites import Suite, SuiteError, available_suites, load_suite


@dataclass
class Board:
    """Everything the site is built from, plus what could not be read."""

    suites: dict[str, Suite]
    rows: pd.DataFrame
    requests: list[tuple[Path, Request]]
    results: dict[str, tuple[Path, ResultsFile]]
    errors: list[str] = field(default_factory=list)


def row_id(model: str, revision: str, precision: str, suite: str) -> str:
    return f"{model}@{revision[:12]}@{precision}@{suite}"


def model_page_path(model: str, revision: str, precision: str, suite: str) -> str:
    """Site-relative folder of a model page (no leading slash)."""
    org, name = model.split("/", 1)
    return f"models/{org}/{name}/{revision[:12]}_{precision}_{suite}/"


def result_row(res: ResultsFile, suite: Suite, path: Path, root: Path) -> dict[str, Any]:
    req = res.request
    keys = suite.keys
    scores = {k: (res.scores[k].value if k in res.scores else None) for k in keys}
    stderrs = {k: (res.scores[k].stderr if k in res.scores else None) for k in keys}
    normalized = {k: normalized_score(suite.benchmark(k), res.scores.get(k)) for k in keys}
    config = res.lm_eval.get("config") or {}
    arch = None
    for cfg_key in ("model_architecture", "architecture"):
        arch = arch or config.get(cfg_key)
    model_type = str(req.get("model_type"))
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
        "params": req.get("params"),
        "architecture": arch,
        "submitted_at": str(req.get("submitted_at", "")),
        "evaluated_at": res.evaluation.finished_at.isoformat(),
        "data": res.evaluation.data,
        "backend": res.evaluation.backend,
        "checkpoint_series": (req.get("checkpoint") or {}).get("series"),
        "checkpoint_step": (req.get("checkpoint") or {}).get("step"),
        "scores": scores,
        "stderrs": stderrs,
        "normalized": normalized,
        "average": average(scores, keys),
        "average_normalized": average(normalized, keys),
        "missing": [k for k in keys if scores[k] is None],
        "page": model_page_path(req["model"], req["revision"], req["precision"], res.suite),
        "results_file": path.relative_to(root).as_posix(),
    }


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
    requests, bad_requests = load_all_requests(root)
    errors += [str(e) for e in bad_requests]
    results, bad_results = load_all_results(root)
    errors += [str(e) for e in bad_results]
    latest = latest_by_key(results)
    rows = []
    for key, (path, res) in sorted(latest.items()):
        suite = suites.get(res.suite)
        if suite is None:
            errors.append(f"{path}: field 'suite': unknown suite {res.suite!r}")
            continue
        try:
            rows.append(result_row(res, suite, path, root))
        except (KeyError, ValueError, TypeError) as exc:
            errors.append(f"{path}: {type(exc).__name__}: {exc}")
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("average", ascending=False, na_position="last", kind="stable")
        frame["rank"] = range(1, len(frame) + 1)
    return Board(suites=suites, rows=frame, requests=requests, results=latest, errors=errors)


__all__ = ["Board", "load_board", "model_page_path", "result_row", "row_id", "RequestError", "ResultsError"]
