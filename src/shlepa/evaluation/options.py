"""What one evaluation is: its options, and the run record every path (single, split, merge) fills.

The record is built once from the request and the options (:meth:`EvaluationRun.start`),
filled while the model runs, and turned into the results file by
:func:`shlepa.evaluation.run.build_payload`. A split writes the record's
serializable fields into its file, so the merge reads back the same record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shlepa.config import DEFAULT_BACKEND
from shlepa.evaluation.model import lm_args_for, model_args_for
from shlepa.evaluation.tasks import BenchmarkPlan, plan
from shlepa.records.request import Request
from shlepa.records.scores import BenchmarkScore
from shlepa.records.suite import Benchmark, DataSource, Suite, load_suite, select_benchmarks


@dataclass
class EvalOptions:
    """Settings of one evaluation run; every one of them lands in the results file."""

    source: DataSource = DataSource.hub
    benchmarks: list[str] | None = None
    model_path: Path | None = None
    backend: str = DEFAULT_BACKEND
    backend_args: dict[str, Any] = field(default_factory=dict)
    batch_size: str | int = "auto"
    device: str | None = None
    limit: int | float | None = None
    cache_dir: Path | None = None
    force: bool = False
    runner: str | None = None
    run_url: str | None = None
    confirm_run_unsafe_code: bool = False
    # The request was already claimed (committed RUNNING by a runner): do not mark it again.
    claimed: bool = False
    log_url: str | None = None
    memorization_data: Path | None = None  # local sample of the model's training data
    wandb_project: str | None = None  # log to Weights & Biases (lm-eval's WandbLogger) when set

    _PATHS = ("model_path", "cache_dir", "memorization_data")

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["source"] = self.source.value
        for name in self._PATHS:
            out[name] = str(out[name]) if out[name] is not None else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["source"] = DataSource(kw.get("source", DataSource.hub.value))
        for name in cls._PATHS:
            kw[name] = Path(kw[name]) if kw.get(name) else None
        return cls(**kw)


@dataclass
class EvaluationRun:
    """One request's evaluation from plan to lm-eval output: everything its results file is built from."""

    request: Request
    suite: Suite
    benchmarks: list[Benchmark]  # the selected ones, in suite order
    plan: BenchmarkPlan
    options: EvalOptions
    model_args: dict[str, Any]  # the request's HF model arguments (see model_args_for)
    lm_args: dict[str, Any]  # what the backend was created with
    model_info: dict[str, Any] | None = None
    started: datetime | None = None
    finished: datetime | None = None
    duration_s: float | None = None
    raw: dict[str, Any] = field(default_factory=lambda: {"results": {}})  # lm-eval's output
    leaves: dict[str, list[str]] = field(default_factory=dict)  # benchmark key -> leaf task names
    names: dict[str, str] = field(default_factory=dict)  # benchmark key -> task or group name
    memo_scores: dict[str, BenchmarkScore] = field(default_factory=dict)
    memo_info: dict[str, Any] = field(default_factory=dict)
    wandb_dir: str | None = None
    splits: list[dict[str, Any]] | None = None  # a merged run: each split's tasks, runner and times
    scoring: dict[str, Any] | None = None  # per task, the path that scored it (records.scoring.compact)

    @classmethod
    def start(cls, request: Request, root: Path, options: EvalOptions) -> EvaluationRun:
        """The plan of a run: suite, selected benchmarks, what runs how, model arguments."""
        suite = load_suite(request.suite, root)
        benchmarks = select_benchmarks(suite, options.benchmarks)
        model_args = model_args_for(request, model_path=options.model_path, device=options.device)
        return cls(
            request=request,
            suite=suite,
            benchmarks=benchmarks,
            plan=plan(suite, benchmarks, options),
            options=options,
            model_args=model_args,
            lm_args=lm_args_for(options.backend, model_args, options.backend_args),
        )

    @property
    def chat_template(self) -> bool:
        """Whether lm-eval applies the model's chat template (the request asks, or the suite says so)."""
        return self.suite.uses_chat_template(self.request.use_chat_template, self.request.model_type.value)

    @property
    def fewshot_as_multiturn(self) -> bool:
        return self.chat_template and self.suite.fewshot_as_multiturn

    def to_json(self) -> dict[str, Any]:
        """The fields that are not derived from the request and the options (for a split's file)."""
        return {
            "request_file": str(self.request.relpath),
            "options": self.options.to_json(),
            "model_args": self.model_args,
            "lm_args": self.lm_args,
            "model_info": self.model_info,
            "started_at": self.started.isoformat() if self.started else None,
            "finished_at": self.finished.isoformat() if self.finished else None,
            "duration_s": self.duration_s,
            "leaves": self.leaves,
            "names": self.names,
            "memorization_scores": {k: v.model_dump() for k, v in self.memo_scores.items()},
            "memorization": self.memo_info,
            "wandb_dir": self.wandb_dir,
            "scoring": self.scoring,
            "lm_eval": self.raw,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], request: Request, root: Path) -> EvaluationRun:
        """The record :meth:`to_json` wrote, for ``request`` (plan recomputed from the stored options)."""
        run = cls.start(request, root, EvalOptions.from_json(data["options"]))
        run.model_args, run.lm_args, run.model_info = data["model_args"], data["lm_args"], data["model_info"]
        run.started = datetime.fromisoformat(data["started_at"]) if data.get("started_at") else None
        run.finished = datetime.fromisoformat(data["finished_at"]) if data.get("finished_at") else None
        run.duration_s = data.get("duration_s")
        run.leaves, run.names = data["leaves"], data["names"]
        run.memo_scores = {k: BenchmarkScore(**v) for k, v in (data.get("memorization_scores") or {}).items()}
        run.memo_info = data.get("memorization") or {}
        run.wandb_dir = data.get("wandb_dir")
        run.scoring = data.get("scoring")
        run.raw = data["lm_eval"]
        return run
