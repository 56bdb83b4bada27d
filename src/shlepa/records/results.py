"""Results files: ``results/<org>/<model>/results_<UTC timestamp>.json`` plus details.

A results file (schema ``shlepa.records.results/2``) keeps what the board and a
reproduction need: the request, the per-benchmark scores in percent (with every MMLU
subject), the average, the evaluation settings, the exact reproduction commands and,
under ``lm_eval``, the slim part of lm-eval's output (:data:`MAIN_LM_EVAL_KEYS`: every
task's metrics and stderrs, versions, n-shot, sample counts, task hashes, lm-eval's run
config). The rest of lm-eval's output (every subtask's config, the environment report)
goes into the details file's header with the per-sample rows (``records.details``), and
the results file names the details file's sha256 (``details_sha256``): the publishing step
moves it into the details store under that content key (``shlepa.details``) before it
commits the results. So
a full-size evaluation adds ~20 KB to main (~4 KB as git stores it) instead of ~130 KB.
One file per evaluation, never edited afterwards, so concurrent runners never conflict
on a rebase. Files of
schema ``/1`` (lm-eval's whole output inline) are still read; ``shlepa migrate`` slims them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

# orjson parses the site build's 10,000+ results files ~2.5x faster than json (a core dependency).
from orjson import loads as _json_loads
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shlepa.errors import ShlepaError
from shlepa.io import atomic
from shlepa.records import details as details_format
from shlepa.records.keys import evaluation_key, model_details_name
from shlepa.records.scores import BenchmarkScore

SCHEMA = "shlepa.records.results/2"
#: Results files written before the details format 2: lm-eval's whole output inline.
SCHEMA_V1 = "shlepa.records.results/1"
SCHEMAS = (SCHEMA, SCHEMA_V1)
#: The sections of lm-eval's output a results file keeps on main (small, and what the board,
#: a reproduction or an audit reads); every other section goes with the details.
MAIN_LM_EVAL_KEYS = (
    "results",
    "groups",
    "group_subtasks",
    "versions",
    "n-shot",
    "n-samples",
    "config",
    "task_hashes",
    "lm_eval_version",
    "transformers_version",
    "git_hash",
    "date",
    "total_evaluation_time_seconds",
)
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
    scoring: dict[str, Any] | None = Field(
        default=None, description="per task, the path that scored it (records.scoring)"
    )
    details_file: str | None = None
    #: sha256 of the details file's bytes: its key in the details store (records.keys.details_key).
    details_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    lm_eval: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.request["model"])

    @property
    def key(self) -> str:
        r = self.request
        return evaluation_key(r["model"], r["revision"], r["precision"], self.suite)


class ResultsError(ShlepaError, ValueError):
    """A results file is unusable; the message names it."""


def timestamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S.%fZ")


def results_dir(root: Path, model: str) -> Path:
    org, name = model.split("/", 1)
    return Path(root) / "results" / org / name


def results_relpath(model: str, now: datetime) -> Path:
    """Where the results file of an evaluation written at ``now`` lives, relative to the root."""
    return results_dir(Path("."), model) / f"results_{timestamp(now)}.json"


def split_lm_eval(lm_eval: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """lm-eval's output as (what stays on main, what goes with the details)."""
    lm_eval = lm_eval or {}
    keep = {k: lm_eval[k] for k in MAIN_LM_EVAL_KEYS if k in lm_eval}
    rest = {k: v for k, v in lm_eval.items() if k not in keep and k != "samples"}
    # The display aliases (in every task's config) go too, and a "name" that repeats its own
    # key (~2.5 KB over the six's 62 tasks; the key is the name).
    for section in ("results", "groups"):
        if isinstance(keep.get(section), dict):
            keep[section] = {
                task: {m: v for m, v in metrics.items() if m != "alias" and not (m == "name" and v == task)}
                if isinstance(metrics, dict)
                else metrics
                for task, metrics in keep[section].items()
            }
    return keep, rest


def results_layout(payload: dict[str, Any], details_name: str) -> dict[str, Any]:
    """The payload in the order ``write_results`` writes it (lm-eval's output last: readers
    that skip it, the site build, stop parsing early)."""
    return {
        **{k: v for k, v in payload.items() if k not in ("lm_eval", "schema", "details_file")},
        "schema": SCHEMA,
        "details_file": details_name,
        "lm_eval": payload.get("lm_eval") or {},
    }


def write_results(root: Path, payload: dict[str, Any], details: list[dict[str, Any]], now: datetime) -> Path:
    """Write details first (shared texts, then the model's compact rows), then the results
    file that points to them (all atomic).

    ``details`` are full rows (``evaluation.run.detail_rows``); ``payload["lm_eval"]`` is
    lm-eval's whole output, split here between main and the details. A crash between the
    writes leaves an orphan details file, never a results file that points to nothing.
    """
    folder = results_dir(root, payload["request"]["model"])
    stamp = timestamp(now)
    details_name = model_details_name(stamp)
    keep, rest = split_lm_eval(payload.get("lm_eval"))
    compact = details_format.compact(details, lm_eval=rest)
    details_format.write_model_details(folder / details_name, compact, root)
    digest = hashlib.sha256((folder / details_name).read_bytes()).hexdigest()
    # The shared texts' hashes name every task's prompts, choices and targets: the task hashes.
    payload = results_layout(
        {**payload, "task_hashes": compact.header()["shared"], "details_sha256": digest, "lm_eval": keep}, details_name
    )
    ResultsFile.model_validate(payload)  # never write what we could not read back
    target = Path(root) / results_relpath(payload["request"]["model"], now)
    atomic.write_bytes(target, dump_results(payload))
    return target


def dump_results(payload: dict[str, Any]) -> bytes:
    """A results file's bytes: one top-level key per line, each value compact JSON.

    The layout :func:`without_lm_eval` relies on (a top-level key starts a line with two
    spaces and a quote), at ~60% of the size ``indent=2`` gives the 63 tasks' metrics.
    """

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)

    return ("{\n" + ",\n".join(f"  {compact(k)}: {compact(v)}" for k, v in payload.items()) + "\n}\n").encode()


_LM_EVAL_LINE = b'\n  "lm_eval": '
_TOP_LEVEL_LINE = b'\n  "'


def without_lm_eval(raw: bytes) -> bytes | None:
    """The bytes of an indented results file with lm-eval's output replaced by ``{}``; None
    when the file is not laid out as ``write_results`` writes it.

    In JSON written with ``indent=2`` a line that starts with exactly two spaces and a
    quote is a top-level key (strings cannot hold a raw newline; nested keys sit deeper),
    so the value of ``lm_eval`` runs from its line to the next such line or the closing
    brace. Skipping its ~120 KB is most of the cost of reading 10,000 results files.
    """
    start = raw.find(_LM_EVAL_LINE)
    if start < 0:
        return None
    value = start + len(_LM_EVAL_LINE)
    following = raw.find(_TOP_LEVEL_LINE, value)
    if following >= 0:
        return raw[:value] + b"{}," + raw[following:]
    end = raw.rfind(b"\n}")
    return raw[:value] + b"{}" + raw[end:] if end > value else None


_HEAD_CHUNK = 32768


def _read_before_lm_eval(path: Path) -> bytes:
    """The file's JSON with lm-eval's output as ``{}``, reading only the bytes before it when
    the file is laid out as ``write_results`` writes it (``schema`` and ``details_file``
    before ``lm_eval``, the last key); otherwise the whole file, sliced or as it is."""
    with open(path, "rb") as fh:
        buf = b""
        while chunk := fh.read(_HEAD_CHUNK):
            start = max(0, len(buf) - len(_LM_EVAL_LINE))
            buf += chunk
            at = buf.find(_LM_EVAL_LINE, start)
            if at >= 0:
                head = buf[:at]
                if b'\n  "schema": ' in head and b'\n  "details_file": ' in head:
                    return head + _LM_EVAL_LINE + b"{}\n}\n"
                buf += fh.read()
                return without_lm_eval(buf) or buf
    return buf


def read_results_data(path: Path, lm_eval_keys: Collection[str] | None = None) -> dict[str, Any]:
    """A results file's JSON, checked for our schema but not validated.

    ``lm_eval_keys``: keep only these keys of lm-eval's own output (~90% of a file, ~120 KB,
    of which the site needs at most its ``config``). When the file records the model's
    architecture itself (``model_info``, written by every shlepa evaluation), lm-eval's
    output is not even read: see :func:`_read_before_lm_eval`.
    """
    data: Any = None
    try:
        if lm_eval_keys is not None:
            try:
                data = _json_loads(_read_before_lm_eval(path))
            except (UnicodeDecodeError, json.JSONDecodeError):
                data = None
            info = data.get("model_info") if isinstance(data, dict) else None
            if not (isinstance(info, dict) and info.get("architecture")):
                data = None  # older files keep the architecture only in lm-eval's config: read it all
        if data is None:
            raw = Path(path).read_bytes()
            try:
                data = _json_loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ResultsError(f"unreadable results file: {exc}", path=path) from None
    except OSError as exc:
        raise ResultsError(f"unreadable results file: {exc.strerror or exc}", path=path) from None
    if not isinstance(data, dict) or data.get("schema") not in SCHEMAS:
        raise ResultsError(f"expected {SCHEMA!r}", path=path, field="schema")
    if lm_eval_keys is not None and isinstance(data.get("lm_eval"), dict):
        data["lm_eval"] = {k: v for k, v in data["lm_eval"].items() if k in lm_eval_keys}
    return data


def load_results(path: Path, lm_eval_keys: Collection[str] | None = None) -> ResultsFile:
    data = read_results_data(path, lm_eval_keys)
    try:
        return ResultsFile.model_validate(data)
    except ValidationError as exc:
        raise ResultsError.from_validation(path, exc) from None


def load_details(path: Path, data: ResultsFile | dict[str, Any]) -> list[dict[str, Any]]:
    """The per-sample details rows of the results file at ``path`` (``data``: its content);
    [] when it records none. The one reader of details for a results file: where they are
    kept is known here only."""
    name = data.details_file if isinstance(data, ResultsFile) else data.get("details_file")
    if not name:
        return []
    source = Path(path).parent / Path(str(name)).name  # beside the results file, never elsewhere
    try:  # compact rows joined with the shared texts kept under the repository (records.details)
        return details_format.read_model_details(source, details_format.load_shared(Path(path).parents[3])).full_rows()
    except (OSError, EOFError, ValueError) as exc:
        raise ResultsError(f"unreadable details file {source.name}: {exc}", path=path, field="details_file") from None


def iter_results_files(root: Path) -> list[Path]:
    base = Path(root) / "results"
    if not base.is_dir():
        return []
    # os.walk, not Path.rglob: 4x faster over 10,000+ model folders.
    return sorted(
        Path(folder, name)
        for folder, _dirs, names in os.walk(base)
        for name in names
        if name.startswith("results_") and RESULTS_RE.match(name)
    )


def load_all_results(
    root: Path, *, paths: list[Path] | None = None, lm_eval_keys: Collection[str] | None = None
) -> tuple[list[tuple[Path, ResultsFile]], list[ResultsError]]:
    """Every readable results file (or those of ``paths``); broken ones come back as errors, never raised."""
    good: list[tuple[Path, ResultsFile]] = []
    bad: list[ResultsError] = []
    for path in iter_results_files(root) if paths is None else paths:
        try:
            good.append((path, load_results(path, lm_eval_keys)))
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
