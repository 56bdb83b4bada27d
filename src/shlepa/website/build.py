"""``shlepa build``: requests + results -> data files, generated pages, a MkDocs Material site.

MkDocs renders the hand-written pages (``site/pages``) and a handful of generated
ones (leaderboard, charts, queue, about, and one *shell* model page). Rendering
10,000 Markdown pages through MkDocs would take minutes, so the per-model pages are
rendered here with Jinja2 into the HTML of that shell page: they look like the rest
of the site, live at stable URLs (``models/<org>/<name>/<sha12>_<precision>_<suite>/``)
and stay out of the nav, so the build is linear in the number of models.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..clidoc import cli_reference_markdown
from ..leaderboard import Board, load_board
from ..request import Request
from ..results import ResultsFile
from .curves import write_curves
from .render import Renderer, json_for_html, page_id

log = logging.getLogger(__name__)

WORK_DIR = Path(".shlepa") / "site"
SHELL_DIR = "models/_shell/page/view"  # same depth as models/<org>/<name>/<leaf>/
SHELL_MARKER = "SHLEPA_MODEL_CONTENT"
SHELL_TITLE = "SHLEPA_MODEL_TITLE"
DETAILS_PAGE_ROWS = 25
NAV_FALLBACK_PAGES = {
    "submit.md": "# Submit a model\n\n!!! note\n    The submission guide is not part of this build yet: "
    "the page `site/pages/submit.md` does not exist in this repository.\n",
}


class BuildError(RuntimeError):
    """Nothing could be built (no suite, broken theme, ...)."""


@dataclass
class BuildReport:
    out: Path
    models: int
    model_pages: int
    details_models: int
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def repo_site_dir(root: Path) -> Path:
    return Path(root) / "site"


def _copy_tree(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _clean(value: Any) -> Any:
    """JSON-safe plain values (pandas gives NaN for missing numbers)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None or value != value else round(float(value), digits)


def leaderboard_data(board: Board) -> dict[str, Any]:
    """The one data file the leaderboard, the charts and the downloads read."""
    suites = {
        name: {
            "title": s.title,
            "benchmarks": [{"key": b.key, "title": b.title, "baseline": b.baseline} for b in s.benchmarks],
        }
        for name, s in board.suites.items()
    }
    rows = []
    for r in board.rows.to_dict("records") if not board.rows.empty else []:
        r = _clean(r)
        rows.append({
            "id": r["id"], "rank": r["rank"], "suite": r["suite"], "model": r["model"], "page": r["page"],
            "type": r["model_type"], "weight_type": r["weight_type"], "precision": r["precision"],
            "license": r["license"], "params": r["params"], "arch": r["architecture"],
            "sha": r["revision"], "submitted": (r["submitted_at"] or "")[:10], "evaluated": r["evaluated_at"][:10],
            "average": _round(r["average"]), "average_norm": _round(r["average_normalized"]),
            "scores": {k: _round(v) for k, v in r["scores"].items()},
            "norm": {k: _round(v) for k, v in r["normalized"].items()},
            "missing": r["missing"], "moe": r["moe"], "merged": r["merged"], "available": r["available"],
            "flag": ({"reason": r["flag_reason"], "url": r["flag_url"]} if r["flag_reason"] else None),
        })
    default = "open_llm_v1" if "open_llm_v1" in suites else (next(iter(suites), None))
    return {"schema": "shlepa.leaderboard/1", "default_suite": default, "suites": suites, "rows": rows}


def leaderboard_csv(data: dict[str, Any]) -> str:
    """Every row of every suite as CSV (the 'download everything' file)."""
    keys = sorted({k for s in data["suites"].values() for k in (b["key"] for b in s["benchmarks"])})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["rank", "suite", "model", "type", "precision", "weight_type", "params", "license", "architecture",
                "sha", "submitted", "average", *keys, "flagged"])
    for r in data["rows"]:
        w.writerow([r["rank"], r["suite"], r["model"], r["type"], r["precision"], r["weight_type"], r["params"],
                    r["license"], r["arch"], r["sha"], r["submitted"], r["average"],
                    *[r["scores"].get(k) for k in keys], "yes" if r["flag"] else ""])
    return buf.getvalue()


def _requests_by_key(board: Board) -> dict[str, Request]:
    return {req.key: req for _path, req in board.requests}


def split_details(res_path: Path, res: ResultsFile, dest: Path) -> dict[str, Any] | None:
    """Page a results file's details into ``dest/<benchmark>-<n>.json``; None when there are none."""
    if not res.details_file:
        return None
    src = res_path.parent / res.details_file
    try:
        if src.stat().st_size < 64:  # an empty gzip stream: the evaluation logged no samples
            return None
        with gzip.open(src, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable details: %s", src, exc)
        return None
    if not rows:
        return None
    by_bench: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_bench[str(row.get("benchmark"))].append({
            "doc_id": row.get("doc_id"), "task": row.get("task"), "prompt": row.get("prompt"),
            "choices": row.get("choices"), "target": row.get("target"), "response": row.get("response"),
            "metrics": row.get("metrics"),
        })
    dest.mkdir(parents=True, exist_ok=True)
    index = {}
    for bench, items in by_bench.items():
        pages = [items[i:i + DETAILS_PAGE_ROWS] for i in range(0, len(items), DETAILS_PAGE_ROWS)]
        for n, chunk in enumerate(pages):
            (dest / f"{bench}-{n}.json").write_text(json.dumps(chunk, ensure_ascii=False), encoding="utf-8")
        index[bench] = {"rows": len(items), "pages": len(pages)}
    return index


def _nav_filtered(nav: list[Any], docs: Path) -> list[Any]:
    kept = []
    for item in nav:
        if isinstance(item, dict):
            (title, target), = item.items()
            if isinstance(target, list):
                sub = _nav_filtered(target, docs)
                if sub:
                    kept.append({title: sub})
            elif isinstance(target, str) and (target.startswith(("http://", "https://")) or (docs / target).is_file()):
                kept.append(item)
        elif isinstance(item, str) and (docs / item).is_file():
            kept.append(item)
    return kept


def run_mkdocs(root: Path, docs: Path, out: Path) -> None:
    """MkDocs Material over the work folder, with nav entries of missing pages dropped."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    config_file = Path(root) / "mkdocs.yml"
    if not config_file.is_file():
        raise BuildError(f"{config_file}: missing; the site needs mkdocs.yml at the repository root")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    cfg = load_config(config_file=str(config_file), docs_dir=str(docs), site_dir=str(out))
    cfg["nav"] = _nav_filtered(cfg["nav"] or [], docs)
    mkdocs_build(cfg)


_BLANK_RUN = re.compile(r"[ \t]*\n\s*")


def _squeeze(html: str) -> str:
    """Collapse whitespace runs that contain a newline (the shell has no <pre>): 10,000 copies add up."""
    return _BLANK_RUN.sub("\n", html)


def _shell_parts(out: Path) -> tuple[str, str]:
    shell = out / SHELL_DIR / "index.html"
    html = _squeeze(shell.read_text(encoding="utf-8"))
    if "<pre" in html or "<textarea" in html:
        raise BuildError(f"{shell}: the model shell page must not contain <pre> or <textarea>")
    marker = f"<p>{SHELL_MARKER}</p>"
    if marker not in html:
        raise BuildError(f"{shell}: model shell page lost its content marker")
    before, after = html.split(marker, 1)
    return before, after


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    work: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build the whole site under ``out`` (default ``<root>/_site``)."""
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    root = Path(root).resolve()
    out = Path(out or root / "_site").resolve()
    work = Path(work or root / WORK_DIR).resolve()
    docs = work / "docs"

    board = load_board(root)
    timings["load"] = time.perf_counter() - t0
    if not board.suites:
        raise BuildError(f"{root / 'eval' / 'suites'}: no usable suite; nothing to build")
    say(f"loaded {len(board.rows)} evaluation(s), {len(board.requests)} request(s)")

    t = time.perf_counter()
    if work.exists():
        shutil.rmtree(work)
    docs.mkdir(parents=True)
    site_src = repo_site_dir(root)
    _copy_tree(site_src / "pages", docs)
    _copy_tree(site_src / "assets", docs / "assets")
    for name, text in NAV_FALLBACK_PAGES.items():
        if not (docs / name).exists():
            (docs / name).write_text(text, encoding="utf-8")
    (docs / "cli.md").write_text(cli_reference_markdown(), encoding="utf-8")

    renderer = Renderer(board)
    data = leaderboard_data(board)
    (docs / "data").mkdir(exist_ok=True)
    (docs / "data" / "leaderboard.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                                                   encoding="utf-8")
    (docs / "data" / "leaderboard.csv").write_text(leaderboard_csv(data), encoding="utf-8")
    renderer.write_pages(docs, data)
    write_curves(docs, board, renderer)
    (docs / "data" / "citations").mkdir()
    for name, suite in board.suites.items():
        (docs / "data" / "citations" / f"{name}.txt").write_text(renderer.citations(suite), encoding="utf-8")
    shell_md = docs / f"{SHELL_DIR}.md"
    shell_md.parent.mkdir(parents=True, exist_ok=True)
    shell_md.write_text(renderer.shell_markdown(SHELL_TITLE, SHELL_MARKER), encoding="utf-8")
    timings["generate"] = time.perf_counter() - t

    t = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    run_mkdocs(root, docs, out)
    timings["mkdocs"] = time.perf_counter() - t

    t = time.perf_counter()
    before, after = _shell_parts(out)
    shutil.rmtree(out / "models" / "_shell")
    requests = _requests_by_key(board)
    evaluations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in data["rows"]:
        evaluations[r["model"]].append(r)
    results_by_key = {res.key: (path, res) for path, res in board.results.values()}
    pages = details_models = 0
    for r in data["rows"]:
        key = f"{r['model']}@{r['sha']}@{r['precision']}@{r['suite']}"
        path, res = results_by_key[key]
        folder = out / r["page"]
        folder.mkdir(parents=True, exist_ok=True)
        details_index = split_details(path, res, folder / "details")
        details_models += details_index is not None
        content = renderer.model_page(r, res, requests.get(key), evaluations[r["model"]], details_index)
        title = renderer.escape(f"{r['model']} ({r['precision']}, {r['sha'][:12]})")
        html = before.replace(SHELL_TITLE, title) + content + after.replace(SHELL_TITLE, title)
        (folder / "index.html").write_text(html, encoding="utf-8")
        pages += 1
    timings["model_pages"] = time.perf_counter() - t
    say(f"rendered {pages} model page(s), details for {details_models}")

    return BuildReport(
        out=out, models=len(data["rows"]), model_pages=pages, details_models=details_models,
        skipped=list(board.errors), seconds=time.perf_counter() - t0, bytes=_dir_size(out), timings=timings,
    )


__all__ = ["BuildError", "BuildReport", "build_site", "json_for_html", "leaderboard_data", "page_id"]
