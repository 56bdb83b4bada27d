"""Results files: ``results/<org>/<model>/results_<UTC timestamp>.json`` plus details.

A results file keeps lm-eval's own output (results, configs, versions, n-shot,
model info, ...) under ``lm_eval`` and adds what the leaderboard needs: the request,
the per-benchmark scores in percent, the average, the evaluation settings and the
exact reproduction commands. Per-sample details go beside it, compressed
(``details_<timestamp>.jsonl.gz``), one line per sample. One file per evaluation,
never edited afterwards, so concurrent runners never conflict on a rebase.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import atomic
from .yamlio import validation_message
from .scores import BenchmarkScore

SCHEMA = "shlepa.results/1"
RESULTS_RE = re.compile(r"^results_(\d{8}T\d{6}(?:\.\d{1,6})?Z)\.json$")


class Evaluation(BaseModel):
    """How the numbers were produced: everything the reproduction command needs."""

    model_config = ConfigDict(extra="allow")

    started_at: datetime
    finished_at: datetime
    duration_s: float
    data: str = Field(description="'hub' (stock lm-eval tasks) or 'bundled' (offline mini edition)")
    backend: str
    model_args: dict[str, Any]
    batch_size: str | int | None = None
    device: str | None = None
    limit: float | int | None = None
    apply_chat_template: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    runner: str | None = None
    run_url: str | None = None


class ResultsFile(BaseModel):
    """The leaderboard's view of one results file."""

    model_config = ConfigDict(extra="allow")

    schema_: str = Field(alias="schema")
    request: dict[str, Any]
    request_file: str
    suite: str
    evaluation: Evaluation
    scores: dict[str, BenchmarkScore]
    average: float | None
    reproduce: dict[str, Any]
    details_file: str | None = None
    lm_eval: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.request["model"])

    @property
    def key(self) -> str:
        r = self.request
        return f"{r['model']}@{r['revision']}@{r['precision']}@{self.suite}"


class ResultsError(ValueError):
    """A results file is unusable; the message names it."""


def timestamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S.%fZ")


def results_dir(root: Path, model: str) -> Path:
    org, name = model.split("/", 1)
    return Path(root) / "results" / org / name


def write_results(
    root: Path, payload: dict[str, Any], details: list[dict[str, Any]], now: datetime
) -> Path:
    """Write details first, then the results file that points to them (both atomic).

    A crash between the two leaves an orphan details file, never a results file
    that points to nothing.
    """
    folder = results_dir(root, payload["request"]["model"])
    stamp = timestamp(now)
    details_name = f"details_{stamp}.jsonl.gz"
    atomic.write_jsonl_gz(folder / details_name, details)
    payload = {**payload, "schema": SCHEMA, "details_file": details_name}
    ResultsFile.model_validate(payload)  # never write what we could not read back
    target = folder / f"results_{stamp}.json"
    atomic.write_json(target, payload)
    return target


def load_results(path: Path) -> ResultsFile:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: unreadable results file: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"{path}: field 'schema': expected {SCHEMA!r}")
    try:
        return ResultsFile.model_validate(data)
    except ValidationError as exc:
        raise ResultsError(validation_message(path, exc)) from None


def iter_results_files(root: Path) -> list[Path]:
    base = Path(root) / "results"
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("results_*.json") if RESULTS_RE.match(p.name))


def load_all_results(root: Path) -> tuple[list[tuple[Path, ResultsFile]], list[ResultsError]]:
    """Every readable results file; broken ones come back as errors, never raised."""
    good: list[tuple[Path, ResultsFile]] = []
    bad: list[ResultsError] = []
    for path in iter_results_files(root):
        try:
            good.append((path, load_results(path)))
        except ResultsError as exc:
            bad.append(exc)
    return good, bad


def latest_by_key(results: list[tuple[Path, ResultsFile]]) -> dict[str, tuple[Path, ResultsFile]]:
    """The newest results file per model@revision@precision@suite (names sort by time)."""
    latest: dict[str, tuple[Path, ResultsFile]] = {}
    for path, res in sorted(results, key=lambda pr: pr[0].name):
        latest[res.key] = (path, res)
    return latest


def find_results_for(root: Path, key: str) -> Path | None:
    """The newest results file of an evaluation key, if one exists (for idempotent reruns)."""
    found = None
    for path in iter_results_files(root):
        try:
            res = load_results(path)
        except ResultsError:
            continue
        if res.key == key and (found is None or path.name > found.name):
            found = path
    return found
