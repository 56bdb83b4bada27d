"""Which benchmarks of a suite run, and their lm-eval task objects, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shlepa.evaluation import EvaluationError, lm_eval_api
from shlepa.records.suite import Benchmark, DataSource, Suite, tasks_dir

if TYPE_CHECKING:
    from shlepa.evaluation.options import EvalOptions


class BenchmarkPlan(NamedTuple):
    """The selected benchmarks split by how they run: lm-eval, memorization, or skipped (with why)."""

    run: list[Benchmark]
    memorize: list[Benchmark]
    skipped: dict[str, str]


@dataclass
class LoadedTasks:
    objects: list[Any]
    leaves: dict[str, list[str]]  # benchmark key -> leaf task names
    names: dict[str, str]  # benchmark key -> task or group name that was loaded
    manager: Any = None  # the lm-eval TaskManager, reused so its task index is built once


def plan(suite: Suite, benchmarks: list[Benchmark], opts: EvalOptions) -> BenchmarkPlan:
    """Split the selected benchmarks into lm-eval ones, memorization ones and skipped ones (with why)."""
    run, memo, skipped = [], [], {}
    for bench in benchmarks:
        if bench.kind == "memorization":
            if opts.memorization_data is None:
                skipped[bench.key] = "no training-data sample given (--memorization-data)"
            else:
                memo.append(bench)
        elif not bench.task_for(opts.source):
            skipped[bench.key] = f"no task for {opts.source.value} data in suite {suite.name}"
        elif bench.unsafe_code and not opts.confirm_run_unsafe_code:
            skipped[bench.key] = (
                "runs model-written code; start the evaluation with --allow-code-eval "
                "(or set runner.allow_code_eval in leaderboard.yaml) to include it"
            )
        else:
            run.append(bench)
    return BenchmarkPlan(run, memo, skipped)


def load_tasks(root: Path, benchmarks: list[Benchmark], source: DataSource) -> LoadedTasks:
    """Build lm-eval task objects once, with each benchmark's few-shot count set."""
    # Indexing lm-eval's ~10,000 stock task files takes many seconds: the bundled
    # edition only needs ours.
    manager = lm_eval_api.task_manager(str(tasks_dir(root)), include_defaults=source == DataSource.hub)
    objects: list[Any] = []
    leaves: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for bench in benchmarks:
        task = bench.task_for(source)
        if not task:
            raise EvaluationError(f"benchmark {bench.key}: no {source.value} task defined")
        shared = next((k for k, name in names.items() if name == task), None)
        if shared is not None:  # several metrics of one task (perplexities): run it once
            leaves[bench.key], names[bench.key] = leaves[shared], task
            continue
        loaded = manager.load([task])
        for task_obj in loaded["tasks"].values():
            task_obj.set_config(key="num_fewshot", value=bench.num_fewshot)
        leaves[bench.key] = sorted(loaded["tasks"])
        names[bench.key] = task
        objects.extend((loaded["groups"].get(task) and [loaded["groups"][task]]) or loaded["tasks"].values())
    return LoadedTasks(objects=objects, leaves=leaves, names=names, manager=manager)
