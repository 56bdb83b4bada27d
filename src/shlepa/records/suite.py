"""Benchmark suites: YAML data under ``eval/suites/``, loaded into typed models.

A suite lists benchmarks. Each names the stock lm-eval task that a real deployment
runs on its Hub dataset (``task``) and the bundled offline mini edition
(``bundled_task``) that the demo and the tests run, plus the few-shot count, the
metric, how subtasks aggregate and the baseline used for normalized scores.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from shlepa.errors import ShlepaError
from shlepa.io.yaml import YamlError, load_yaml

#: A benchmark key: it names columns, URLs and files on the site, so only these characters.
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
Key = Annotated[str, StringConstraints(pattern=KEY_RE.pattern)]


class DataSource(StrEnum):
    """Which edition of a suite's tasks to run."""

    hub = "hub"
    bundled = "bundled"


class Benchmark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Key
    title: str
    description: str = ""
    task: str | None = Field(default=None, description="stock lm-eval task or group (Hub data)")
    bundled_task: str | None = Field(default=None, description="offline task in eval/tasks")
    num_fewshot: Annotated[int, Field(ge=0, le=100)]
    metric: str
    filter: str = "none"
    aggregate: Literal["task", "subtask_mean"] = "task"
    baseline: Annotated[float, Field(ge=0, le=100)] = 0.0
    baseline_note: str = ""
    higher_is_better: bool = Field(default=True, description="false for perplexities, bits per byte, bias scores")
    scale: float = Field(default=100.0, description="multiplier from lm-eval's value to the score")
    group: str = ""
    url: str = ""
    citation: str = ""
    unsafe_code: bool = Field(default=False, description="task executes model-written code")
    in_average: bool = Field(default=True, description="counts in the leaderboard average")
    unit: str = Field(default="%", max_length=10, description="unit of the score as shown ('' for ratios)")
    version: float | None = Field(
        default=None, description="lm-eval's metadata version of the task (of each subtask of a group) it names"
    )
    also_metrics: list[str] = Field(
        default_factory=list,
        description="further metrics (same filter) averaged with `metric` into the score, e.g. IFEval's "
        "instruction- and prompt-level strict accuracy",
    )
    subtask_baselines: dict[str, Annotated[float, Field(ge=0, lt=100)]] = Field(
        default_factory=dict,
        description="per subtask (leaf lm-eval task), its own random baseline in percent: the normalized score "
        "maps each subtask's baseline to 0 and 100 to 100, then averages the subtasks (Open LLM Leaderboard v2)",
    )
    kind: Literal["lm_eval", "memorization"] = Field(
        default="lm_eval", description="lm_eval: an lm-eval task; memorization: shlepa.evaluation.memorization"
    )
    memorization_k: Annotated[int, Field(ge=1, le=4096)] = Field(
        default=32, description="prefix and continuation length in tokens (kind: memorization)"
    )

    @property
    def normalizes(self) -> bool:
        """A percent score where higher is better has a 0-100 scale to normalize on, from its baseline.

        Perplexities, bits per byte, bias and memorization have none: their baseline is not
        used, so the board shows none.
        """
        return self.higher_is_better and self.unit == "%"

    @property
    def metric_key(self) -> str:
        return f"{self.metric},{self.filter}"

    @property
    def stderr_key(self) -> str:
        return f"{self.metric}_stderr,{self.filter}"

    def task_for(self, source: DataSource) -> str | None:
        return self.bundled_task if source == DataSource.bundled else self.task

    @model_validator(mode="after")
    def _kind_fields(self) -> Benchmark:
        if self.kind == "memorization" and (self.task or self.bundled_task):
            raise ValueError("a memorization benchmark runs no lm-eval task; remove task/bundled_task")
        if self.in_average and not self.higher_is_better:
            # The average is "higher is better"; a perplexity or a bias score in it would pull it the wrong way.
            raise ValueError("a lower-is-better benchmark cannot count in the average; set in_average: false")
        return self


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Key
    title: str
    description: str = ""
    # The lm-eval release this suite's scores are comparable under (scores move between
    # harness versions); the board marks results evaluated with any other. None: not pinned.
    lm_eval_version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")] | None = None
    benchmarks: Annotated[list[Benchmark], Field(min_length=1)]
    about: str = Field(
        default="", description="Markdown for the About page: how the numbers compare with the original board"
    )
    average_of: Literal["scores", "normalized"] = Field(
        default="scores",
        description="what the leaderboard average (and rank) is the mean of: the scores as they are, or the "
        "normalized scores (Open LLM Leaderboard v2)",
    )
    chat_template: Literal["request", "chat_models"] = Field(
        default="request",
        description="request: the chat template only where the request asks for it; chat_models: also for "
        "every model of type chat (as Open LLM Leaderboard v2 ran them)",
    )
    fewshot_as_multiturn: bool = Field(
        default=False, description="with the chat template on, few-shot examples as turns of the conversation"
    )

    def uses_chat_template(self, use_chat_template: bool, model_type: str) -> bool:
        """Whether a request's evaluation applies the model's chat template under this suite."""
        return use_chat_template or (self.chat_template == "chat_models" and model_type == "chat")

    def benchmark(self, key: str) -> Benchmark:
        for bench in self.benchmarks:
            if bench.key == key:
                return bench
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [b.key for b in self.benchmarks]

    def runnable(self, source: DataSource) -> list[Benchmark]:
        """Benchmarks that have a task for this data source."""
        return [b for b in self.benchmarks if b.task_for(source)]

    @property
    def average_keys(self) -> list[str]:
        """Benchmarks that count in the average (not perplexities, bias or memorization)."""
        return [b.key for b in self.benchmarks if b.in_average]


class SuiteError(ShlepaError, ValueError):
    """A suite file is unusable; the message names the file and the field."""


def suites_dir(root: Path) -> Path:
    return Path(root) / "eval" / "suites"


def tasks_dir(root: Path) -> Path:
    return Path(root) / "eval" / "tasks"


def available_suites(root: Path) -> list[str]:
    return sorted(p.stem for p in suites_dir(root).glob("*.yaml"))


def load_suite(name_or_path: str | Path, root: Path) -> Suite:
    """Load a suite by name (``eval/suites/<name>.yaml``) or by path."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in {".yaml", ".yml"} else suites_dir(root) / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_suites(root)) or "none"
        raise SuiteError(f"unknown suite {str(name_or_path)!r}; available: {known}", path=path)
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise SuiteError.from_error(exc) from None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError.from_validation(path, exc) from None
    keys = suite.keys
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SuiteError(f"duplicate key(s) {', '.join(dupes)}", path=path, field="benchmarks")
    if suite.name != path.stem:
        raise SuiteError(f"{suite.name!r} must match the file name {path.stem!r}", path=path, field="name")
    return suite


def select_benchmarks(suite: Suite, keys: list[str] | None) -> list[Benchmark]:
    """The suite's benchmarks, or the named subset (unknown names are an error)."""
    if not keys:
        return list(suite.benchmarks)
    unknown = [k for k in keys if k not in suite.keys]
    if unknown:
        raise SuiteError(
            f"suite {suite.name}: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(suite.keys)}"
        )
    return [suite.benchmark(k) for k in keys]
