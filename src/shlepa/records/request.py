"""Evaluation requests: one YAML file per model@revision@precision(@suite).

A request lives at ``requests/<org>/<model>/<revision>_<precision>.yaml`` (a suite
other than the default adds ``_<suite>``). Its pydantic model is the boundary:
anything that parses here is safe to hand to the later steps, and anything that
does not gets an error naming the file, the field and what is allowed.
"""

from __future__ import annotations

import os
import reprlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from shlepa.errors import ShlepaError
from shlepa.io import atomic
from shlepa.io.yaml import YamlError, dump_yaml, load_yaml
from shlepa.records.keys import DEFAULT_SUITE, MODEL_ID_RE, SHA_RE, SUITE_RE, evaluation_key, request_relpath

ModelId = Annotated[str, StringConstraints(pattern=MODEL_ID_RE.pattern, max_length=193)]
CommitSha = Annotated[str, StringConstraints(pattern=SHA_RE.pattern)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Precision(StrEnum):
    float16 = "float16"
    bfloat16 = "bfloat16"
    float32 = "float32"
    int8 = "8bit"
    int4 = "4bit"


#: safetensors dtype names of stored weights -> the precision that loads them unchanged.
STORED_DTYPE_PRECISION = {"BF16": Precision.bfloat16, "F16": Precision.float16, "F32": Precision.float32}


class ModelType(StrEnum):
    pretrained = "pretrained"
    continuously_pretrained = "continuously-pretrained"
    fine_tuned = "fine-tuned"
    chat = "chat"
    merge = "merge"


MODEL_TYPE_SYMBOLS: dict[str, str] = {
    "pretrained": "🟢",
    "continuously-pretrained": "🟩",
    "fine-tuned": "🔶",
    "chat": "💬",
    "merge": "🤝",
}


class WeightType(StrEnum):
    original = "original"
    adapter = "adapter"
    delta = "delta"


class Status(StrEnum):
    pending = "PENDING"
    running = "RUNNING"
    finished = "FINISHED"
    failed = "FAILED"


def utcnow() -> datetime:
    # Microseconds matter: a requeue in the same second as a finished evaluation
    # must still sort after it.
    return datetime.now(UTC)


class StatusChange(BaseModel):
    """One step of a request's life; the last one is the current status."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    status: Status
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""
    runner: Annotated[str, StringConstraints(max_length=200)] | None = None
    run_url: Annotated[str, StringConstraints(max_length=500)] | None = None


class Failure(BaseModel):
    """Why the last evaluation failed, for the submitter to read without asking anyone."""

    model_config = ConfigDict(extra="forbid")

    error_class: Annotated[str, StringConstraints(max_length=200)]
    message: Annotated[str, StringConstraints(max_length=4000)]
    log_tail: Annotated[str, StringConstraints(max_length=20000)] = ""
    log_url: Annotated[str, StringConstraints(max_length=500)] | None = None


class Checkpoint(BaseModel):
    """Membership in a training-checkpoint series (one request per checkpoint)."""

    model_config = ConfigDict(extra="forbid")

    series: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    step: Annotated[int, Field(ge=0, le=10**12)]
    ref: Annotated[str, StringConstraints(max_length=200)] | None = None


class Request(BaseModel):
    """An evaluation request as committed under ``requests/``."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, validate_assignment=True)

    model: ModelId
    revision: CommitSha
    precision: Precision
    model_type: ModelType
    weight_type: WeightType = WeightType.original
    base_model: ModelId | None = None
    # The base model's own commit: an adapter or delta is evaluated on exactly this base.
    base_revision: CommitSha | None = None
    use_chat_template: bool = False
    license: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    params: Annotated[float, Field(ge=0, le=100_000)] | None = Field(
        default=None, description="parameter count in billions"
    )
    submitter: ShortText
    submitted_at: datetime
    suite: Annotated[str, StringConstraints(pattern=SUITE_RE.pattern)] = DEFAULT_SUITE
    checkpoint: Checkpoint | None = None
    status: Status = Status.pending
    history: list[StatusChange] = Field(default_factory=list, max_length=1000)
    failure: Failure | None = None

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _base_model_rule(self) -> Request:
        if self.weight_type != WeightType.original and not self.base_model:
            raise ValueError(f"base_model is required when weight_type is {self.weight_type.value!r}")
        if self.weight_type == WeightType.original and (self.base_model or self.base_revision):
            raise ValueError("base_model and base_revision must be empty when weight_type is 'original'")
        return self

    # -- derived -------------------------------------------------------------------
    @property
    def org(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.model.split("/", 1)[1]

    @property
    def key(self) -> str:
        """Identity of an evaluation: model@revision@precision@suite."""
        return evaluation_key(self.model, self.revision, self.precision.value, self.suite)

    @property
    def relpath(self) -> Path:
        return request_relpath(self.model, self.revision, self.precision.value, self.suite)

    def with_status(self, status: Status, reason: str = "", **extra: Any) -> Request:
        """A copy moved to ``status``, with the change appended to the history."""
        change = StatusChange(at=utcnow(), status=status, reason=reason[:2000], **extra)
        data = self.model_dump()
        data["status"] = status
        data["history"] = [*self.history, change]
        if status != Status.failed:
            data["failure"] = None
        return Request.model_validate(data)

    def to_yaml(self) -> str:
        return dump_yaml(self.model_dump(mode="json", exclude_none=True))


class RequestError(ShlepaError, ValueError):
    """A request file is unusable. ``str()`` is one line: file, field, cause."""

    def __init__(self, path: Path | str, field: str | None, message: str):
        super().__init__(message, path=path, field=field)


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict = 3, 4, 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SHORT_REPR.maxlong = 80


def _allowed(field: str) -> str:
    enums = {
        "precision": Precision,
        "model_type": ModelType,
        "weight_type": WeightType,
        "status": Status,
    }
    if field in enums:
        return "; allowed: " + ", ".join(e.value for e in enums[field])
    return ""


def format_validation_error(path: Path | str, exc: ValidationError) -> list[RequestError]:
    errors: list[RequestError] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or None
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(Request.model_fields)
            msg = f"unknown field; allowed fields: {allowed}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        else:
            value = err.get("input")
            shown = _SHORT_REPR.repr(value)  # bounded: a YAML alias bomb must not be expanded
            if len(shown) > 80:
                shown = shown[:77] + "..."
            msg = f"{err['msg']} (got {shown}){_allowed(loc or '')}"
            if loc == "revision":
                msg += "; use the full 40-character commit sha (shlepa submit resolves branches)"
        errors.append(RequestError(path, loc, msg))
    return errors


def parse_request(data: Any, path: Path | str) -> Request:
    """Validate already-loaded YAML data; raises the first problem as RequestError."""
    problems = collect_request_problems(data, path)
    if isinstance(problems, Request):
        return problems
    raise problems[0]


def collect_request_problems(data: Any, path: Path | str) -> Request | list[RequestError]:
    """Every problem of a request at once (for checklists), or the parsed request."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return [RequestError(path, None, f"expected a mapping of fields, got {kind}")]
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        return [RequestError(path, str(bad_keys[0])[:50], "field names must be strings")]
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        return format_validation_error(path, exc)


def outside_requests(path: Path, root: Path) -> RequestError | None:
    """An error when ``path`` is not a file below ``<root>/requests`` once symlinks are resolved.

    Checked before a request is read or written, so neither a symlinked folder nor
    ``..`` in a path makes shlepa touch a file outside the requests folder.
    """
    base = Path(root) / "requests"
    if base.is_symlink():
        return RequestError(path, None, f"{base} is a symbolic link; the requests folder must be a real folder")
    try:
        Path(path).parent.resolve().relative_to(base.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return RequestError(path, None, f"request files must live under {base} (symbolic links and '..' are refused)")
    return None


def _read_request_yaml(path: Path) -> Any:
    try:
        return load_yaml(path)
    except YamlError as exc:
        raise RequestError(path, exc.field, exc.message) from None


def load_request(path: Path, root: Path | None = None) -> Request:
    """Parse one request file; with ``root``, refuse a path that leaves ``<root>/requests``."""
    if root is not None and (problem := outside_requests(path, root)):
        raise problem
    return parse_request(_read_request_yaml(path), path)


def save_request(request: Request, root: Path) -> Path:
    """Write atomically at the request's canonical place under ``root``."""
    target = Path(root) / request.relpath
    if (problem := outside_requests(target, root)) or (
        target.is_symlink()
        and (problem := RequestError(target, None, "is a symbolic link; refusing to write through it"))
    ):
        raise problem
    atomic.write_text(target, request.to_yaml())
    return target


def check_placement(request: Request, path: Path, root: Path) -> RequestError | None:
    """The path must match model id, revision, precision and suite."""
    expected = request.relpath
    try:
        actual = (Path(path).parent.resolve() / Path(path).name).relative_to(Path(root).resolve())
    except (ValueError, OSError, RuntimeError):
        return RequestError(path, None, f"request files must live under {Path(root) / 'requests'}")
    if actual != expected:
        return RequestError(path, "model/revision/precision", f"file is misplaced; move it to {expected}")
    return None


def iter_request_files(root: Path) -> list[Path]:
    """Every ``*.yaml`` below ``requests/``, never following a symbolic link out of it.

    Symlinked folders are not entered; symlinked files are listed so that loading
    them reports an error instead of skipping them silently.
    """
    base = Path(root) / "requests"
    if base.is_symlink() or not base.is_dir():
        return []
    found: list[str] = []
    for dirpath, _dirs, files in os.walk(base, followlinks=False):
        found += [os.path.join(dirpath, name) for name in files if name.endswith(".yaml")]
    return [Path(p) for p in sorted(found, key=lambda p: p.split(os.sep))]  # the order Path sorts in


def read_all_request_data(root: Path) -> list[tuple[Path, Any]]:
    """The parsed YAML of every request file (or its RequestError), not yet validated.

    Split from validation so the site build can parse in a forked process and send back
    plain data, which crosses a process boundary faster than pydantic models.
    """
    out: list[tuple[Path, Any]] = []
    base = Path(root) / "requests"
    if base.is_symlink():
        out.append((base, RequestError(base, None, "is a symbolic link; the requests folder must be a real folder")))
    for path in iter_request_files(root):
        # No outside_requests() per file: the walk neither follows symlinked folders nor
        # leaves requests/, and load_yaml refuses a symlinked file.
        try:
            out.append((path, _read_request_yaml(path)))
        except RequestError as exc:
            out.append((path, exc))
    return out


def load_all_requests(
    root: Path, data: list[tuple[Path, Any]] | None = None
) -> tuple[list[tuple[Path, Request]], list[RequestError]]:
    """Every request under ``root`` (or from ``data``, see :func:`read_all_request_data`);
    broken ones are returned as errors, not raised."""
    good: list[tuple[Path, Request]] = []
    bad: list[RequestError] = []
    for path, item in read_all_request_data(root) if data is None else data:
        if isinstance(item, RequestError):
            bad.append(item)
            continue
        try:
            good.append((path, parse_request(item, path)))
        except RequestError as exc:
            bad.append(exc)
    return good, bad


#: The reason of a new request's first history entry.
SUBMITTED_REASON = "submitted"


def new_request(
    model: str,
    revision: str,
    precision: str,
    model_type: str,
    license: str,
    submitter: str,
    *,
    weight_type: str = "original",
    base_model: str | None = None,
    base_revision: str | None = None,
    use_chat_template: bool = False,
    params: float | None = None,
    suite: str = DEFAULT_SUITE,
    checkpoint: dict | None = None,
) -> Request:
    now = utcnow()
    data: dict[str, Any] = dict(
        model=model,
        revision=revision,
        precision=precision,
        model_type=model_type,
        weight_type=weight_type,
        base_model=base_model,
        base_revision=base_revision,
        use_chat_template=use_chat_template,
        license=license,
        params=params,
        submitter=submitter,
        submitted_at=now,
        suite=suite,
        checkpoint=checkpoint,
        status="PENDING",
        history=[{"at": now, "status": "PENDING", "reason": SUBMITTED_REASON}],
    )
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(str(request_relpath_safe(model, revision, precision)), exc)[0] from None


def request_relpath_safe(model: str, revision: str, precision: str) -> str:
    if MODEL_ID_RE.match(model or "") and SHA_RE.match(revision or ""):
        return str(request_relpath(model, revision, precision))
    return "<new request>"


__all__ = [
    "DEFAULT_SUITE",
    "MODEL_TYPE_SYMBOLS",
    "Checkpoint",
    "Failure",
    "ModelType",
    "Precision",
    "Request",
    "RequestError",
    "Status",
    "StatusChange",
    "WeightType",
    "check_placement",
    "collect_request_problems",
    "iter_request_files",
    "load_all_requests",
    "load_request",
    "new_request",
    "outside_requests",
    "parse_request",
    "request_relpath",
    "save_request",
    "utcnow",
]


def format_age(delta: timedelta) -> str:
    """How long ago, in the largest whole unit: ``45 s``, ``12 min``, ``3 h``, ``2 d``."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
