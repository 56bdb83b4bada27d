"""One request's tasks split over several GPU runners, and the merge of the splits.

A big model's suite can take a day on one GPU. ``shlepa evaluate REQUEST --split I/N``
loads every task of the suite (as the plain run does), plans which leaf tasks go to
which of N splits (cost-balanced: items x choices x (shots + 1); a group such as
MMLU is split by subject), evaluates only split I's leaf tasks and writes a partial
file ``split_I_of_N.json`` (+ ``.details.jsonl.gz``) into a split folder, never
under ``results/``: a partial can never reach the leaderboard. The file holds the
split's run record (:class:`~shlepa.evaluation.options.EvaluationRun`).

``shlepa merge-split`` checks that the splits belong together (same request,
revision, precision, settings, plan; none missing, none twice), reads their run
records back, puts lm-eval's per-task output back together in the order an
unsplit run has it, recomputes the group aggregates with lm-eval's own group
code, and builds the results file with the same function the plain run uses, so
the file equals an unsplit run's except for timestamps, durations and runner fields.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shlepa.errors import ShlepaError
from shlepa.evaluation import EvaluationError, lm_eval_api
from shlepa.evaluation.model import create_lm, effective_backend_args, model_info
from shlepa.evaluation.options import EvalOptions, EvaluationRun
from shlepa.evaluation.run import (
    build_payload,
    cache_prefix,
    code_eval_allowed,
    detail_rows,
    run_lm_eval,
    say_scoring,
    scoring_of,
    versions,
)
from shlepa.evaluation.tasks import LoadedTasks, load_tasks
from shlepa.io import atomic
from shlepa.records.request import Request, load_request
from shlepa.records.results import write_results

SPLIT_SCHEMA = "shlepa.split/1"
SPLIT_RE = re.compile(r"^split_(\d+)_of_(\d+)\.json$")
#: Cost of one generated answer, in "scored choices" (a generation is many forward passes).
GENERATION_WEIGHT = 32
#: lm-eval output sections keyed by task name; a split keeps only its own tasks' entries.
PER_TASK = ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples")


class SplitError(ShlepaError, ValueError):
    """Splits are unusable or do not belong together; the message names the file."""


def parse_split(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) as (I, N)."""
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not 0 <= int(m[1]) < int(m[2]) <= 256:
        raise SplitError(f"--split {text!r}: expected I/N with 0 <= I < N <= 256, e.g. 0/4")
    return int(m[1]), int(m[2])


def split_dir_for(root: Path, request: Request) -> Path:
    """Default split folder: ``splits/<key hash>/`` at the repository root (not under results/)."""
    return Path(root) / "splits" / hashlib.sha256(request.key.encode()).hexdigest()[:16]


def split_name(index: int, count: int) -> str:
    return f"split_{index}_of_{count}.json"


# -- planning -------------------------------------------------------------------
def task_cost(task: Any, num_fewshot: int, limit: int | float | None) -> int:
    """Estimated work of one leaf task: items x scored choices x (shots + 1)."""
    docs = task.eval_docs
    n = len(docs)
    size = lm_eval_api.sample_size(task, limit)
    n = min(n, size) if size is not None else n
    if n == 0:
        return 0
    if task.get_config("output_type") == "generate_until":
        width = GENERATION_WEIGHT
    else:
        try:
            width = max(1, len(task.doc_to_choice(docs[0])))
        except Exception:  # a task without choices: one scored continuation
            width = 1
    return n * width * (num_fewshot + 1)


def plan_split(costs: list[tuple[str, int]], count: int) -> list[list[str]]:
    """Longest-first greedy split of (task, cost) into ``count`` parts; each keeps the input order.

    Deterministic: every split job computes the same plan from the same tasks.
    """
    loads = [0] * count
    owner: dict[str, int] = {}
    for name, cost in sorted(costs, key=lambda tc: (-tc[1], tc[0])):
        target = min(range(count), key=lambda i: (loads[i], i))
        owner[name] = target
        loads[target] += cost
    return [[name for name, _ in costs if owner[name] == i] for i in range(count)]


def _prune(group: Any, keep: set[str]) -> bool:
    """Drop children of a Group (recursively) that are not in ``keep``; True if anything is left."""
    for child in list(group):
        if lm_eval_api.is_group(child):
            if not _prune(child, keep):
                group.pop(child.name)
        elif child.task_name not in keep:
            group.pop(child.task_name)
    return len(group) > 0


def _structure(loaded: dict[str, Any]) -> dict[str, Any]:
    """What the merge needs to rebuild lm-eval's group output: order, children, aggregation."""
    groups = loaded["groups"]
    return {
        "tasks": list(loaded["tasks"]),
        "groups": [
            {
                "name": g.name,
                "config": g.to_dict(),
                "children": g.child_names,
                "leaves": [t.task_name for t in g.get_all_tasks()],
            }
            for g in groups.values()
        ],
        "bottom_up": [g.name for g in lm_eval_api.groups_bottom_up(groups)],
    }


def _identity(run: EvaluationRun) -> dict[str, Any]:
    """Everything that must be the same in every split of one merged results file."""
    request, opts = run.request, run.options
    vers = versions()
    return {
        "key": request.key,
        "model": request.model,
        "revision": request.revision,
        "precision": request.precision.value,
        "suite": request.suite,
        "settings": {
            "data": opts.source.value,
            "backend": opts.backend,
            "backend_args": effective_backend_args(opts.backend, opts.backend_args),
            "lm_args": {k: v for k, v in run.lm_args.items() if k != "device"},
            "batch_size": opts.batch_size,
            "limit": opts.limit,
            "benchmarks": [b.key for b in run.benchmarks],
            "apply_chat_template": request.use_chat_template,
            "allow_code_eval": opts.confirm_run_unsafe_code,
            "lm_eval": vers.get("lm_eval"),
            "shlepa": vers.get("shlepa"),
        },
    }


def evaluate_split(
    request_path: Path,
    root: Path,
    opts: EvalOptions,
    index: int,
    count: int,
    out_dir: Path | None = None,
    say: Any = None,
) -> Path:
    """Evaluate split ``index`` of ``count`` of a request; returns the split file written.

    The request file is not changed: the workflow claims it before and the merge
    finishes it, so a split never publishes anything on its own.
    """
    say = say or (lambda msg: None)
    root = Path(root).resolve()
    request = load_request(Path(request_path))
    if opts.memorization_data is not None or opts.wandb_project:
        raise SplitError("--split: memorization and W&B logging run only in an evaluation that is not split")
    run = EvaluationRun.start(request, root, opts)
    to_run = run.plan.run
    out_dir = Path(out_dir) if out_dir is not None else split_dir_for(root, request)
    run.started = datetime.now(UTC)
    t0 = time.perf_counter()
    with contextlib.chdir(root):
        tasks = load_tasks(root, to_run, opts.source)
        run.leaves, run.names = tasks.leaves, tasks.names
        full = tasks.manager.load(list(tasks.objects))
        structure = _structure(full)
        fewshot = {leaf: b.num_fewshot for b in to_run for leaf in tasks.leaves[b.key]}
        costs = [(name, task_cost(task, fewshot.get(name, 0), opts.limit)) for name, task in full["tasks"].items()]
        plan = plan_split(costs, count)
        mine = set(plan[index])
        say(
            f"split {index}/{count}: {len(mine)} of {len(costs)} task(s), "
            f"estimated cost {sum(c for n, c in costs if n in mine)} of {sum(c for _, c in costs)}"
        )
        objects = []
        for obj in tasks.objects:
            if hasattr(obj, "task_name"):
                if obj.task_name in mine:
                    objects.append(obj)
            elif _prune(obj, mine):
                objects.append(obj)
        raw: dict[str, Any] = {}
        if objects:
            lm = create_lm(opts.backend, run.lm_args, opts.batch_size, opts.device)
            run.model_info = model_info(lm)
            cache = cache_prefix(opts, request)
            with code_eval_allowed(opts.confirm_run_unsafe_code):
                raw = (
                    run_lm_eval(
                        lm,
                        LoadedTasks(objects, tasks.leaves, tasks.names, tasks.manager),
                        opts,
                        cache,
                        run.chat_template,
                        run.fewshot_as_multiturn,
                    )
                    or {}
                )
        if raw:
            run.scoring = scoring_of(lm, raw, opts.backend)
            say_scoring(run.scoring, say)
    ran = set(raw.get("results") or {}) & set(structure["tasks"])
    if ran != mine:
        raise EvaluationError(f"split {index}/{count}: lm-eval ran {sorted(ran)}, the plan says {sorted(mine)}")
    details = detail_rows(raw, tasks.leaves) if raw else []
    lm_eval_part = {k: v for k, v in raw.items() if k not in ("samples", "groups", "group_subtasks", *PER_TASK)}
    for section in PER_TASK:
        lm_eval_part[section] = {k: v for k, v in (raw.get(section) or {}).items() if k in mine}
    run.raw = lm_eval_part
    run.finished = datetime.now(UTC)
    run.duration_s = round(time.perf_counter() - t0, 3)
    details_name = split_name(index, count).replace(".json", ".details.jsonl.gz")
    atomic.write_jsonl_gz(out_dir / details_name, details)
    payload = {
        "schema": SPLIT_SCHEMA,
        "split": {"index": index, "count": count, "plan": plan, **_identity(run)},
        "structure": structure,
        "details_file": details_name,
        "run": run.to_json(),
    }
    target = out_dir / split_name(index, count)
    atomic.write_json(target, payload)
    return target


# -- merging --------------------------------------------------------------------
@dataclass
class SplitFile:
    """One split's file as read back: its place, plan position and run record (JSON)."""

    path: Path
    data: dict[str, Any]

    @property
    def index(self) -> int:
        return int(self.data["split"]["index"])

    @property
    def count(self) -> int:
        return int(self.data["split"]["count"])

    @property
    def lm_eval(self) -> dict[str, Any]:
        return self.data["run"]["lm_eval"]

    def timing(self) -> dict[str, Any]:
        run, options = self.data["run"], self.data["run"]["options"]
        return {
            "started_at": run["started_at"],
            "finished_at": run["finished_at"],
            "duration_s": run["duration_s"],
            "runner": options.get("runner"),
            "run_url": options.get("run_url"),
        }


def _load_split(path: Path) -> SplitFile:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SplitError(f"unreadable split file: {exc}", path=path) from None
    if not isinstance(data, dict) or data.get("schema") != SPLIT_SCHEMA:
        raise SplitError(f"expected {SPLIT_SCHEMA!r} (not a split file)", path=path, field="schema")
    for key in ("split", "structure", "run", "details_file"):
        if key not in data:
            raise SplitError("missing", path=path, field=key)
    for key in ("options", "lm_eval", "model_info", "started_at", "finished_at", "duration_s", "leaves", "names"):
        if not isinstance(data["run"], dict) or key not in data["run"]:
            raise SplitError(f"field 'run.{key}': missing", path=path)
    return SplitFile(Path(path), data)


def find_split_files(paths: list[Path]) -> list[Path]:
    """Split files given directly or found (recursively) in the given folders."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("split_*_of_*.json") if SPLIT_RE.match(f.name)))
        elif p.is_file():
            found.append(p)
        else:
            raise SplitError("no such split file or folder", path=p)
    if not found:
        raise SplitError("no split_I_of_N.json files found", path=", ".join(map(str, paths)))
    return found


def _diff(a: Any, b: Any, where: str) -> str | None:
    """The first field where two JSON values differ, dotted."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _diff(a.get(key), b.get(key), f"{where}.{key}")
            if found:
                return found
        return None
    return None if a == b else where


def check_splits(splits: list[SplitFile]) -> list[SplitFile]:
    """The splits in index order; missing, duplicate or mismatched splits are errors naming the file."""
    first = splits[0]
    seen: dict[int, SplitFile] = {}
    for s in splits:
        for field in ("key", "model", "revision", "precision", "suite", "settings", "count", "plan"):
            where = _diff(s.data["split"].get(field), first.data["split"].get(field), f"split.{field}")
            if where:
                raise SplitError(
                    f"differs from {first.path} (splits of different requests, settings or plans cannot be merged)",
                    path=s.path,
                    field=where,
                )
        if s.index in seen:
            raise SplitError(f"duplicate split {s.index}/{s.count} (also {seen[s.index].path})", path=s.path)
        if not 0 <= s.index < s.count:
            raise SplitError(f"{s.index} is not below count {s.count}", path=s.path, field="split.index")
        seen[s.index] = s
        planned = set(s.data["split"]["plan"][s.index])
        have = set(s.lm_eval.get("results", {}))
        if have != planned:
            raise SplitError(
                f"has tasks {sorted(have)}, its plan says {sorted(planned)}", path=s.path, field="run.lm_eval.results"
            )
    missing = [i for i in range(first.count) if i not in seen]
    if missing:
        names = ", ".join(split_name(i, first.count) for i in missing)
        raise SplitError(f"missing split(s) {names} of request {first.data['split']['key']}", path=first.path.parent)
    return [seen[i] for i in range(first.count)]


def merge_lm_eval(splits: list[SplitFile]) -> dict[str, Any]:
    """lm-eval's output of the whole suite, as an unsplit run reports it."""
    structure = splits[0].data["structure"]
    order = structure["tasks"]
    per_task: dict[str, dict[str, Any]] = {section: {} for section in PER_TASK}
    for s in splits:
        for section in PER_TASK:
            per_task[section].update(s.lm_eval.get(section) or {})
    metrics = {name: per_task["results"][name] for name in order}
    specs = {g["name"]: g for g in structure["groups"]}
    groups = {
        name: lm_eval_api.named_leaves_group(spec["config"], spec["leaves"], spec["children"])
        for name, spec in specs.items()
    }
    version_map = {name: per_task["versions"][name] for name in order}
    for name in structure["bottom_up"]:
        metrics[name] = groups[name].aggregate(metrics)
        version_map[name] = groups[name].version
    all_groups = [groups[g["name"]] for g in structure["groups"]]
    higher = {name: per_task["higher_is_better"][name] for name in order}
    lm_eval_api.propagate_higher_is_better(all_groups, higher)
    nshot = {name: per_task["n-shot"][name] for name in order}
    lm_eval_api.propagate_num_fewshot(all_groups, nshot)
    group_results = {n: dict(metrics[n]) for n in metrics if n in groups and groups[n].has_aggregation}
    merged: dict[str, Any] = {
        "results": metrics,
        **({"groups": group_results} if group_results else {}),
        "group_subtasks": {g.name: g.child_names for g in all_groups},
        "configs": dict(sorted((n, per_task["configs"][n]) for n in order)),
        "versions": dict(sorted(version_map.items())),
        "n-shot": dict(sorted(nshot.items())),
        "higher_is_better": dict(sorted(higher.items())),
        "n-samples": {n: per_task["n-samples"][n] for n in order},
    }
    # Environment and run information (model info, seeds, versions, date): from the first split that ran.
    source = next((s for s in splits if s.lm_eval.get("results")), splits[0])
    rest = {k: v for k, v in source.lm_eval.items() if k not in PER_TASK}
    return {**rest, **merged}


def _read_details(split: SplitFile) -> list[dict[str, Any]]:
    path = split.path.parent / split.data["details_file"]
    try:
        return atomic.read_jsonl_gz(path)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise SplitError(f"unreadable split details: {exc}", path=path) from None


def merge_split(
    root: Path,
    paths: list[Path],
    request_path: Path | None = None,
    runner: str | None = None,
    run_url: str | None = None,
) -> Path:
    """Check the splits, merge them and write ONE results file (+ details); returns it.

    The request file is not touched here (the caller marks it FINISHED and commits).
    """
    root = Path(root).resolve()
    splits = check_splits([_load_split(p) for p in find_split_files(paths)])
    ident = splits[0].data["split"]
    rel = Path(request_path) if request_path else None
    request = load_request(root / rel) if rel else None
    if request is None:
        from shlepa.records.request import request_relpath

        rel = request_relpath(ident["model"], ident["revision"], ident["precision"], ident["suite"])
        if not (root / rel).is_file():
            raise SplitError("the splits' request file does not exist", path=rel)
        request = load_request(root / rel)
    if request.key != ident["key"]:
        raise SplitError(f"{ident['key']} is not the request {request.key}", path=splits[0].path, field="split.key")
    infos = [s for s in splits if s.data["run"]["model_info"] is not None]
    for s in infos[1:]:
        if s.data["run"]["model_info"] != infos[0].data["run"]["model_info"]:
            raise SplitError(f"differs from {infos[0].path} (a different model?)", path=s.path, field="run.model_info")
    run = EvaluationRun.from_json(splits[0].data["run"], request, root)
    run.options = replace(run.options, runner=runner, run_url=run_url)
    run.model_info = infos[0].data["run"]["model_info"] if infos else {}
    run.raw = merge_lm_eval(splits)
    times = [s.timing() for s in splits]
    run.started = min(datetime.fromisoformat(t["started_at"]) for t in times)
    run.finished = max(datetime.fromisoformat(t["finished_at"]) for t in times)
    run.duration_s = round((run.finished - run.started).total_seconds(), 3)
    run.scoring = {t: e for s in splits for t, e in (s.data["run"].get("scoring") or {}).items()} or None
    run.splits = [
        {"index": s.index, "count": s.count, "tasks": len(s.data["split"]["plan"][s.index]), **t}
        for s, t in zip(splits, times, strict=True)
    ]
    payload = build_payload(run)
    position = {name: i for i, name in enumerate(splits[0].data["structure"]["tasks"])}
    details = [row for s in splits for row in _read_details(s)]
    details.sort(key=lambda row: position.get(row.get("task"), len(position)))  # stable: keeps sample order
    return write_results(root, payload, details, run.finished)  # the name build_payload's command gives
