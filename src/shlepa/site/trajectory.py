"""Training trajectories: every metric of a checkpoint series over training steps.

A series is the evaluations of one model that share ``checkpoint.series``, a precision
and a suite; each checkpoint is its own results file (its own leaderboard row). This
module turns the leaderboard rows into per-series data (step -> metric values) for the
curves on model pages and the compare page; models without a series become reference
points the compare page draws as horizontal lines.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Any

from shlepa.records.keys import SHORT_SHA
from shlepa.records.scores import finite
from shlepa.records.suite import Suite

SCHEMA = "shlepa.trajectories/1"


def series_slug(model: str, series: str, precision: str, suite: str) -> str:
    """A file-name-safe, collision-free id of a series."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model}__{series}")[:80]
    digest = hashlib.sha1(f"{model}\0{series}\0{precision}\0{suite}".encode()).hexdigest()[:8]
    return f"{readable}_{precision}_{suite}_{digest}"


def _num(value: Any) -> float | None:
    x = finite(value)
    return None if x is None else round(x, 4)


def suite_meta(suite: Suite) -> dict[str, Any]:
    return {
        "title": suite.title,
        "benchmarks": [
            {"key": b.key, "title": b.title, "group": b.group, "unit": b.unit, "higher_is_better": b.higher_is_better}
            for b in suite.benchmarks
        ],
    }


def trajectories(rows: list[dict[str, Any]], suites: dict[str, Suite]) -> dict[str, Any]:
    """{schema, suites, series: [{id, model, series, precision, suite, points: [{step, sha, page, scores}]}], models}.

    ``rows``: the leaderboard's rows (``Board.rows``).
    """
    series: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    models = []
    for r in rows:
        if r["suite"] not in suites:
            continue
        scores = {k: _num(v) for k, v in (r.get("scores") or {}).items()}
        scores["average"] = _num(r.get("average"))
        name, step = r.get("checkpoint_series"), r.get("checkpoint_step")
        if isinstance(name, str) and name and isinstance(step, (int, float)) and _num(step) is not None:
            series[(r["model"], name, r["precision"], r["suite"])].append(
                {"step": int(step), "sha": r["revision"], "page": r["page"], "scores": scores}
            )
        else:
            models.append(
                {
                    "id": r["id"],
                    "model": r["model"],
                    "precision": r["precision"],
                    "suite": r["suite"],
                    "sha": r["revision"],
                    "page": r["page"],
                    "scores": scores,
                }
            )
    out = []
    for (model, name, precision, suite), points in sorted(series.items()):
        points.sort(key=lambda p: (p["step"], p["sha"]))
        out.append(
            {
                "id": series_slug(model, name, precision, suite),
                "model": model,
                "series": name,
                "precision": precision,
                "suite": suite,
                "label": f"{model} · {name}",
                "points": points,
            }
        )
    return {
        "schema": SCHEMA,
        "short_sha": SHORT_SHA,
        "suites": {name: suite_meta(s) for name, s in suites.items()},
        "series": out,
        "models": sorted(models, key=lambda m: m["model"]),
    }


def series_of_page(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Model page folder -> the series it belongs to (for the curves on that page)."""
    return {p["page"]: s for s in data["series"] for p in s["points"]}
