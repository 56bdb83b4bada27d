"""Per-task sharding of ONE request over several GPU runners, and the merge of the shards.

A big model's suite can take a day on one GPU. ``shlepa evaluate REQUEST --shard I/N``
loads every task of the suite (as the plain run does), plans which leaf tasks go to
which of N shards (cost-balanced: items x choices x (shots + 1); a group such as
MMLU is split by subject), evaluates only shard I's leaf tasks and writes a partial
file ``shard_I_of_N.json`` (+ ``.details.jsonl.gz``) into a shard folder, never
under ``results/``: a partial can never reach the leaderboard.

``shlepa merge-shards`` checks that the shards belong together (same request,
revision, precision, settings, plan; none missing, none twice), puts lm-eval's
per-task output back together in the order an unsharded run has it, recomputes the
group aggregates with lm-eval's own :class:`~lm_eval.api.group.Group` code, and
builds the results file with the same function the plain run uses, so the file
equals an unsharded run's except for timestamps, durations and runner fields.
"""

from __future__ import annotations

from shlepa.errors import ShlepaError

import contextlib
import gzip
import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shlepa.io import atomic
from shlepa.evaluation.run import (
    EvalOptions,
    cache_prefix,
    EvaluationError,
    LoadedTasks,
    build_payload,
    code_eval_allowed,
    create_lm,
    detail_rows,
    effective_backend_args,
    load_tasks,
    model_info,
    plan as plan_benchmarks,
    run_lm_eval,
    versions,
)
from shlepa.evaluation.backend_args import backend_model_args
from shlepa.evaluation.modelargs import model_args_for
from shlepa.records.request import Request, load_request
from shlepa.records.results import write_results
from shlepa.records.suite import DataSource, load_suite, select_benchmarks

SHARD_SCHEMA = "shlepa.shard/1"
SHARD_RE = re.compile(r"^shard_(\d+)_of_(\d+)\.json$")
#: Cost of one generated answer, in "scored choices" (a generation is many forward passes).
GENERATION_WEIGHT = 32
#: lm-eval output sections keyed by task name; a shard keeps only its own tasks' entries.
PER_TASK = ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples")


class ShardError(ShlepaError, ValueError):
    """Shards are unusable or do not belong together; the message names the file."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) as (I, N)."""
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not 0 <= int(m[1]) < int(m[2]) <= 256:
        raise ShardError(f"--shard {text!r}: expected I/N with 0 <= I < N <= 256, e.g. 0/4")
    return int(m[1]), int(m[2])


def shard_dir_for(root: Path, request: Request) -> Path:
    """Default shard folder: ``shards/<key hash>/`` at the repository root (not under results/)."""
    return Path(root) / "shards" / hashlib.sha256(request.key.encode()).hexdigest()[:16]


def shard_name(index: int, count: int) -> str:
    return f"shard_{index}_of_{count}.json"


# -- planning -------------------------------------------------------------------
def task_cost(task: Any, num_fewshot: int, limit: int | float | None) -> int:
    """Estimated work of one leaf task: items x scored choices x (shots + 1)."""
    from lm_eval.evaluator_utils import get_sample_size

    docs = task.eval_docs
    n = len(docs)
    size = get_sample_size(task, limit)
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


def plan_shards(costs: list[tuple[str, int]], count: int) -> list[list[str]]:
    """Longest-first greedy split of (task, cost) into ``count`` shards; each keeps the input order.

    Deterministic: every shard job computes the same plan from the same tasks.
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
    from lm_eval.api.group import Group

    for child in list(group):
        name = child.name if isinstance(child, Group) else child.task_name
        if isinstance(child, Group):
            if not _prune(child, keep):
                group.pop(name)
        elif name not in keep:
            group.pop(name)
    return len(group) > 0


def _structure(loaded: dict[str, Any]) -> dict[str, Any]:
    """What the merge needs to rebuild lm-eval's group output: order, children, aggregation."""
    from lm_eval.evaluator_utils import _collect_groups_bottom_up

    groups = loaded["groups"]
    return {
        "tasks": list(loaded["tasks"]),
        "groups": [
            {"name": g.name, "config": g.to_dict(), "children": g.child_names,
             "leaves": [t.task_name for t in g.get_all_tasks()]}
            for g in groups.values()
        ],
        "bottom_up": [g.name for g in _collect_groups_bottom_up(groups)],
    }


def _identity(request: Request, opts: EvalOptions, lm_args: dict[str, Any], benchmarks: list[str]) -> dict[str, Any]:
    """Everything that must be the same in every shard of one merged results file."""
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
            "lm_args": {k: v for k, v in lm_args.items() if k != "device"},
            "batch_size": opts.batch_size,
            "limit": opts.limit,
            "benchmarks": benchmarks,
            "apply_chat_template": request.use_chat_template,
            "allow_code_eval": opts.confirm_run_unsafe_code,
            "lm_eval": vers.get("lm_eval"),
            "shlepa": vers.get("shlepa"),
        },
    }


def evaluate_shard(
    request_path: Path, root: Path, opts: EvalOptions, index: int, count: int, out_dir: Path | None = None,
    say: Any = None,
) -> Path:
    """Evaluate shard ``index`` of ``count`` of a request; returns the shard file written.

    The request file is not changed: the workflow claims it before and the merge
    finishes it, so a shard never publishes anything on its own.
    """
    say = say or (lambda msg: None)
    root = Path(root).resolve()
    request = load_request(Path(request_path))
    suite = load_suite(request.suite, root)
    benchmarks = select_benchmarks(suite, opts.benchmarks)
    if opts.memorization_data is not None or opts.wandb_project:
        raise ShardError("--shard: memorization and W&B logging run only in an unsharded evaluation")
    to_run, _, _ = plan_benchmarks(suite, benchmarks, opts)
    model_args = model_args_for(request, model_path=opts.model_path, device=opts.device)
    backend_args = effective_backend_args(opts.backend, opts.backend_args)
    lm_args = {**backend_model_args(opts.backend, model_args), **backend_args}
    out_dir = Path(out_dir) if out_dir is not None else shard_dir_for(root, request)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with contextlib.chdir(root):
        tasks = load_tasks(root, to_run, opts.source)
        full = tasks.manager.load(list(tasks.objects))
        structure = _structure(full)
        fewshot = {leaf: b.num_fewshot for b in to_run for leaf in tasks.leaves[b.key]}
        costs = [(name, task_cost(task, fewshot.get(name, 0), opts.limit)) for name, task in full["tasks"].items()]
        plan = plan_shards(costs, count)
        mine = set(plan[index])
        say(f"shard {index}/{count}: {len(mine)} of {len(costs)} task(s), "
            f"estimated cost {sum(c for n, c in costs if n in mine)} of {sum(c for _, c in costs)}")
        objects = []
        for obj in tasks.objects:
            if hasattr(obj, "task_name"):
                if obj.task_name in mine:
                    objects.append(obj)
            elif _prune(obj, mine):
                objects.append(obj)
        raw: dict[str, Any] = {}
        info: dict[str, Any] | None = None
        if objects:
            lm = create_lm(opts.backend, lm_args, opts.batch_size, opts.device)
            info = model_info(lm)
            cache = cache_prefix(opts, request)
            with code_eval_allowed(opts.confirm_run_unsafe_code):
                raw = run_lm_eval(lm, LoadedTasks(objects, tasks.leaves, tasks.names, tasks.manager), opts, cache,
                                  request.use_chat_template) or {}
    ran = set((raw.get("results") or {})) & set(structure["tasks"])
    if ran != mine:
        raise EvaluationError(f"shard {index}/{count}: lm-eval ran {sorted(ran)}, the plan says {sorted(mine)}")
    details = detail_rows(raw, tasks.leaves) if raw else []
    lm_eval_part = {k: v for k, v in raw.items() if k not in ("samples", "groups", "group_subtasks", *PER_TASK)}
    for section in PER_TASK:
        lm_eval_part[section] = {k: v for k, v in (raw.get(section) or {}).items() if k in mine}
    finished = datetime.now(UTC)
    details_name = shard_name(index, count).replace(".json", ".details.jsonl.gz")
    atomic.write_jsonl_gz(out_dir / details_name, details)
    payload = {
        "schema": SHARD_SCHEMA,
        "shard": {"index": index, "count": count, "plan": plan, **_identity(request, opts, lm_args,
                                                                             [b.key for b in benchmarks])},
        "structure": structure,
        "model_info": info,
        "options": {
            "benchmarks": opts.benchmarks, "model_path": str(opts.model_path) if opts.model_path else None,
            "backend_args": opts.backend_args, "device": opts.device or model_args.get("device") or "cpu",
            "lm_args": lm_args,
        },
        "evaluation": {
            "started_at": started.isoformat(), "finished_at": finished.isoformat(),
            "duration_s": round(time.perf_counter() - t0, 3), "runner": opts.runner, "run_url": opts.run_url,
        },
        "details_file": details_name,
        "lm_eval": lm_eval_part,
    }
    target = out_dir / shard_name(index, count)
    atomic.write_json(target, payload)
    return target


# -- merging --------------------------------------------------------------------
@dataclass
class Shard:
    path: Path
    data: dict[str, Any]

    @property
    def index(self) -> int:
        return int(self.data["shard"]["index"])

    @property
    def count(self) -> int:
        return int(self.data["shard"]["count"])


def _load_shard(path: Path) -> Shard:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: unreadable shard file: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SHARD_SCHEMA:
        raise ShardError(f"{path}: field 'schema': expected {SHARD_SCHEMA!r} (not a shard file)")
    for key in ("shard", "structure", "options", "evaluation", "lm_eval", "details_file"):
        if key not in data:
            raise ShardError(f"{path}: field '{key}': missing")
    return Shard(Path(path), data)


def find_shard_files(paths: list[Path]) -> list[Path]:
    """Shard files given directly or found (recursively) in the given folders."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("shard_*_of_*.json") if SHARD_RE.match(f.name)))
        elif p.is_file():
            found.append(p)
        else:
            raise ShardError(f"{p}: no such shard file or folder")
    if not found:
        raise ShardError(f"{', '.join(map(str, paths))}: no shard_I_of_N.json files found")
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


def check_shards(shards: list[Shard]) -> list[Shard]:
    """The shards in index order; missing, duplicate or mismatched shards are errors naming the file."""
    first = shards[0]
    seen: dict[int, Shard] = {}
    for s in shards:
        for field in ("key", "model", "revision", "precision", "suite", "settings", "count", "plan"):
            where = _diff(s.data["shard"].get(field), first.data["shard"].get(field), f"shard.{field}")
            if where:
                raise ShardError(f"{s.path}: field '{where}': differs from {first.path} "
                                 "(shards of different requests, settings or plans cannot be merged)")
        if s.index in seen:
            raise ShardError(f"{s.path}: duplicate shard {s.index}/{s.count} (also {seen[s.index].path})")
        if not 0 <= s.index < s.count:
            raise ShardError(f"{s.path}: field 'shard.index': {s.index} is not below count {s.count}")
        seen[s.index] = s
        planned = set(s.data["shard"]["plan"][s.index])
        have = set(s.data["lm_eval"].get("results", {}))
        if have != planned:
            raise ShardError(f"{s.path}: field 'lm_eval.results': has tasks {sorted(have)}, "
                             f"its plan says {sorted(planned)}")
    missing = [i for i in range(first.count) if i not in seen]
    if missing:
        names = ", ".join(shard_name(i, first.count) for i in missing)
        raise ShardError(f"{first.path.parent}: missing shard(s) {names} of request {first.data['shard']['key']}")
    return [seen[i] for i in range(first.count)]


class _MergeGroup:
    """Builds an lm-eval Group whose leaves are names only, so lm-eval's own aggregation runs on merged metrics."""

    @staticmethod
    def make(spec: dict[str, Any]) -> Any:
        from lm_eval.api.group import Group

        class NamedLeaves(Group):
            leaf_names: list[str] = []
            children_names: list[str] = []

            def get_all_tasks(self, recursive: bool = True) -> list[Any]:
                return [SimpleNamespace(task_name=n) for n in self.leaf_names]

            @property
            def child_names(self) -> list[str]:
                return list(self.children_names)

        group = NamedLeaves.from_config(spec["config"])
        group.leaf_names = list(spec["leaves"])
        group.children_names = list(spec["children"])
        return group


def merge_lm_eval(shards: list[Shard]) -> dict[str, Any]:
    """lm-eval's output of the whole suite, as an unsharded run reports it."""
    from lm_eval.evaluator_utils import _propagate_higher_is_better, _propagate_num_fewshot

    structure = shards[0].data["structure"]
    order = structure["tasks"]
    per_task: dict[str, dict[str, Any]] = {section: {} for section in PER_TASK}
    for s in shards:
        for section in PER_TASK:
            per_task[section].update(s.data["lm_eval"].get(section) or {})
    metrics = {name: per_task["results"][name] for name in order}
    specs = {g["name"]: g for g in structure["groups"]}
    groups = {name: _MergeGroup.make(spec) for name, spec in specs.items()}
    version_map = {name: per_task["versions"][name] for name in order}
    for name in structure["bottom_up"]:
        metrics[name] = groups[name].aggregate(metrics)
        version_map[name] = groups[name].version
    all_groups = [groups[g["name"]] for g in structure["groups"]]
    higher = {name: per_task["higher_is_better"][name] for name in order}
    _propagate_higher_is_better(all_groups, higher)
    nshot = {name: per_task["n-shot"][name] for name in order}
    _propagate_num_fewshot(all_groups, nshot)
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
    # Environment and run information (model info, seeds, versions, date): from the first shard that ran.
    source = next((s for s in shards if s.data["lm_eval"].get("results")), shards[0])
    rest = {k: v for k, v in source.data["lm_eval"].items() if k not in PER_TASK}
    return {**rest, **merged}


def _read_details(shard: Shard) -> list[dict[str, Any]]:
    path = shard.path.parent / shard.data["details_file"]
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: unreadable shard details: {exc}") from None


def merge_shards(root: Path, paths: list[Path], request_path: Path | None = None,
                 runner: str | None = None, run_url: str | None = None) -> Path:
    """Check the shards, merge them and write ONE results file (+ details); returns it.

    The request file is not touched here (the caller marks it FINISHED and commits).
    """
    root = Path(root).resolve()
    shards = check_shards([_load_shard(p) for p in find_shard_files(paths)])
    ident = shards[0].data["shard"]
    rel = Path(request_path) if request_path else None
    request = load_request(root / rel) if rel else None
    if request is None:
        from shlepa.records.request import request_relpath

        rel = request_relpath(ident["model"], ident["revision"], ident["precision"], ident["suite"])
        if not (root / rel).is_file():
            raise ShardError(f"{rel}: the shards' request file does not exist")
        request = load_request(root / rel)
    if request.key != ident["key"]:
        raise ShardError(f"{shards[0].path}: field 'shard.key': {ident['key']} is not the request {request.key}")
    settings = ident["settings"]
    options = shards[0].data["options"]
    suite = load_suite(request.suite, root)
    benchmarks = select_benchmarks(suite, settings["benchmarks"])
    opts = EvalOptions(
        source=DataSource(settings["data"]), benchmarks=options["benchmarks"],
        model_path=Path(options["model_path"]) if options["model_path"] else None,
        backend=settings["backend"], backend_args=options["backend_args"], batch_size=settings["batch_size"],
        device=options["device"], limit=settings["limit"], runner=runner, run_url=run_url,
        confirm_run_unsafe_code=bool(settings.get("allow_code_eval")),
    )
    to_run, _, skipped = plan_benchmarks(suite, benchmarks, opts)
    raw = merge_lm_eval(shards)
    structure = shards[0].data["structure"]
    leaves, names = _benchmark_leaves(to_run, structure, opts.source)
    infos = [s for s in shards if s.data.get("model_info") is not None]
    for s in infos[1:]:
        if s.data["model_info"] != infos[0].data["model_info"]:
            raise ShardError(f"{s.path}: field 'model_info': differs from {infos[0].path} (a different model?)")
    info = infos[0].data["model_info"] if infos else {}
    times = [s.data["evaluation"] for s in shards]
    started = min(datetime.fromisoformat(t["started_at"]) for t in times)
    finished = max(datetime.fromisoformat(t["finished_at"]) for t in times)
    duration = round((finished - started).total_seconds(), 3)
    model_args = model_args_for(request, model_path=opts.model_path, device=opts.device)
    payload = build_payload(request, suite, benchmarks, to_run, skipped, opts, raw, leaves, names,
                            options["lm_args"], model_args, info, started, finished, duration)
    payload["evaluation"]["shards"] = [
        {"index": s.index, "count": s.count, "tasks": len(s.data["shard"]["plan"][s.index]), **s.data["evaluation"]}
        for s in shards
    ]
    position = {name: i for i, name in enumerate(structure["tasks"])}
    details = [row for s in shards for row in _read_details(s)]
    details.sort(key=lambda row: position.get(row.get("task"), len(position)))  # stable: keeps sample order
    return write_results(root, payload, details, datetime.now(UTC))


def _benchmark_leaves(benchmarks: list[Any], structure: dict[str, Any], source: DataSource
                      ) -> tuple[dict[str, list[str]], dict[str, str]]:
    """benchmark key -> leaf task names and task/group name, as :func:`load_tasks` gives them."""
    groups = {g["name"]: g for g in structure["groups"]}
    leaves: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for b in benchmarks:
        task = str(b.task_for(source))
        names[b.key] = task
        leaves[b.key] = sorted(groups[task]["leaves"]) if task in groups else [task]
    return leaves, names


def merge_and_finish(root: Path, paths: list[Path], request_path: Path | None, runner: str,
                     run_url: str | None, repo: Any = None, push: bool = False) -> tuple[Path, Any]:
    """Merge the shards, mark the request FINISHED and (with ``repo``) commit both in ONE commit.

    Publishing reuses the runner's code path: a rejected push is rebased and
    retried, never forced; a request finished by someone else meanwhile is not
    recorded twice.
    """
    from shlepa.records.request import Status, save_request
    from shlepa.queue.runner import Outcome, RunnerOptions, finalize

    root = Path(root).resolve()
    target = merge_shards(root, paths, request_path, runner=runner, run_url=run_url)
    rel = Path(json.loads(target.read_text(encoding="utf-8"))["request_file"])
    request = load_request(root / rel)
    count = len(json.loads(target.read_text(encoding="utf-8"))["evaluation"]["shards"])
    reason = f"results in {target.relative_to(root)} (merged from {count} shards)"
    save_request(request.with_status(Status.finished, reason, runner=runner, run_url=run_url), root)
    if repo is None:
        return target, Outcome(rel, Status.finished, [target])
    return target, finalize(repo, root, rel, RunnerOptions(runner=runner, run_url=run_url), push)


def record_merge_failure(root: Path, rel: Path, message: str, runner: str, run_url: str | None,
                         repo: Any, push: bool) -> Any:
    """A merge that cannot happen ends the RUNNING request FAILED (committed), never left RUNNING."""
    from shlepa.records.request import Failure, Status, save_request
    from shlepa.queue.runner import Outcome, RunnerOptions, finalize

    root = Path(root).resolve()
    request = load_request(root / rel)
    if request.status != Status.running:
        return Outcome(rel, request.status, note="not RUNNING; left as it is")
    failed = request.with_status(Status.failed, f"ShardMergeError: {message}"[:2000], runner=runner, run_url=run_url)
    failure = Failure(error_class="ShardMergeError", message=message[:4000], log_tail="",
                      log_url=f"{run_url}#artifacts" if run_url else None)
    save_request(failed.model_copy(update={"failure": failure}), root)
    return finalize(repo, root, rel, RunnerOptions(runner=runner, run_url=run_url), push)
