"""Leaderboard settings: the committed ``leaderboard.yaml`` at the repository root.

One top-level :class:`Settings` with a section per area (``validation:``,
``runner:``). A missing file or section means defaults; an unknown key or a bad
value is a :class:`SettingsError` naming the file and field. The owner's file is
trusted (it lives on main and changes only by a reviewed merge); request files
never set any of this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shlepa.errors import ShlepaError
from shlepa.io.yaml import YamlError, load_yaml

SETTINGS_FILE = "leaderboard.yaml"

#: lm-eval backend of an evaluation unless leaderboard.yaml or the command says otherwise.
DEFAULT_BACKEND = "shlepa-hf"

DEFAULT_OPEN_LICENSES = [
    "apache-2.0",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc0-1.0",
    "openrail",
    "openrail++",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "gemma",
    "mpl-2.0",
    "gpl-3.0",
    "lgpl-3.0",
    "agpl-3.0",
    "afl-3.0",
    "artistic-2.0",
    "unlicense",
    "wtfpl",
    "odc-by",
]


class HubRetry(BaseModel):
    """How hard to try the Hub before saying "could not verify"."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(4, ge=1, le=20)
    base_delay_s: float = Field(1.0, ge=0, le=60)
    max_delay_s: float = Field(20.0, ge=0, le=600)
    timeout_s: float = Field(20.0, gt=0, le=600)


class ValidationSettings(BaseModel):
    """Rules a submission must follow (the Open LLM Leaderboard's, made configurable)."""

    model_config = ConfigDict(extra="forbid")

    open_licenses: list[str] = Field(default_factory=lambda: list(DEFAULT_OPEN_LICENSES))
    max_params_b: float = Field(140.0, gt=0)
    optout_orgs: list[str] = Field(default_factory=list)
    max_open_requests_per_submitter: int = Field(5, ge=1)
    min_card_chars: int = Field(200, ge=0)
    max_tokenizer_mb: float = Field(50.0, gt=0, description="largest config or tokenizer file parsed")
    max_json_depth: int = Field(100, ge=2, le=10_000, description="deepest nesting of config.json accepted")
    chat_template_timeout_s: float = Field(
        10.0, gt=0, le=600, description="longest one render of the model's chat template may take at validation"
    )
    submitted_at_max_age_days: int = Field(
        30, ge=1, description="a new request's submitted_at may be at most this old (and not in the future)"
    )
    hub_retry: HubRetry = Field(default_factory=HubRetry)

    def license_is_open(self, license: str) -> bool:
        return license.strip().lower() in {x.lower() for x in self.open_licenses}

    def is_opted_out(self, model_id: str) -> bool:
        org = model_id.split("/", 1)[0].lower()
        return org in {x.lower() for x in self.optout_orgs}


class RunnerSettings(BaseModel):
    """How runners evaluate and share the queue."""

    model_config = ConfigDict(extra="forbid")

    stale_after_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 30)] = Field(
        default=720,
        description="A RUNNING request older than this is put back to PENDING by the sweep; "
        "keep it above the evaluate job's timeout-minutes.",
    )
    max_attempts: Annotated[int, Field(ge=0, le=100)] = Field(
        default=3,
        description="How many times the sweep requeues a request whose runner died (each is recorded in its "
        "history); the next dead runner ends it FAILED, so one request cannot hold the queue.",
    )
    request_timeout_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 7)] = Field(
        default=360,
        description="Longest one request may evaluate; past it the evaluation ends FAILED ('evaluation exceeded "
        "N minutes') and the drain goes on with the next request. With --isolate (or a launcher) the child's "
        "whole process group is killed; in process the run is interrupted at the next Python instruction. "
        "Each part of a split request (--split) has the same limit. Keep it below the evaluate job's timeout-minutes.",
    )
    data: Literal["hub", "bundled"] = Field(
        default="hub", description="hub (stock lm-eval tasks) or bundled (offline mini edition)"
    )
    allow_code_eval: bool = Field(
        default=False,
        description="Run the code benchmarks (HumanEval, MBPP) on the runners, as --allow-code-eval does: "
        "model-written code, each program in a bubblewrap sandbox (scripts/install-sandbox.sh on the runner "
        "image); a runner without one refuses before it claims anything. Off: those benchmarks are "
        "recorded as skipped, with the reason.",
    )
    backend: str = Field(
        default=DEFAULT_BACKEND,
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
    max_runners: Annotated[int, Field(ge=1, le=256)] = Field(
        default=1, description="Most GPU runners one evaluate run spreads the queue over (the matrix size)"
    )
    launcher: list[str] = Field(
        default_factory=list,
        description="Command prefix that starts `-m shlepa evaluate` in a child process, "
        "e.g. [accelerate, launch, --num_processes, '4'] for data parallel; empty = in process",
    )


#: An http(s) address a site or a store publishes under, ending in / (files are named after it).
BASE_URL = r"^https?://[^\s\"'<>]{1,300}/$"


class SiteSettings(BaseModel):
    """Where the leaderboard lives: the Submit form opens its PRs there, checklists link to its site."""

    model_config = ConfigDict(extra="forbid")

    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")] = Field(
        default="shlepa/shlepa", description="OWNER/NAME of the leaderboard's GitHub repository"
    )
    branch: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,100}$")] = Field(
        default="main", description="the branch submissions are merged into"
    )
    url: Annotated[str, Field(pattern=BASE_URL)] | None = Field(
        default=None,
        description="the published site (ending in /): the PR checklist links to its queue page, the 404 page "
        "(served at any depth) links under its path, the sitemap lists addresses under it",
    )
    engine: Literal["mkdocs", "properdocs", "zensical"] = Field(
        default="properdocs",
        description="what renders mkdocs.yml with Material: properdocs (the maintained fork of MkDocs 1.6, the "
        "same pages), mkdocs (1.6, no longer released) or zensical (Material's authors' successor; "
        "pip install 'shlepa[zensical]'); `shlepa build --engine` overrides it. Measured at 10,000 models: "
        "README, Site at scale",
    )


_REPO_ID = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"


class BranchStoreSettings(BaseModel):
    """The ``branch`` store: an orphan branch of the leaderboard's own repository, never merged."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,100}$")] = Field(
        default="details", description="the branch details are pushed to (never merged into main)"
    )
    remote: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")] = "origin"


class HfStoreSettings(BaseModel):
    """The ``hf`` store: a Hugging Face dataset repository (token from ``HF_TOKEN``)."""

    model_config = ConfigDict(extra="forbid")

    repo: Annotated[str, Field(pattern=_REPO_ID)] | None = Field(
        default=None, description="ORG/NAME of the dataset repository"
    )
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")] = "main"
    endpoint: Annotated[str, Field(pattern=r"^https?://[^\s\"'<>]{1,300}$")] | None = Field(
        default=None, description="the Hub (default: $HF_ENDPOINT, else huggingface.co)"
    )


class S3StoreSettings(BaseModel):
    """The ``s3`` store: any S3-compatible bucket the browser can read (keys from ``AWS_*``)."""

    model_config = ConfigDict(extra="forbid")

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")] | None = None
    prefix: Annotated[str, Field(pattern=r"^(?:[A-Za-z0-9._-]+/)*$")] = Field(
        default="", description="folder inside the bucket, ending in / (or empty)"
    )
    endpoint_url: Annotated[str, Field(pattern=r"^https?://[^\s\"'<>]{1,300}$")] | None = Field(
        default=None, description="the S3 API (default: AWS); e.g. an R2, MinIO or B2 endpoint"
    )
    region: str | None = None
    public_url: Annotated[str, Field(pattern=BASE_URL)] | None = Field(
        default=None, description="where browsers read the bucket (ending in /): the site fetches details there"
    )


class DetailsSettings(BaseModel):
    """Where per-sample details live (off main): one store, chosen here."""

    model_config = ConfigDict(extra="forbid")

    store: Literal["branch", "hf", "s3"] = Field(
        default="branch",
        description="branch (a details branch copied into the Pages site), hf (a Hub dataset) or s3 (a bucket)",
    )
    pages_budget_mb: Annotated[float, Field(gt=0, le=100_000)] = Field(
        default=900.0,
        description="with the branch store, `shlepa build` refuses a site larger than this (GitHub Pages: 1 GB)",
    )
    branch: BranchStoreSettings = Field(default_factory=BranchStoreSettings)
    hf: HfStoreSettings = Field(default_factory=HfStoreSettings)
    s3: S3StoreSettings = Field(default_factory=S3StoreSettings)

    @model_validator(mode="after")
    def _chosen_store_is_complete(self) -> DetailsSettings:
        if self.store == "hf" and not self.hf.repo:
            raise ValueError("the hf store needs details.hf.repo (ORG/NAME of a dataset repository)")
        if self.store == "s3" and not (self.s3.bucket and self.s3.public_url):
            raise ValueError("the s3 store needs details.s3.bucket and details.s3.public_url")
        return self


class Settings(BaseModel):
    """The whole ``leaderboard.yaml``; each area owns one section."""

    model_config = ConfigDict(extra="forbid")

    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    details: DetailsSettings = Field(default_factory=DetailsSettings)


class SettingsError(ShlepaError, ValueError):
    """``leaderboard.yaml`` is unusable; the message names file, field and cause."""


def load_settings(root: Path) -> Settings:
    """Settings of the leaderboard at ``root``; defaults when the file is absent."""
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise SettingsError.from_error(exc) from None
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise SettingsError(f"expected a mapping of sections, got {type(data).__name__}", path=path)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError.from_validation(path, exc) from None


EVALUATE_WORKFLOW = Path(".github") / "workflows" / "evaluate.yml"


def gpu_job_timeouts(root: Path) -> dict[str, int]:
    """timeout-minutes of every GPU job (``runs-on`` names ``gpu``) in evaluate.yml; {} without the file."""
    path = Path(root) / EVALUATE_WORKFLOW
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise SettingsError.from_error(exc) from None
    out: dict[str, int] = {}
    for name, job in ((data or {}).get("jobs") or {}).items():
        runs_on = job.get("runs-on") if isinstance(job, dict) else None
        labels = runs_on if isinstance(runs_on, list) else [runs_on]
        if "gpu" in labels:
            timeout = job.get("timeout-minutes")
            if not isinstance(timeout, int):
                raise SettingsError("a GPU job needs a number", path=path, field=f"jobs.{name}.timeout-minutes")
            out[name] = timeout
    return out


def check_stale_after(root: Path, settings: RunnerSettings | None = None) -> None:
    """The sweep must never requeue a request whose GPU job is still allowed to run.

    So ``runner.stale_after_minutes`` has to be above every GPU job's
    ``timeout-minutes`` in evaluate.yml; otherwise a SettingsError names both.
    """
    settings = settings or load_settings(root).runner
    timeouts = gpu_job_timeouts(root)
    if not timeouts:
        return
    job, longest = max(timeouts.items(), key=lambda kv: kv[1])
    if settings.stale_after_minutes <= longest:
        raise SettingsError(
            f"{Path(root) / SETTINGS_FILE}: field 'runner.stale_after_minutes': {settings.stale_after_minutes} must be "
            f"above the {job!r} job's timeout-minutes ({longest} in {EVALUATE_WORKFLOW}), or the sweep requeues "
            "requests whose job is still running"
        )
