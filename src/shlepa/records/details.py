"""Per-sample details in two parts: what a model did (per model) and the text (shared).

Format ``shlepa.details/2`` (see also docs/architecture.md, "Per-sample details"):

* **Model details** (``details_<stamp>.jsonl.gz``, one per evaluation, named by
  :func:`shlepa.records.keys.model_details_name`): gzip'd JSON Lines. Line 1 is a header
  ``{"schema": "shlepa.details/2", "shared": {task: version_hash}, "lm_eval": {...}}``
  (``lm_eval``: the parts of lm-eval's raw output that the results file on main does not
  keep, e.g. every task's config and the environment). Every other line is one sample
  with only what differs between models::

      {"benchmark": "arc", "task": "arc_challenge", "doc_id": 7, "s": 7,
       "response": [[-4.1, false], [-2.3, true], ...], "filter": "none",
       "metrics": {"acc": 1.0, "acc_norm": 1.0}, "generation": "..."}

  ``s`` is the position of the sample's text in its task's shared file; ``response`` is
  lm-eval's ``filtered_resps`` (per choice ``[log-likelihood, is_greedy]``; a generation's
  extracted answer); ``generation`` (generation tasks only) the model's raw text.
* **Shared text** (key :func:`shared_text_key` ``shared/<task>/<version_hash>.jsonl.gz``):
  the text every model of that task version sees, stored once. Line 1:
  ``{"schema": "shlepa.details.shared/2", "task": ..., "preambles": [...]}``; then one line
  per document, in the order the samples first name it::

      {"doc_id": 7, "pre": 3, "question": "Question: ...\\nAnswer:", "choices": [...],
       "target": 2, "doc": {...}}

  The prompt is ``preambles[pre] + "\\n\\n" + question`` (``pre`` -1: the question alone):
  a 5-shot MMLU subject repeats one preamble (lm-eval's ``first_n`` sampler), which is kept
  once. ``version_hash`` is the first 16 hex digits of the SHA-256 of the file's canonical
  JSON, so two models share a file exactly when their prompts, choices and targets are the
  same (same task version, few-shot draws and chat template); a different prompt is a
  different file, never an overwrite.

A details file without the header line is format 1 (full rows, as written before this
format): :func:`read_model_details` returns its rows unchanged, so old files keep working
until ``shlepa migrate`` converts them. Where the files live (beside the results, a
``details`` branch, a Hub dataset, a bucket) is the details store's business; this module
only turns rows into bytes and back.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shlepa.errors import ShlepaError
from shlepa.io import atomic
from shlepa.records.keys import shared_text_key

SCHEMA = "shlepa.details/2"
SHARED_SCHEMA = "shlepa.details.shared/2"
#: The fields of a full row that are the same for every model (they go to the shared text).
SHARED_FIELDS = ("prompt", "choices", "target", "doc")
#: Local folder (under the repository root) of the shared texts, until a details store is configured.
SHARED_DIR = "details"
#: The separator lm-eval puts between few-shot examples and the question.
FEWSHOT_SEP = "\n\n"


class DetailsError(ShlepaError, ValueError):
    """A details file is unreadable or does not match its shared text."""


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def split_prompt(prompt: Any) -> tuple[str, str]:
    """(preamble, question): the few-shot examples are what comes before the last blank line."""
    text = prompt if isinstance(prompt, str) else ("" if prompt is None else json.dumps(prompt, ensure_ascii=False))
    at = text.rfind(FEWSHOT_SEP)
    return ("", text) if at < 0 else (text[:at], text[at + len(FEWSHOT_SEP) :])


@dataclass
class SharedText:
    """The text of one task version: documents with their prompt (preamble indexed), choices, target."""

    task: str
    preambles: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def header(self) -> dict[str, Any]:
        return {"schema": SHARED_SCHEMA, "task": self.task, "preambles": self.preambles}

    @property
    def version_hash(self) -> str:
        digest = hashlib.sha256(_canonical(self.header()))
        for row in self.rows:
            digest.update(b"\n" + _canonical(row))
        return digest.hexdigest()[:16]

    @property
    def key(self) -> str:
        return shared_text_key(self.task, self.version_hash)

    def prompt(self, row: dict[str, Any]) -> str:
        pre = row.get("pre", -1)
        question = str(row.get("question") or "")
        return question if pre is None or pre < 0 else self.preambles[pre] + FEWSHOT_SEP + question

    def encode(self) -> bytes:
        return _gzip([self.header(), *self.rows])

    @classmethod
    def decode(cls, data: bytes, where: str | Path = "shared text") -> SharedText:
        lines = _gunzip(data, where)
        if not lines or lines[0].get("schema") != SHARED_SCHEMA:
            raise DetailsError(f"expected a {SHARED_SCHEMA!r} header line", path=where, field="schema")
        head = lines[0]
        return cls(task=str(head.get("task")), preambles=list(head.get("preambles") or []), rows=lines[1:])


@dataclass
class ModelDetails:
    """One evaluation's per-sample rows (compact) and the shared texts they point to."""

    rows: list[dict[str, Any]]
    shared: dict[str, SharedText]  # task -> its text
    lm_eval: dict[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "shared": {task: text.version_hash for task, text in self.shared.items()},
            "lm_eval": self.lm_eval,
        }

    def encode(self) -> bytes:
        return _gzip([self.header(), *self.rows])

    def full_rows(self) -> list[dict[str, Any]]:
        """The rows as the evaluation produced them (format 1): compact rows joined with their text."""
        return [join_row(row, self.shared.get(str(row.get("task")))) for row in self.rows]


def _gzip(lines: Iterable[dict[str, Any]]) -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in lines)
    # Level 6 (zlib's default): ~3x faster than gzip's 9 on ~80 MB of full-size shared text, ~2% larger.
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def _gunzip(data: bytes, where: str | Path) -> list[dict[str, Any]]:
    try:
        text = gzip.decompress(data).decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DetailsError(f"unreadable details: {exc}", path=where) from None


def compact(rows: Iterable[dict[str, Any]], lm_eval: dict[str, Any] | None = None) -> ModelDetails:
    """Full rows (``evaluation.run.detail_rows``) -> compact rows plus one shared text per task."""
    shared: dict[str, SharedText] = {}
    positions: dict[str, dict[str, int]] = {}
    preamble_ids: dict[str, dict[str, int]] = {}
    out = []
    for n, row in enumerate(rows):
        task = str(row.get("task") or row.get("benchmark") or "")
        text = shared.setdefault(task, SharedText(task))
        seen = positions.setdefault(task, {})
        doc_id = row.get("doc_id", n)
        # A document is one entry, however many filters scored it (GSM8K: two rows per document).
        entry = {"doc_id": doc_id}
        preamble, question = split_prompt(row.get("prompt"))
        if preamble:
            ids = preamble_ids.setdefault(task, {})
            if preamble not in ids:
                ids[preamble] = len(text.preambles)
                text.preambles.append(preamble)
            entry["pre"] = ids[preamble]
        else:
            entry["pre"] = -1
        entry.update(question=question, choices=row.get("choices") or [], target=row.get("target"))
        entry["doc"] = row.get("doc")
        ident = json.dumps([doc_id, question, entry["choices"], entry["target"]], default=str)
        if ident not in seen:
            seen[ident] = len(text.rows)
            text.rows.append(entry)
        small = {k: v for k, v in row.items() if k not in SHARED_FIELDS}
        small["s"] = seen[ident]
        out.append(small)
    return ModelDetails(out, shared, lm_eval or {})


def join_row(row: dict[str, Any], text: SharedText | None) -> dict[str, Any]:
    """One compact row with its text: the full row (``prompt``, ``choices``, ``target``, ``doc``)."""
    full = {k: v for k, v in row.items() if k != "s"}
    s = row.get("s")
    if text is not None and isinstance(s, int) and 0 <= s < len(text.rows):
        entry = text.rows[s]
        full.update(
            prompt=text.prompt(entry),
            choices=entry.get("choices") or [],
            target=entry.get("target"),
            doc=entry.get("doc"),
        )
    else:
        full.update(prompt="", choices=[], target=None, doc=None)
    return full


def decode_model_details(
    data: bytes, where: str | Path = "details"
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(header, rows) of a model details file; header None for format 1 (full rows, no header)."""
    lines = _gunzip(data, where)
    if lines and lines[0].get("schema") == SCHEMA:
        return lines[0], lines[1:]
    if lines and isinstance(lines[0].get("schema"), str) and "details" in lines[0]["schema"]:
        raise DetailsError(f"unknown details format {lines[0]['schema']!r}", path=where, field="schema")
    return None, lines


# -- files on a local disk (the repository, or a checkout of a branch store) ----------------
def shared_text_path(root: Path, key: str) -> Path:
    """Where a shared text lives on disk under ``root`` (a repository or a store's checkout)."""
    return Path(root) / SHARED_DIR / key


def write_model_details(path: Path, details: ModelDetails, shared_root: Path) -> list[str]:
    """Write the shared texts that are not there yet, then the model's file (all atomic).

    Returns the shared keys the file points to. Shared texts first: a crash leaves an
    unused shared file, never a model file whose text is missing. An existing shared file
    is never rewritten (its name is its content's hash).
    """
    keys = []
    for text in details.shared.values():
        target = shared_text_path(shared_root, text.key)
        if not target.exists():
            atomic.write_bytes(target, text.encode())
        keys.append(text.key)
    atomic.write_bytes(Path(path), details.encode())
    return keys


def load_shared(shared_root: Path) -> Callable[[str], bytes]:
    """A loader of shared texts by key from a folder (what :func:`read_model_details` needs)."""

    def get(key: str) -> bytes:
        target = shared_text_path(shared_root, key)
        try:
            return target.read_bytes()
        except OSError as exc:
            raise DetailsError(f"missing shared text {key}: {exc.strerror or exc}", path=target) from None

    return get


def read_model_details(
    data: bytes | Path, get_shared: Callable[[str], bytes], where: str | Path = "details"
) -> ModelDetails:
    """A model's details with their shared texts (``get_shared``: key -> bytes, from any store).

    Format 1 files come back as full rows with no shared text (``ModelDetails.full_rows``
    returns them as they are). A shared file whose content does not hash to its name is
    refused: the rows would be joined with the wrong prompts.
    """
    if isinstance(data, Path):
        where = data
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise DetailsError(f"unreadable details: {exc.strerror or exc}", path=where) from None
    header, rows = decode_model_details(data, where)
    if header is None:
        return _legacy(rows)
    shared = {}
    for task, version in (header.get("shared") or {}).items():
        key = shared_text_key(task, version)
        text = SharedText.decode(get_shared(key), key)
        if text.version_hash != version:
            raise DetailsError(f"shared text {key} does not match its hash", path=key)
        shared[task] = text
    return ModelDetails(rows, shared, header.get("lm_eval") or {})


class _Legacy(ModelDetails):
    def full_rows(self) -> list[dict[str, Any]]:
        return self.rows


def _legacy(rows: list[dict[str, Any]]) -> ModelDetails:
    return _Legacy(rows, {}, {})


def is_compact(data: bytes) -> bool:
    """Whether a details file is already format 2 (``shlepa migrate`` leaves those alone)."""
    try:
        with gzip.open(io.BytesIO(data), "rt", encoding="utf-8") as fh:
            first = json.loads(fh.readline() or "null")
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(first, dict) and first.get("schema") == SCHEMA


# -- the site's pages: what a browser fetches -----------------------------------------------
#: Documents per page of a shared text in the site (``details/shared/<task>/<hash>/<n>.json``).
SHARED_PAGE_ROWS = 20


def shared_pages(text: SharedText, page_rows: int = SHARED_PAGE_ROWS) -> dict[int, dict[str, Any]]:
    """A shared text in pages for the browser: ``{"preambles": [...], "rows": [...]}`` each, the
    preambles renumbered to those the page uses (``doc`` left out: the viewer never shows it)."""
    pages = {}
    for n in range(0, max(1, len(text.rows)), page_rows):
        used: dict[int, int] = {}
        rows = []
        for entry in text.rows[n : n + page_rows]:
            pre = entry.get("pre", -1)
            if pre is not None and pre >= 0:
                pre = used.setdefault(pre, len(used))
            rows.append({"doc_id": entry.get("doc_id"), "pre": pre, "question": entry.get("question"),
                         "choices": entry.get("choices"), "target": entry.get("target")})  # fmt: skip
        pages[n // page_rows] = {"preambles": [text.preambles[i] for i in used], "rows": rows}
    return pages
