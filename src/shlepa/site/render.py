"""Jinja2 rendering of the generated pages; autoescape on, every value from data is untrusted."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from shlepa.config import ValidationSettings
from shlepa.records import scoring
from shlepa.records.details import SHARED_PAGE_ROWS
from shlepa.records.keys import SHARED_TEXT_PAGE, model_page_path, queue_anchor, short_sha
from shlepa.records.queue_order import QueueEntry, merged_at, queue_order
from shlepa.records.request import MODEL_TYPE_SYMBOLS, Request, Status, format_age
from shlepa.records.results import ResultsFile, results_dir
from shlepa.records.scores import finite
from shlepa.site.board import Board
from shlepa.site.curves import CurvesIndex, board_trajectories
from shlepa.site.meta import (
    DATA_CSV,
    DATA_FILE,
    DETAILS_INDEX,
    DETAILS_META,
    DETAILS_PAGE,
    HUB_URL,
    TABULATOR_CSS,
    TABULATOR_JS,
    TYPE_TITLES,
    VEGA_JS,
    metric_title,
    site_meta,
    subject_title,
)

LEADERBOARD_BIBTEX = """@misc{shlepa_leaderboard,
  title = {Shlepa: an Open LLM Leaderboard run on GitHub},
  author = {Shlepa contributors},
  year = {2026},
  howpublished = {\\url{https://github.com/shlepa/shlepa}},
  note = {Scores from EleutherAI's lm-evaluation-harness}
}"""

HARNESS_BIBTEX = """@misc{eval-harness,
  author = {Gao, Leo and Tow, Jonathan and Abbasi, Baber and Biderman, Stella and Black, Sid and DiPofi, Anthony and Foster, Charles and Golding, Laurence and Hsu, Jeffrey and Le Noac'h, Alain and Li, Haonan and McDonell, Kyle and Muennighoff, Niklas and Ociepa, Chris and Phang, Jason and Reynolds, Laria and Schoelkopf, Hailey and Skowron, Aviya and Sutawika, Lintang and Tang, Eric and Thite, Anish and Wang, Ben and Wang, Kevin and Zou, Andy},
  title = {The Language Model Evaluation Harness},
  month = 07,
  year = 2024,
  publisher = {Zenodo},
  doi = {10.5281/zenodo.12608602},
  url = {https://zenodo.org/records/12608602}
}"""

OPEN_LLM_BIBTEX = """@misc{open-llm-leaderboard-v1,
  author = {Edward Beeching and Clémentine Fourrier and Nathan Habib and Sheon Han and Nathan Lambert and Nazneen Rajani and Omar Sanseviero and Lewis Tunstall and Thomas Wolf},
  title = {Open LLM Leaderboard (2023-2024)},
  year = {2023},
  publisher = {Hugging Face},
  howpublished = "\\url{https://huggingface.co/spaces/open-llm-leaderboard-old/open_llm_leaderboard}"
}"""


def json_for_html(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``.

    orjson: 10,000 model pages each embed a few KB of JSON. NaN becomes null.
    """
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# One row of a model page's score table. Built in Python, not in the template: it is
# most of each page's markup and the template spent ~0.1 ms per page escaping numbers
# we formatted ourselves. Every text value is escaped before it gets here.
SCORE_ROW = (
    "<tr><td>{title}</td><td{cls}>{value}</td><td>{stderr}</td><td>{base}</td><td>{norm}</td>"
    "<td>{shots}</td><td>{metric}</td><td>{n}</td></tr>\n"
)
LOWER_IS_BETTER = ' <span class="model-lower" title="lower is better">↓</span>'


def safe_url(value: Any) -> str | None:
    """Only http(s) links from data reach an href."""
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def date_words(when: datetime) -> str:
    """A date as people write it: ``1 December 2026`` (English month names, any locale)."""
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}"


def datetime_words(when: datetime) -> str:
    """``1 December 2026, 14:03 UTC``: no microseconds, no ISO ``T``."""
    when = when.astimezone(UTC) if when.tzinfo else when
    return f"{date_words(when)}, {when:%H:%M} UTC"


def duration_words(seconds: float | None) -> str:
    s = finite(seconds)
    if s is None:
        return "–"
    s = round(s)
    return (
        f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else (f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s")
    )


def params_words(billions: Any) -> str:
    """A parameter count: ``7 B``, ``124 M``, ``395 K``; ``unknown`` when not known."""
    b = finite(billions)
    if b is None:
        return "unknown"
    for unit, size in (("B", 1.0), ("M", 1e-3), ("K", 1e-6)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b * 1e9:.0f}"


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and finite(value) is None):
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def break_at_underscores(name: str) -> Markup:
    """``name`` escaped, with a line-break opportunity after each underscore: a task name such
    as ``shlepa_truthfulqa_mc2`` in a narrow column then wraps between its words, not inside them."""
    return Markup("_<wbr>").join(escape(part) for part in str(name).split("_"))


def reproduce_command(res: ResultsFile, results_path: Path | None) -> str:
    """``shlepa reproduce`` of this results file, from where it lies (older files recorded a
    ``shlepa evaluate`` command that answers "already FINISHED" instead of evaluating)."""
    if results_path is None:
        return str(res.reproduce.get("shlepa", ""))
    return shlex.join(["shlepa", "reproduce", str(results_dir(Path("."), res.model) / results_path.name)])


def benchmark_tasks(suite: Any, res: ResultsFile) -> list[tuple[str, list[str]]]:
    """(benchmark title, the lm-eval tasks that scored it) for each benchmark ``res`` has."""
    return [
        (b.title, list(res.scores[b.key].subtasks or [res.scores[b.key].task]))
        for b in suite.benchmarks
        if b.key in res.scores
    ]


def scoring_table(record: dict[str, Any] | None, groups: Sequence[tuple[str, Sequence[str]]] = ()) -> dict[str, Any]:
    """The model page's "how it was scored" table, one row per benchmark (MMLU's 57 subjects
    are one row, not 57): its tasks, requests per path summed, near ties re-scored, and the
    reasons that are not a path's usual one; plus the usual reasons of the paths taken, said
    once above the table. ``groups``: (benchmark title, its lm-eval tasks); a task of the
    record that no benchmark names gets a row of its own."""
    record = record or {}
    owner = {task: title for title, tasks in groups for task in tasks}
    acc: dict[str, dict[str, Any]] = {title: {} for title, _tasks in groups}
    usual: dict[str, str] = {}
    tasks = 0
    for task in sorted(record):
        entry = record[task]
        if not isinstance(entry, dict):
            continue
        tasks += 1
        row = acc.setdefault(owner.get(task, task), {})
        if not row:
            row.update(tasks=[], requests=0, paths={}, why={}, near_ties=0)
        row["tasks"].append(task)
        row["requests"] += int(entry.get("requests") or 0)
        row["near_ties"] += int(entry.get("rescored_near_ties") or 0)
        paths, row_why = row["paths"], row["why"]
        for p, n in (entry.get("paths") or {}).items():
            paths[p] = paths.get(p, 0) + int(n)
            reasons = scoring.reasons(entry, p)
            if p in scoring.USUAL_WHY and reasons == [scoring.USUAL_WHY[p]]:
                usual[scoring.PATH_TITLES.get(p, p)] = scoring.USUAL_WHY[p]
                continue
            for r in reasons:
                row_why[p, r] = row_why.get((p, r), 0) + 1
    rows = []
    name = scoring.PATH_TITLES.get
    for title, row in acc.items():
        if not row:
            continue
        rows.append(
            {
                "title": title,
                "tasks": row["tasks"],
                "requests": row["requests"],
                "paths": [(name(p, p), n) for p, n in sorted(row["paths"].items(), key=lambda pn: -pn[1])],
                "why": [
                    f"{name(p, p)}: {r}" + (f" ({n} tasks)" if n > 1 and len(row["tasks"]) > 1 else "")
                    for (p, r), n in row["why"].items()
                ],
                "near_ties": row["near_ties"],
            }
        )
    return {"rows": rows, "usual": sorted(usual.items()), "tasks": tasks}


class Renderer:
    """Renders the generated Markdown pages and the per-model HTML content."""

    def __init__(self, board: Board, now: datetime | None = None, trajectories: dict[str, Any] | None = None):
        self.board = board
        self.now = now or datetime.now(UTC)
        self.env = Environment(
            loader=PackageLoader("shlepa.site", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates do not change during a build: without this every {% include %} of every
            # model page stats its file twice to see whether to reload it (20,000 stats at 10,000).
            auto_reload=False,
        )
        self.env.filters.update(
            fmt=fmt,
            safe_url=safe_url,
            tojson_html=json_for_html,
            short_sha=short_sha,
            break_at_underscores=break_at_underscores,
        )
        self.env.globals.update(
            type_symbols=MODEL_TYPE_SYMBOLS,
            type_titles=TYPE_TITLES,
            meta=site_meta(),
            data_file=DATA_FILE,
            data_csv=DATA_CSV,
            tabulator_css=TABULATOR_CSS,
            tabulator_js=TABULATOR_JS,
            vega_js=VEGA_JS,
            details_page=DETAILS_PAGE,
            shared_page=SHARED_TEXT_PAGE,
            shared_rows=SHARED_PAGE_ROWS,
        )
        self._model = self.env.get_template("model.html.j2")
        self.trajectories = board_trajectories(board) if trajectories is None else trajectories
        self.curves = CurvesIndex(self.trajectories)

    @staticmethod
    def escape(text: str) -> str:
        return str(escape(text))

    def _render(self, name: str, **ctx: Any) -> str:
        return self.env.get_template(name).render(**ctx)

    def write_pages(self, docs: Path, data: dict[str, Any], rules: ValidationSettings | None = None) -> None:
        suites = self.board.suites
        pages = {
            "index.md": self._render("leaderboard.md.j2", data=data, suites=suites),
            "charts.md": self._render("charts.md.j2", suites=suites),
            "queue.md": self._render("queue.md.j2", **self.queue_context()),
            "about.md": self._render(
                "about.md.j2",
                suites=suites,
                leaderboard_bibtex=LEADERBOARD_BIBTEX,
                harness_bibtex=HARNESS_BIBTEX,
                open_llm_bibtex=OPEN_LLM_BIBTEX,
                rules=rules or ValidationSettings(),
            ),
        }
        for name, text in pages.items():
            (docs / name).write_text(text, encoding="utf-8")

    def shell_markdown(self, title: str, marker: str) -> str:
        return self._render("model_shell.md.j2", title=title, marker=marker)

    @staticmethod
    def citations(suite: Any) -> str:
        """BibTeX of the leaderboard, the harness and every benchmark of ``suite`` (plain text)."""
        parts = [LEADERBOARD_BIBTEX, HARNESS_BIBTEX, OPEN_LLM_BIBTEX]
        parts += [b.citation for b in suite.benchmarks if b.citation]
        return "\n\n".join(parts) + "\n"

    def queue_context(self) -> dict[str, Any]:
        """Requests by status. PENDING ones in the runners' own order (``queue_order``: merge time, not the
        author's ``submitted_at``), aged from that merge; the others newest change first."""
        root, times = self.board.root or Path("."), self.board.merge_times
        entries = queue_order(root, [QueueEntry(path, req) for path, req in self.board.requests], times)
        groups: dict[str, list[dict[str, Any]]] = {s.value: [] for s in Status}
        for entry in entries:
            req = entry.request
            last = req.history[-1] if req.history else None
            since = last.at if last else req.submitted_at
            if req.status == Status.pending:
                since = merged_at(root, entry.path, times) or since
            log_url = (req.failure.log_url if req.failure else None) or (last.run_url if last else None)
            groups[req.status.value].append(
                {
                    "req": req,
                    "since": since,
                    "age": format_age(self.now - since),
                    "runner": last.runner if last else None,
                    "log_url": log_url,
                    "reason": last.reason if last else "",
                    "page": model_page_path(req.model, req.revision, req.precision.value, req.suite),
                    "anchor": queue_anchor(req.model, req.revision, req.precision.value, req.suite),
                }
            )
        for status, items in groups.items():
            if status != Status.pending.value:  # PENDING stays in queue order: next to be evaluated first
                items.sort(key=lambda item: item["since"], reverse=True)
        finished = groups.pop(Status.finished.value)
        return {"groups": groups, "finished": finished[:100], "finished_total": len(finished), "built_at": self.now}

    def _score_table(self, suite: Any, res: ResultsFile, row: dict[str, Any]) -> tuple[Markup, dict[str, Any] | None]:
        """The score table's rows (escaped HTML) and the first benchmark with subjects (MMLU)."""
        skipped = (res.model_extra or {}).get("skipped") or {}
        rows, mmlu = [], None
        for bench in suite.benchmarks:
            s = res.scores.get(bench.key)
            title, base = escape(bench.title), fmt(bench.baseline, 1) if bench.normalizes else "–"
            if bench.unit != "%":
                title += Markup(f' <span class="model-unit">({escape(bench.unit)})</span>') if bench.unit else ""
            if not bench.higher_is_better:
                title += Markup(LOWER_IS_BETTER)
            if s is not None and s.value is not None:
                rows.append(
                    SCORE_ROW.format(
                        title=title,
                        cls="",
                        value=fmt(s.value),
                        stderr=fmt(s.stderr),
                        base=base,
                        norm=fmt(row["norm"].get(bench.key)),
                        shots=int(s.num_fewshot),
                        metric=escape(metric_title(s.metric)),
                        n=int(s.n_samples) if s.n_samples else "–",
                    )
                )
                if mmlu is None and s.subtasks:
                    mmlu = {"bench": bench, "score": s}
            else:
                why = skipped.get(bench.key)
                rows.append(
                    SCORE_ROW.format(
                        title=title,
                        cls=' class="missing"',
                        value=escape(f"skipped: {why}" if why else "missing"),
                        stderr="–",
                        base=base,
                        norm="–",
                        shots=int(bench.num_fewshot),
                        metric=escape(metric_title(bench.metric_key)),
                        n="–",
                    )
                )
        return Markup("".join(rows)), mmlu

    def model_page(
        self,
        row: dict[str, Any],
        res: ResultsFile,
        request: Request | None,
        evaluations: list[dict[str, Any]],
        details_index: dict[str, Any] | None,
        details_url: str | None = None,
        results_path: Path | None = None,
    ) -> str:
        """``details_index``: details split into pages beside the page; ``details_url``: a details
        file in the store, which the viewer reads and pages itself."""
        suite = self.board.suites[row["suite"]]
        score_rows, mmlu = self._score_table(suite, res, row)
        extra = {
            "subjects": (
                {
                    subject_title(k): round(v, 2) if isinstance(v, float) else v
                    for k, v in sorted(mmlu["score"].subtasks.items())
                }
                if mmlu
                else None
            ),
            "history": (
                [
                    {
                        "at": datetime_words(h.at),
                        "status": h.status.value,
                        "reason": h.reason,
                        "runner": h.runner,
                        "run_url": safe_url(h.run_url),
                    }
                    for h in request.history
                ]
                if request
                else None
            ),
            "settings": res.evaluation.model_dump(mode="json"),
        }
        ev = res.evaluation
        pretrained = ev.model_args.get("pretrained") if isinstance(ev.model_args, dict) else None
        on_hub = pretrained in (None, row["model"]) and "/" in row["model"]  # not a local folder
        submitted = request.submitted_at if request else None
        card = {
            "evaluated": date_words(ev.finished_at),
            "evaluated_iso": ev.finished_at.isoformat(timespec="seconds"),
            "submitted": date_words(submitted) if submitted else (row["submitted"] or "–"),
            "duration": duration_words(ev.duration_s),
            "params": params_words(row["params"]),
            "commit_url": f"{HUB_URL}{row['model']}/commit/{row['sha']}" if on_hub else None,
        }
        return self._model.render(
            row=row,
            res=res,
            request=request,
            suite=suite,
            score_rows=score_rows,
            mmlu=mmlu,
            evaluations=sorted(evaluations, key=lambda e: (e["suite"], e["sha"], e["precision"])),
            details_index=details_index,
            details_index_file=DETAILS_INDEX,
            details_url=details_url,
            details_benchmarks={b.key: {"title": b.title, "metric": b.metric} for b in suite.benchmarks},
            details_meta_file=DETAILS_META,
            root="../../../../",
            extra=extra,
            card=card,
            extra_lm_eval=[str(c) for c in res.reproduce.get("lm_eval") or []],
            reproduce_command=reproduce_command(res, results_path),
            scoring=scoring_table(res.scoring, benchmark_tasks(suite, res)),
            fallbacks=scoring.fallbacks(res.scoring),
            path_titles=scoring.PATH_TITLES,
            leaderboard_bibtex=LEADERBOARD_BIBTEX,
            harness_bibtex=HARNESS_BIBTEX,
            curves=self.curves.context(row),
        )
