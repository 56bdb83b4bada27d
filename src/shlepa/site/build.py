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
import functools
import gc
import gzip
import importlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from shlepa.config import BranchStoreSettings, DetailsSettings, load_settings
from shlepa.details import StoreError, public_base
from shlepa.details.branch import SITE_FOLDER, BranchStore
from shlepa.env import environment
from shlepa.errors import ShlepaError
from shlepa.records import details as details_format
from shlepa.records.keys import details_key, shared_text_key, shared_text_page, short_sha
from shlepa.records.request import Request
from shlepa.records.results import ResultsFile
from shlepa.records.scores import finite
from shlepa.records.suite import KEY_RE
from shlepa.site.board import Board, load_board
from shlepa.site.curves import write_curves
from shlepa.site.meta import (
    DATA_CSV,
    DATA_FILE,
    DETAILS_INDEX,
    DETAILS_META,
    DETAILS_PAGE,
    details_meta,
    metric_title,
    site_meta,
    task_title,
)
from shlepa.site.render import Renderer, json_for_html
from shlepa.site.submit_data import SUBMIT_DATA, submit_form_data

log = logging.getLogger(__name__)

WORK_DIR = Path(".shlepa") / "site"
SHELL_DIR = "models/_shell/page/view"  # same depth as models/<org>/<name>/<leaf>/
SHELL_MARKER = "SHLEPA_MODEL_CONTENT"
SHELL_TITLE = "SHLEPA_MODEL_TITLE"
MODEL_PAGE_ROOT = "../../../../"  # from models/<org>/<name>/<leaf>/ back to the site root
DETAILS_PAGE_ROWS = 20
PARALLEL_FROM = 2000  # models; below this, forking costs more than it saves
WRITER_THREADS = 4  # per process writing model pages
NAV_FALLBACK_PAGES = {
    "submit.md": "# Submit a model\n\n!!! note\n    The submission guide is not part of this build yet: "
    "the page `site/pages/submit.md` does not exist in this repository.\n",
}


class BuildError(ShlepaError, RuntimeError):
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
    total = 0
    for folder, _dirs, files in os.walk(path):
        total += sum(os.stat(os.path.join(folder, f)).st_size for f in files)
    return total


def _round(value: Any, digits: int = 2) -> float | None:
    x = finite(value)
    return None if x is None else round(x, digits)


def default_suite(board: Board) -> str | None:
    return "open_llm_v1" if "open_llm_v1" in board.suites else next(iter(board.suites), None)


def suite_order(board: Board) -> list[str]:
    """The suites as the site lists them: the default first, then by name."""
    default = default_suite(board)
    return sorted(board.suites, key=lambda name: (name != default, name))


def demo_info(board: Board) -> dict[str, Any] | None:
    """What makes this a demo board, from the results themselves: evaluations on the bundled
    mini edition and/or on the first ``limit`` items of each task. None for a real board."""
    if not board.rows:
        return None
    limits = sorted({int(v) for r in board.rows if finite(v := r["limit"]) is not None})
    bundled = any(r["data"] == "bundled" for r in board.rows)
    if not limits and not bundled:
        return None
    return {"limit": limits[-1] if limits else None, "bundled": bundled}


def demo_banner(info: dict[str, Any] | None) -> str | None:
    """The line every page of a demo board shows (plain text; the template escapes it)."""
    if not info:
        return None
    items = f"on {info['limit']} items per task" if info["limit"] else "on a sample of each task"
    data = ", from the bundled offline mini edition of the benchmarks" if info["bundled"] else ""
    return (
        f"Demo board: the models here were evaluated {items}{data}. "
        "The scores show how the site works, not how good the models are."
    )


def leaderboard_data(board: Board, details_store: dict[str, str] | None = None) -> dict[str, Any]:
    """The one data file the leaderboard, the charts and the downloads read."""
    suites = {}
    for name in suite_order(board):
        s = board.suites[name]
        suites[name] = {
            "title": s.title,
            "benchmarks": [
                {
                    "key": b.key,
                    "title": b.title,
                    "baseline": b.baseline if b.normalizes else None,
                    "metric": b.metric,
                    "num_fewshot": b.num_fewshot,
                    "higher_is_better": b.higher_is_better,
                    "in_average": b.in_average,
                    "unit": b.unit,
                }
                for b in s.benchmarks
            ],
            "average_keys": s.average_keys,
        }
    rows = []
    for r in board.rows:
        # A NaN a results file carried (its params, say) becomes null, not JSON's invalid NaN literal.
        r = {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
        step = r["checkpoint_step"]
        rows.append(
            {
                "id": r["id"],
                "rank": r["rank"],
                "rank_norm": r["rank_norm"],
                "suite": r["suite"],
                "model": r["model"],
                "page": r["page"],
                "type": r["model_type"],
                "weight_type": r["weight_type"],
                "precision": r["precision"],
                "license": r["license"],
                "params": r["params"],
                "arch": r["architecture"],
                "sha": r["revision"],
                "submitted": (r["submitted_at"] or "")[:10],
                "evaluated": r["evaluated_at"][:10],
                "series": r["checkpoint_series"],
                "step": None if step is None else int(step),
                "local": r["local"],
                "average": _round(r["average"]),
                "average_norm": _round(r["average_normalized"]),
                "scores": {k: _round(v) for k, v in r["scores"].items()},
                "norm": {k: _round(v) for k, v in r["normalized"].items()},
                "missing": r["missing"],
                "moe": r["moe"],
                "merged": r["merged"],
                "available": r["available"],
                "flag": ({"reason": r["flag_reason"], "url": r["flag_url"]} if r["flag_reason"] else None),
                "harness": (
                    {"version": r["lm_eval"], "pinned": board.suites[r["suite"]].lm_eval_version}
                    if r["harness_other"]
                    else None
                ),
            }
        )
    return {
        "schema": "shlepa.site.board/1",
        "meta": site_meta(details_store),
        "default_suite": default_suite(board),
        "suites": suites,
        "demo": demo_info(board),
        "rows": rows,
    }


#: A text cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), @SUM, a tab):
#: it gets a leading ' there, as the client-side CSV export does (site/assets/js/lib/format.js csvCell).
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A free-text value as a spreadsheet shows it, never runs it."""
    return "'" + value if isinstance(value, str) and value.startswith(CSV_FORMULA_START) else value


def leaderboard_csv(data: dict[str, Any]) -> str:
    """Every row of every suite as CSV (the 'download everything' file): the build's ranks and averages."""
    keys = sorted({k for s in data["suites"].values() for k in (b["key"] for b in s["benchmarks"])})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "rank",
            "suite",
            "model",
            "step",
            "type",
            "precision",
            "weight_type",
            "params",
            "license",
            "architecture",
            "sha",
            "submitted",
            "average",
            "rank_normalized",
            "average_normalized",
            *keys,
            "flagged",
        ]
    )
    for r in data["rows"]:
        w.writerow(
            csv_safe(cell)
            for cell in [
                r["rank"],
                r["suite"],
                r["model"],
                r["step"],
                r["type"],
                r["precision"],
                r["weight_type"],
                r["params"],
                r["license"],
                r["arch"],
                r["sha"],
                r["submitted"],
                r["average"],
                r["rank_norm"],
                r["average_norm"],
                *[r["scores"].get(k) for k in keys],
                "yes" if r["flag"] else "",
            ]
        )
    return buf.getvalue()


def _requests_by_key(board: Board) -> dict[str, Request]:
    return {req.key: req for _path, req in board.requests}


def _right(value: Any) -> str:
    """A row's main metric as one character of the details index: 1 right, 0 wrong, - not a 0/1 score."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)) and value in (0, 1):
        return "1" if value == 1 else "0"
    return "-"


def store_key(res_path: Path, res: ResultsFile) -> str | None:
    """The details store key of a result whose details are in the store (named by sha256, no
    longer beside the results file on main); None for details beside it, or none at all."""
    if not res.details_sha256 or (res.details_file and (res_path.parent / res.details_file).is_file()):
        return None
    return details_key(res.details_sha256)


_SHARED_PAGES: dict[str, dict[str, str]] = {}  # shared text key -> its site pages, once per build and process


def _shared_page_files(
    key: str, task: str, text: details_format.SharedText | Callable[[], details_format.SharedText]
) -> dict[str, str]:
    """The site pages of one shared text, made once per build: every model of a task version
    names the same text (it is content-addressed), so decoding it again per model (10,000
    times at 10,000 models) would only repeat the work."""
    if key not in _SHARED_PAGES:
        loaded = text if isinstance(text, details_format.SharedText) else text()  # read only when needed
        _SHARED_PAGES[key] = {
            shared_text_page(task, loaded.version_hash, n): json.dumps(page, ensure_ascii=False)
            for n, page in details_format.shared_pages(loaded).items()
        }
    return _SHARED_PAGES[key]


def _decode_shared(get: Callable[[str], bytes], key: str) -> details_format.SharedText:
    return details_format.SharedText.decode(get(key), key)


def stored_shared_pages(res: ResultsFile, shared_root: Path | None) -> dict[str, str]:
    """The shared text pages a result whose details are in the store needs (its ``task_hashes``),
    read from the repository's shared texts: the viewer joins the store's compact rows with them."""
    hashes = getattr(res, "task_hashes", None)
    if shared_root is None or not isinstance(hashes, dict):
        return {}
    get = details_format.load_shared(shared_root)
    files: dict[str, str] = {}
    for task, version in hashes.items():
        try:
            key = shared_text_key(str(task), str(version))
            files.update(_shared_page_files(key, str(task), functools.partial(_decode_shared, get, key)))
        except ValueError as exc:  # a missing or odd shared text: the viewer says the text is unavailable
            log.warning("shared text of task %.40r for %s skipped: %s", task, res.key, exc)
    return files


def split_details(
    res_path: Path, res: ResultsFile, suite: Any = None, shared_root: Path | None = None
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A results file's details in pages: (index, {"<benchmark>-<n>.json": text, "index.json": text,
    "shared/<task>/<hash>/<n>.json": text}); None when there are none.

    The index goes into the model page (per benchmark: title, rows, pages, metric names as
    people read them); ``index.json`` holds, per row, its task (run-length encoded: rows come
    grouped by task) and whether the model was right, so the viewer can filter without
    loading every page. A page holds compact rows (``records.details``) and the shared text
    keys of its tasks; the shared text pages (the same for every model of a task version) are
    written once under the site's ``details/shared/`` (``shared_root``: where the repository
    keeps the shared texts; a format-1 file is compacted on the fly).
    """
    if not res.details_file:
        return None
    src = res_path.parent / res.details_file
    if store_key(res_path, res) is not None:  # in the details store: the browser reads it there
        return None
    try:
        loaded = details_format.read_model_details(src, details_format.load_shared(shared_root or res_path.parents[3]))
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable details: %s", src, exc)
        return None
    if not loaded.rows:
        return None
    if not loaded.shared:  # format 1: full rows
        loaded = details_format.compact(loaded.rows)
    benches = {b.key: b for b in suite.benchmarks} if suite is not None else {}
    by_bench: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in loaded.rows:
        bench = str(row.get("benchmark"))
        if not KEY_RE.match(bench):  # it becomes a file name: never a path (../../x) or odd text
            log.warning("%s: details row with benchmark %.40r skipped (not a benchmark key)", src, bench)
            continue
        by_bench[bench].append({k: v for k, v in row.items() if k != "benchmark"})
    versions: dict[str, str] = {}
    files: dict[str, str] = {}
    for task, text in loaded.shared.items():
        try:
            versions[task] = text.version_hash
            files.update(_shared_page_files(shared_text_key(task, text.version_hash), task, text))
        except ValueError as exc:  # a task name that is no plain name never becomes a path
            log.warning("%s: shared text of task %.40r skipped: %s", src, task, exc)
    index: dict[str, Any] = {}
    rows_index: dict[str, Any] = {}
    for bench, items in by_bench.items():
        pages = [items[i : i + DETAILS_PAGE_ROWS] for i in range(0, len(items), DETAILS_PAGE_ROWS)]
        for n, chunk in enumerate(pages):
            tasks = {str(it.get("task")) for it in chunk}
            page = {"shared": {t: versions[t] for t in sorted(tasks) if t in versions}, "rows": chunk}
            files[DETAILS_PAGE.format(bench=bench, page=n)] = json.dumps(page, ensure_ascii=False)
        b = benches.get(bench)
        names: dict[str, None] = {}
        for it in items:
            names.update(dict.fromkeys(it.get("metrics") or {}))
        metric = b.metric if b is not None else next(iter(names), None)
        task_ids: dict[str, int] = {}
        runs: list[list[int]] = []
        for it in items:
            t = task_ids.setdefault(str(it.get("task")), len(task_ids))
            if runs and runs[-1][0] == t:
                runs[-1][1] += 1
            else:
                runs.append([t, 1])
        binary = [m for m in names if all(_right((it.get("metrics") or {}).get(m)) != "-" for it in items)]
        index[bench] = {
            "title": b.title if b is not None else bench,
            "rows": len(items),
            "pages": len(pages),
            "page_rows": DETAILS_PAGE_ROWS,
            "metric": metric,
            "metric_titles": {m: metric_title(m) for m in names},
            "binary_metrics": binary,
        }
        rows_index[bench] = {
            "tasks": [[t, task_title(t)] for t in task_ids],
            "task_runs": runs,
            "right": "".join(_right((it.get("metrics") or {}).get(metric)) for it in items),
        }
    files[DETAILS_INDEX] = json.dumps(rows_index, ensure_ascii=False, separators=(",", ":"))
    return index, files


_MADE: set[str] = set()  # folders this process created (or found) during the current build


def _ensure_dir(folder: str) -> None:
    """``os.makedirs`` without its existence checks: one mkdir per new folder."""
    if folder in _MADE:
        return
    parent = os.path.dirname(folder)
    if parent not in _MADE and not os.path.isdir(parent):
        _ensure_dir(parent)
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    _MADE.add(folder)


_SHARED_DONE: set[str] = set()  # shared text pages this process wrote (or found) during the current build


def _write_shared(out: Path, name: str, text: str) -> None:
    """A shared text page, once per site: the first model that needs it writes it (by a rename,
    so a forked worker writing the same page at the same time leaves one whole file)."""
    if name in _SHARED_DONE:
        return
    _SHARED_DONE.add(name)
    target = out / "details" / name
    if target.exists():
        return
    _ensure_dir(str(target.parent))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, target)


def _write_page(folder: Path, html: str, details: dict[str, str], out: Path | None = None) -> None:
    _ensure_dir(str(folder))
    with open(folder / "index.html", "w", encoding="utf-8") as fh:
        fh.write(html)
    own = False
    for name, text in details.items():
        if name.startswith("shared/"):
            _write_shared(out or folder, name, text)
            continue
        if not own:  # a model whose details are in the store needs shared pages only: no folder
            os.mkdir(folder / "details")
            own = True
        with open(folder / "details" / name, "w", encoding="utf-8") as fh:
            fh.write(text)


def _nav_filtered(nav: list[Any], docs: Path) -> list[Any]:
    kept: list[Any] = []
    for item in nav:
        if isinstance(item, dict):
            ((title, target),) = item.items()
            if isinstance(target, list):
                sub = _nav_filtered(target, docs)
                if sub:
                    kept.append({title: sub})
            elif isinstance(target, str) and (target.startswith(("http://", "https://")) or (docs / target).is_file()):
                kept.append(item)
        elif isinstance(item, str) and (docs / item).is_file():
            kept.append(item)
    return kept


class Engine(StrEnum):
    """The generator that renders mkdocs.yml's pages with Material: MkDocs 1.6 (in maintenance),
    ProperDocs (a maintained fork of MkDocs 1.6, the same API) or Zensical (Material's authors'
    successor; it reads mkdocs.yml, runs no MkDocs plugins, and is driven through its CLI)."""

    mkdocs = "mkdocs"
    properdocs = "properdocs"
    zensical = "zensical"


def _mkdocs_config(root: Path) -> Path:
    config_file = Path(root) / "mkdocs.yml"
    if not config_file.is_file():
        raise BuildError("missing; the site needs mkdocs.yml at the repository root", path=config_file)
    return config_file


def run_mkdocs(
    root: Path, docs: Path, out: Path, banner: str | None, engine: Engine, site_url: str | None = None
) -> None:
    """Material over the work folder with ``engine``, nav entries of missing pages dropped;
    ``banner``: a line every page shows above the header (site/overrides/main.html).

    ``site_url`` (leaderboard.yaml's ``site.url``, unless mkdocs.yml names one): the 404 page,
    which GitHub Pages serves at any depth, links site-absolute from its path; without it
    those links start at the host's root, outside a project site (``https://OWNER.github.io/NAME/``).
    """
    config_file = _mkdocs_config(root)
    if engine == Engine.zensical:
        _run_zensical(root, config_file, docs, out, banner, site_url)
        return
    mkdocs_loaded = sys.modules.get("mkdocs") is not None and sys.modules.get("mkdocs") is not sys.modules.get(
        "properdocs"
    )
    if engine == Engine.properdocs and mkdocs_loaded and "material.plugins.search.plugin" in sys.modules:
        # Material's plugins, once imported for MkDocs itself, subclass mkdocs' BasePlugin for good.
        raise BuildError(
            "engine properdocs: Material was already loaded for MkDocs in this process; "
            "run `shlepa build --engine properdocs` in a process of its own",
            field="engine",
        )
    try:
        if engine == Engine.properdocs:
            # Material imports mkdocs.*: this redirects those imports to properdocs.* (its own shim).
            importlib.import_module("properdocs.replacement")
        build_module = importlib.import_module(f"{engine}.commands.build")
        config_module = importlib.import_module(f"{engine}.config")
    except ImportError as exc:
        raise BuildError(f"engine {engine}: not installed ({exc}); pip install {engine}", field="engine") from None
    logging.getLogger(str(engine)).setLevel(logging.WARNING)
    mkdocs_build, load_config = build_module.build, config_module.load_config
    cfg = load_config(config_file=str(config_file), docs_dir=str(docs), site_dir=str(out))
    cfg["nav"] = _nav_filtered(cfg["nav"] or [], docs)
    cfg["extra"]["shlepa_banner"] = banner
    if site_url and not cfg["site_url"]:
        cfg["site_url"] = site_url
    mkdocs_build(cfg)


def _run_zensical(
    root: Path, config_file: Path, docs: Path, out: Path, banner: str | None, site_url: str | None
) -> None:
    """``zensical build`` over a copy of mkdocs.yml written beside ``docs`` (Zensical keeps the
    output inside the config's folder, so it builds there and the result moves to ``out``)."""
    import subprocess

    import yaml

    exe = shutil.which("zensical") or str(Path(sys.executable).parent / "zensical")
    if not Path(exe).exists():
        raise BuildError("engine zensical: not installed; pip install zensical", field="engine")
    cfg = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    work = docs.parent
    cfg["docs_dir"] = docs.name
    cfg["site_dir"] = "zensical-site"
    cfg.setdefault("theme", {})
    if cfg["theme"].get("custom_dir"):
        cfg["theme"]["custom_dir"] = str((Path(root) / cfg["theme"]["custom_dir"]).resolve())
    cfg["nav"] = _as_folders(_nav_filtered(cfg.get("nav") or [], docs), _pages_into_folders(docs))
    cfg.setdefault("extra", {})["shlepa_banner"] = banner
    if site_url and not cfg.get("site_url"):
        cfg["site_url"] = site_url
    generated = work / "zensical.yml"
    generated.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    built = work / "zensical-site"
    shutil.rmtree(built, ignore_errors=True)
    proc = subprocess.run([exe, "build", "-f", str(generated)], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0 or not (built / "index.html").is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise BuildError(f"engine zensical failed (exit {proc.returncode}): {' | '.join(tail)}", path=generated)
    for item in built.iterdir():
        item.rename(out / item.name)
    built.rmdir()


def _pages_into_folders(docs: Path) -> dict[str, str]:
    """Move each top-level ``X.md`` to ``X/index.md`` (same URL, ``X/``); returns old -> new names.

    The pages' relative links are written for the page's URL (``faq/`` links ``../submit/``),
    which MkDocs leaves as they are; Zensical resolves them from the source file instead
    (``faq.md`` sits one folder higher than ``faq/``). With each source in its URL's folder
    the two agree, and every link means the same in both.
    """
    moved = {}
    for page in sorted(docs.glob("*.md")):
        if page.name == "index.md":
            continue
        target = docs / page.stem / "index.md"
        target.parent.mkdir(exist_ok=True)
        page.rename(target)
        moved[page.name] = f"{page.stem}/index.md"
    return moved


def _as_folders(nav: list[Any], moved: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for item in nav:
        if isinstance(item, dict):
            out.append({k: _as_folders(v, moved) if isinstance(v, list) else moved.get(v, v) for k, v in item.items()})
        else:
            out.append(moved.get(item, item))
    return out


_BLANK_RUN = re.compile(r"[ \t]*\n\s*")


def _squeeze(html: str) -> str:
    """Collapse whitespace runs that contain a newline (the shell has no <pre>): 10,000 copies add up."""
    return _BLANK_RUN.sub("\n", html)


SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
SEARCH_DIALOG_JS = "assets/js/material/search-dialog.js"
_DRAWER_BUTTON = re.compile(r'<label class="md-header__button md-icon" for="__drawer">.*?</label>\n?', re.S)
_DIV = re.compile(r"<div\b|</div>")
_BUNDLE = re.compile(r'<script src="([^"]*)assets/javascripts/bundle\.')


def _cut_div(html: str, start: str) -> tuple[str, str]:
    """``html`` without the <div> that begins with ``start`` (nested divs included), and that div."""
    i = html.index(start)
    depth = 0
    for m in _DIV.finditer(html, i):
        depth += -1 if m.group() == "</div>" else 1
        if depth == 0:
            return html[:i] + html[m.end() :], html[i : m.end()]
    raise ValueError("unclosed <div>")


def _slim_shell(html: str, out: Path) -> str:
    """The model pages' chrome without what each of 10,000+ copies need not carry: the search
    dialog's markup (~1.6 KB) moves into a script that puts it back before Material's bundle
    runs (same header, search works), and the drawer button goes (model pages have no drawer)."""
    html = _DRAWER_BUTTON.sub("", html, count=1)
    bundle = _BUNDLE.search(html)
    if SEARCH_DIALOG not in html or not bundle:
        return html
    html, dialog = _cut_div(html, SEARCH_DIALOG)
    (out / SEARCH_DIALOG_JS).write_text(
        "/* Written by `shlepa build` (shlepa.site.build._slim_shell): Material's search dialog, which the\n"
        " * model pages add here instead of carrying its markup. Runs before Material's bundle. */\n"
        "(function () {\n"
        "  var button = document.querySelector('.md-header label[for=\"__search\"]');\n"
        f'  if (button) button.insertAdjacentHTML("afterend", {json.dumps(dialog)});\n'
        "})();\n",
        encoding="utf-8",
    )
    at = bundle.start()
    return html[:at] + f'<script src="{bundle.group(1)}{SEARCH_DIALOG_JS}"></script>\n' + html[at:]


_CANONICAL = re.compile(r'<link rel="canonical" href="[^"]*">\n?')


def _shell_parts(out: Path) -> tuple[str, str]:
    shell = out / SHELL_DIR / "index.html"
    # With a site_url the theme names the shell's own address as canonical: 10,000 model
    # pages would each claim to be the shell. A page without one is its own.
    html = _CANONICAL.sub("", _slim_shell(_squeeze(shell.read_text(encoding="utf-8")), out), count=1)
    if "<pre" in html or "<textarea" in html:
        raise BuildError("the model shell page must not contain <pre> or <textarea>", path=shell)
    marker = f"<p>{SHELL_MARKER}</p>"
    if marker not in html:
        raise BuildError("model shell page lost its content marker", path=shell)
    before, after = html.split(marker, 1)
    return before, after


@dataclass
class _Pages:
    """What every model page needs; shared with forked workers by copy-on-write memory."""

    board: Board
    data: dict[str, Any]
    renderer: Renderer
    out: Path
    before: str
    after: str
    requests: dict[str, Request]
    evaluations: dict[str, list[dict[str, Any]]]
    results: dict[str, tuple[Path, ResultsFile]]
    details_base: str = SITE_FOLDER  # the store's public base URL (site-relative for the branch store)
    root: Path | None = None  # the repository: where its shared details texts are

    def write(self, rows: list[dict[str, Any]]) -> tuple[int, int]:
        """Render here, write from threads: creating ~3 folders per page is file-system
        latency more than CPU, and threads overlap it with the rendering."""
        pages = details_models = 0
        _MADE.clear()
        _MADE.add(str(self.out))
        _SHARED_DONE.clear()
        _SHARED_PAGES.clear()
        with ThreadPoolExecutor(WRITER_THREADS) as writers:
            pending: list[Future] = []
            for r in rows:
                key = f"{r['model']}@{r['sha']}@{r['precision']}@{r['suite']}"
                path, res = self.results[key]
                in_store = store_key(path, res)  # one stat per model: 10,000 at 10,000 models
                details = None if in_store else split_details(path, res, self.board.suites.get(r["suite"]), self.root)
                url = None
                files = details[1] if details else {}
                if in_store is not None:
                    absolute = self.details_base.startswith(("http://", "https://"))
                    url = (self.details_base if absolute else MODEL_PAGE_ROOT + self.details_base) + in_store
                    files = stored_shared_pages(res, self.root)
                details_models += details is not None or url is not None
                content = self.renderer.model_page(
                    r,
                    res,
                    self.requests.get(key),
                    self.evaluations[r["model"]],
                    details[0] if details else None,
                    details_url=url,
                    results_path=path,
                )
                title = self.renderer.escape(f"{r['model']} ({r['precision']}, {short_sha(r['sha'])})")
                html = self.before.replace(SHELL_TITLE, title) + content + self.after.replace(SHELL_TITLE, title)
                pending.append(writers.submit(_write_page, self.out / r["page"], html, files, self.out))
                pages += 1
                if len(pending) >= 4 * WRITER_THREADS:  # bounded memory; the first error surfaces here
                    for f in pending:
                        f.result()
                    pending.clear()
            for f in pending:
                f.result()
        return pages, details_models


_FORKED: _Pages | None = None


def _write_share(share: int, shares: int) -> tuple[int, int]:
    assert _FORKED is not None
    return _FORKED.write(_FORKED.data["rows"][share::shares])


def default_workers(models: int) -> int:
    """One process per available core (at most 4), but none extra for small sites."""
    return min(4, len(os.sched_getaffinity(0))) if models >= PARALLEL_FROM else 1


def write_model_pages(
    board: Board,
    data: dict[str, Any],
    renderer: Renderer,
    out: Path,
    workers: int = 1,
    details_base: str = SITE_FOLDER,
    root: Path | None = None,
) -> tuple[int, int]:
    """Every model page: the theme's shell page around Jinja2-rendered content (linear in models).

    With ``workers > 1`` the rows are split between this process and forked ones.
    """
    global _FORKED
    before, after = _shell_parts(out)
    shutil.rmtree(out / "models" / "_shell")
    evaluations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in data["rows"]:
        evaluations[r["model"]].append(r)
    job = _Pages(
        board,
        data,
        renderer,
        out,
        before,
        after,
        _requests_by_key(board),
        evaluations,
        {res.key: (path, res) for path, res in board.results.values()},
        details_base,
        root,
    )
    if workers <= 1 or len(data["rows"]) < 2:
        return job.write(data["rows"])
    _FORKED = job
    try:
        with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_write_share, share, workers) for share in range(1, workers)]
            counts = [job.write(data["rows"][0::workers])] + [f.result() for f in futures]
    finally:
        _FORKED = None
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


#: The sitemap protocol's limit of addresses a file (sitemaps.org); above it the sitemap
#: becomes an index of files that hold at most this many each.
SITEMAP_MAX_URLS = 50_000
_SITEMAP = re.compile(r"(.*?<urlset[^>]*>)(.*)</urlset>\s*", re.S)
_SITEMAP_URL = re.compile(r"\s*<url>.*?</url>", re.S)
_SITEMAP_INDEX = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
)


def sitemap_with_model_pages(
    out: Path, rows: list[dict[str, Any]], site_url: str | None, max_urls: int = SITEMAP_MAX_URLS
) -> None:
    """MkDocs' sitemap lists the model pages' shell (deleted) and none of the model pages, which
    shlepa renders itself: the shell's entry goes and one per model page comes, dated by its
    evaluation. Addresses as MkDocs writes its own: under ``site_url``, else from the host's root.
    Over ``max_urls`` addresses, sitemap.xml becomes an index of sitemap-N.xml files."""
    path = out / "sitemap.xml"
    if not path.is_file():
        return  # an engine that writes none
    base = site_url or "/"
    found = _SITEMAP.fullmatch(path.read_text(encoding="utf-8"))
    if not found:
        raise BuildError("not a sitemap the engine is known to write (no <urlset>)", path=path)
    opening, body = found.groups()
    entries = [e for e in _SITEMAP_URL.findall(body) if f"/{SHELL_DIR}/<" not in e] + [
        f"\n    <url>\n         <loc>{xml_escape(base + r['page'])}</loc>\n"
        f"         <lastmod>{xml_escape(r['evaluated'])}</lastmod>\n    </url>"
        for r in rows
    ]
    if len(entries) <= max_urls:
        files = {"sitemap.xml": opening + "".join(entries) + "\n</urlset>\n"}
    else:
        files = {
            f"sitemap-{k + 1}.xml": opening + "".join(entries[at : at + max_urls]) + "\n</urlset>\n"
            for k, at in enumerate(range(0, len(entries), max_urls))
        }
        files["sitemap.xml"] = (
            _SITEMAP_INDEX
            + "".join(f"\n    <sitemap><loc>{xml_escape(base + name)}</loc></sitemap>" for name in files)
            + "\n</sitemapindex>\n"
        )
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    packed = out / "sitemap.xml.gz"
    if packed.is_file():
        packed.write_bytes(gzip.compress(files["sitemap.xml"].encode("utf-8"), mtime=0))


def copy_branch_details(root: Path, board: Board, folder: Path, branch: BranchStoreSettings) -> list[str]:
    """Copy the details files the model pages name from the details branch into the site.

    Returns problems (the branch cannot be fetched, files missing); their pages then show
    "details unavailable" rather than failing the build."""
    keys = [k for path, res in board.results.values() if (k := store_key(path, res)) is not None]
    if not keys:
        return []
    store = BranchStore(root, branch=branch.name, remote=branch.remote, token=environment().shlepa_git_token)
    try:
        missing = store.export(keys, folder)
    except StoreError as exc:
        return [f"details of {len(keys)} evaluation(s) not copied: {exc}"]
    return [f"{store.describe()}: no file {k} (its model page shows details unavailable)" for k in missing]


def check_pages_budget(size: int, details: DetailsSettings, root: Path) -> None:
    """With the branch store the details are inside the Pages artifact: refuse one over the budget."""
    budget = details.pages_budget_mb * 1e6
    if details.store == "branch" and size > budget:
        raise BuildError(
            f"the site would be {size / 1e6:,.0f} MB, over details.pages_budget_mb ({details.pages_budget_mb:,.0f} MB; "
            "GitHub Pages publishes at most 1 GB) with the branch details store, which copies every details file "
            "into the site; switch leaderboard.yaml details.store to hf (a Hugging Face dataset) or s3 (a bucket), "
            "from which browsers read the details directly",
            path=Path(root) / "leaderboard.yaml",
            field="details.store",
        )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The build allocates millions of small objects that live until it ends (10,000 parsed
    results files, their rows and pages): Python's cycle collector would walk that growing
    heap again and again for nothing (about 3 s of a 10,000-model build), and in a forked
    page writer it would touch every inherited object, copying the parent's memory."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def discard_in_background(folder: Path) -> None:
    """Delete the previous site in a process of its own, which outlives this one: at 10,000
    models removing its 10,000 folders took 4.9 s of a 16 s rebuild on disk. It has been
    swapped out, so nothing reads it; a deletion cut short is finished by the next build."""
    import subprocess

    code = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
    try:
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    work: Path | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    engine: Engine | None = None,
    site_url: str | None = None,
) -> BuildReport:
    """Build the whole site under ``out`` (default ``<root>/_site``), all or nothing.

    The site is built in a sibling folder and swapped in at the end, so a full disk
    or a permission error leaves the previous site whole and says what failed.
    ``workers``: processes writing model pages (default: one per core for large sites);
    ``engine``: the generator of the hand-written pages and the model pages' shell (default:
    leaderboard.yaml's ``site.engine``); ``site_url``: the published address (default: its ``site.url``).
    """
    final = Path(out or Path(root).resolve() / "_site").resolve()
    try:
        with _no_cycle_collection():
            return _build(root, final, work=work, progress=progress, workers=workers, engine=engine, site_url=site_url)
    except OSError as exc:
        raise BuildError(
            f"could not write the site: {exc.strerror or exc}; the previous site was left as it was", path=final
        ) from exc


def _build(
    root: Path,
    out: Path,
    *,
    work: Path | None,
    progress: Callable[[str], None] | None,
    workers: int | None,
    engine: Engine | None,
    site_url: str | None,
) -> BuildReport:
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    root = Path(root).resolve()
    out = Path(out or root / "_site").resolve()
    work = Path(work or root / WORK_DIR).resolve()
    docs = work / "docs"

    board = load_board(root)
    problems: list[str] = []
    timings["load"] = time.perf_counter() - t0
    if not board.suites:
        raise BuildError("no usable suite; nothing to build", path=root / "eval" / "suites")
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

    renderer = Renderer(board)
    settings = load_settings(root)
    site_url = site_url or settings.site.url
    store_info = {"kind": settings.details.store, "base_url": public_base(settings.details)}
    data = leaderboard_data(board, details_store=store_info)
    (docs / "data").mkdir(exist_ok=True)
    (docs / DATA_FILE).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (docs / DETAILS_META).write_text(json.dumps(details_meta(store_info), ensure_ascii=False), encoding="utf-8")
    (docs / DATA_CSV).write_text(leaderboard_csv(data), encoding="utf-8")
    renderer.write_pages(docs, data, settings.validation)
    suite_titles = {name: s.title for name, s in board.suites.items()}
    (docs / SUBMIT_DATA).write_text(
        json.dumps(submit_form_data(settings, suite_titles), ensure_ascii=False), encoding="utf-8"
    )
    write_curves(docs, renderer.trajectories, renderer)
    (docs / "data" / "citations").mkdir()
    for name, suite in board.suites.items():
        (docs / "data" / "citations" / f"{name}.txt").write_text(renderer.citations(suite), encoding="utf-8")
    shell_md = docs / f"{SHELL_DIR}.md"
    shell_md.parent.mkdir(parents=True, exist_ok=True)
    shell_md.write_text(renderer.shell_markdown(SHELL_TITLE, SHELL_MARKER), encoding="utf-8")
    timings["generate"] = time.perf_counter() - t

    # Build into a fresh sibling folder and swap it in at the end: a failed build leaves
    # the previous site whole, and no file needs its own fsync.
    t = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    stage.chmod(0o755)
    try:
        engine = Engine(engine or settings.site.engine)
        run_mkdocs(root, docs, stage, banner=demo_banner(data["demo"]), engine=engine, site_url=site_url)
        timings["mkdocs"] = time.perf_counter() - t
        t = time.perf_counter()
        pages, details_models = write_model_pages(
            board,
            data,
            renderer,
            stage,
            workers if workers is not None else default_workers(len(data["rows"])),
            details_base=store_info["base_url"],
            root=root,
        )
        sitemap_with_model_pages(stage, data["rows"], site_url)
        timings["model_pages"] = time.perf_counter() - t
        t = time.perf_counter()
        if settings.details.store == "branch":
            problems += copy_branch_details(root, board, stage / SITE_FOLDER, settings.details.branch)
        size = _dir_size(stage)
        check_pages_budget(size, settings.details, root)
        timings["details"] = time.perf_counter() - t
        t = time.perf_counter()
        cut_short = list(out.parent.glob(f".{out.name}.old-*"))  # earlier deletions that did not finish
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            stage.rename(out)
            discard_in_background(old)
        else:
            stage.rename(out)
        for folder in cut_short:
            shutil.rmtree(folder, ignore_errors=True)
        timings["swap"] = time.perf_counter() - t
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    say(f"rendered {pages} model page(s), details for {details_models}")

    return BuildReport(
        out=out,
        models=len(data["rows"]),
        model_pages=pages,
        details_models=details_models,
        skipped=list(board.errors) + problems,
        seconds=time.perf_counter() - t0,
        bytes=size,
        timings=timings,
    )


__all__ = ["BuildError", "BuildReport", "Engine", "build_site", "json_for_html", "leaderboard_data"]
