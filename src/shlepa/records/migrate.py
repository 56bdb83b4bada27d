"""``shlepa migrate``: results and details of the earlier format into the current layout.

Format 1 (schema ``shlepa.records.results/1``) kept lm-eval's whole output in every results
file (~170 KB, most of it the configs of 57 MMLU subtasks) and every sample's full text in
the details. The current layout (``records.results`` schema ``/2``, ``records.details``
format 2) keeps the slim part on main and moves the rest into the details header, and
splits the details into compact rows plus shared texts. Scores, the request and the
settings are copied as they are, so the board does not change.

Idempotent: a results file already in the current layout whose details are format 2 is
not touched (not even rewritten), so a second run changes nothing. Each file is written
atomically, details first: a run that stops half-way leaves files a rerun finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shlepa.io import atomic
from shlepa.records import details as details_format
from shlepa.records.results import (
    SCHEMA,
    SCHEMAS,
    ResultsError,
    dump_results,
    iter_results_files,
    results_layout,
    split_lm_eval,
)


@dataclass
class MigrationReport:
    """What a migration did: files converted, files already current, bytes before and after."""

    converted: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def migrate_results(root: Path, path: Path, report: MigrationReport) -> None:
    """One results file (and its details) into the current layout, unless it already is."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"unreadable results file: {exc}", path=path) from None
    if not isinstance(data, dict) or data.get("schema") not in SCHEMAS:
        raise ResultsError(f"expected one of {list(SCHEMAS)}", path=path, field="schema")
    name = data.get("details_file") or path.name.replace("results_", "details_").replace(".json", ".jsonl.gz")
    if "/" in name or "\\" in name or name.startswith("."):
        raise ResultsError(f"not a file name beside the results: {name[:80]!r}", path=path, field="details_file")
    details_path = path.parent / name
    details_bytes = details_path.read_bytes() if details_path.is_file() else None
    if data["schema"] == SCHEMA and details_bytes is not None and details_format.is_compact(details_bytes):
        report.unchanged.append(path)
        return
    before = len(raw) + (len(details_bytes) if details_bytes is not None else 0)
    old = (
        details_format.read_model_details(details_bytes, details_format.load_shared(root), details_path)
        if details_bytes is not None
        else None
    )
    keep, rest = split_lm_eval(data.get("lm_eval"))
    if data["schema"] == SCHEMA:  # current results, old details: the results' lm-eval part is already slim
        keep = data.get("lm_eval") or {}
    compact = details_format.compact(old.full_rows() if old else [], lm_eval={**(old.lm_eval if old else {}), **rest})
    details_format.write_model_details(details_path, compact, root)
    task_hashes = compact.header()["shared"] or data.get("task_hashes") or {}
    payload = results_layout({**data, "task_hashes": task_hashes, "lm_eval": keep}, name)
    atomic.write_bytes(path, dump_results(payload))
    report.converted.append(path)
    report.bytes_before += before
    report.bytes_after += _size(path) + _size(details_path)


def migrate(root: Path) -> MigrationReport:
    """Every results file under ``root``/results into the current layout (see the module)."""
    report = MigrationReport()
    for path in iter_results_files(Path(root)):
        migrate_results(Path(root), path, report)
    return report
