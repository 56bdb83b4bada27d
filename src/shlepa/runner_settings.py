"""Runner settings: the ``runner:`` section of ``leaderboard.yaml`` at the repository root.

Missing file or section means defaults. The owner's file is trusted (it lives on
main and changes only by a reviewed merge); request files never set any of this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Annotated

from pydantic import BaseModel, ConfigDict, Field

from .yamlio import YamlError, load_yaml

SETTINGS_FILE = "leaderboard.yaml"


class RunnerSettingsError(ValueError):
    """leaderboard.yaml's runner section is unusable; the message names file and field."""


class RunnerSettings(BaseModel):
    """How runners evaluate and share the queue."""

    model_config = ConfigDict(extra="forbid")

    stale_after_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 30)] = Field(
        default=720,
        description="A RUNNING request older than this is put back to PENDING by the sweep; "
        "keep it above the evaluate job's timeout-minutes.",
    )
    data: Literal["hub", "bundled"] = Field(
        default="hub", description="hub (stock lm-eval tasks) or bundled (offline mini edition)"
    )
    backend: str = Field(
        default="shlepa-hf",
        description="shlepa-hf (HF, shared contexts computed once), hf (plain lm-eval), vllm (optional extra) "
        "or dummy (tests)",
    )
    batch_size: str | int = "auto"
    device: str | None = None
    limit: float | None = None
    cache_dir: str | None = Field(
        default=None, description="lm-eval request cache folder (default ~/.cache/shlepa/lm_eval)"
    )
    push_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    push_backoff_s: Annotated[float, Field(ge=0, le=600)] = 1.0
    max_shards: Annotated[int, Field(ge=1, le=256)] = Field(
        default=1, description="Most GPU runners one evaluate run spreads the queue over (the matrix size)")
    launcher: list[str] = Field(
        default_factory=list,
        description="Command prefix that starts `-m shlepa evaluate` in a child process, "
        "e.g. [accelerate, launch, --num_processes, '4'] for data parallel; empty = in process",
    )


def load_runner_settings(root: Path) -> RunnerSettings:
    """The ``runner:`` section of the leaderboard's settings (defaults when absent)."""
    from .settings import SettingsError, load_settings

    try:
        return load_settings(root).runner
    except SettingsError as exc:
        raise RunnerSettingsError(str(exc)) from None


EVALUATE_WORKFLOW = Path(".github") / "workflows" / "evaluate.yml"


def gpu_job_timeouts(root: Path) -> dict[str, int]:
    """timeout-minutes of every GPU job (``runs-on`` names ``gpu``) in evaluate.yml; {} without the file."""
    path = Path(root) / EVALUATE_WORKFLOW
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise RunnerSettingsError(str(exc)) from None
    out: dict[str, int] = {}
    for name, job in ((data or {}).get("jobs") or {}).items():
        runs_on = job.get("runs-on") if isinstance(job, dict) else None
        labels = runs_on if isinstance(runs_on, list) else [runs_on]
        if "gpu" in labels:
            timeout = job.get("timeout-minutes")
            if not isinstance(timeout, int):
                raise RunnerSettingsError(f"{path}: field 'jobs.{name}.timeout-minutes': a GPU job needs a number")
            out[name] = timeout
    return out


def check_stale_after(root: Path, settings: RunnerSettings | None = None) -> None:
    """The sweep must never requeue a request whose GPU job is still allowed to run.

    So ``runner.stale_after_minutes`` has to be above every GPU job's
    ``timeout-minutes`` in evaluate.yml; otherwise a RunnerSettingsError names both.
    """
    settings = settings or load_runner_settings(root)
    timeouts = gpu_job_timeouts(root)
    if not timeouts:
        return
    job, longest = max(timeouts.items(), key=lambda kv: kv[1])
    if settings.stale_after_minutes <= longest:
        raise RunnerSettingsError(
            f"{Path(root) / SETTINGS_FILE}: field 'runner.stale_after_minutes': {settings.stale_after_minutes} must be "
            f"above the {job!r} job's timeout-minutes ({longest} in {EVALUATE_WORKFLOW}), or the sweep requeues "
            "requests whose job is still running"
        )
