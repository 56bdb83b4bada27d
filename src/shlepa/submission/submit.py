"""``shlepa submit``: turn a model id and a branch/tag/sha into a request file, filled from the Hub."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from shlepa.errors import ShlepaError
from shlepa.records.keys import DEFAULT_SUITE, short_sha, submission_branch
from shlepa.records.request import STORED_DTYPE_PRECISION, Precision, Request, new_request, save_request
from shlepa.submission.hub import CouldNotVerify, Hub, HubNotFound


class SubmitError(ShlepaError, ValueError):
    pass


#: The precision of a submission whose stored dtype says nothing (no safetensors, or int weights).
DEFAULT_PRECISION = Precision.bfloat16.value


@dataclass
class Submission:
    request: Request
    path: Path
    notes: list[str]


def build_request(
    hub: Hub,
    model: str,
    *,
    revision: str | None,
    precision: str | None,
    model_type: str,
    submitter: str,
    weight_type: str = "original",
    base_model: str | None = None,
    use_chat_template: bool = False,
    license: str | None = None,
    suite: str = DEFAULT_SUITE,
) -> tuple[Request, list[str]]:
    """Resolve the revision to its commit sha and fill license and size from the Hub."""
    notes: list[str] = []
    try:
        facts = hub.model_facts(model, revision or "main")
    except HubNotFound as exc:
        raise SubmitError(
            f"{exc}; check the model id and revision, and that the repository is public", path=model
        ) from None
    except CouldNotVerify as exc:
        raise SubmitError(f"{exc}; try again later", path=model) from None
    lic = license or facts.license
    if not lic:
        raise SubmitError(
            "the model card declares no license; add 'license:' to README.md or pass --license", path=model
        )
    params = None
    stored = None
    try:
        total, per_dtype = hub.param_count(model, facts.sha)
        params = round(total / 1e9, 3)
        best = STORED_DTYPE_PRECISION.get(max(per_dtype, key=per_dtype.__getitem__)) if per_dtype else None
        stored = best.value if best else None
    except (HubNotFound, CouldNotVerify) as exc:
        notes.append(f"parameter count not filled: {exc}")
    base_revision = None
    if weight_type != "original" and base_model:
        # Pin the base model at its current commit: the adapter is evaluated on exactly this base.
        try:
            base_revision = hub.model_facts(base_model, "main").sha
        except (HubNotFound, CouldNotVerify) as exc:
            raise SubmitError(f"base model: {exc}", path=base_model) from None
    if precision is None:
        precision = stored or DEFAULT_PRECISION
        notes.append(f"precision {precision} chosen from the stored weights")
    request = new_request(
        model,
        facts.sha,
        precision,
        model_type,
        lic,
        submitter,
        weight_type=weight_type,
        base_model=base_model,
        base_revision=base_revision,
        use_chat_template=use_chat_template,
        params=params,
        suite=suite,
    )
    return request, notes


def write_submission(request: Request, root: Path, *, overwrite: bool = False) -> Path:
    target = Path(root) / request.relpath
    if target.exists() and not overwrite:
        raise SubmitError("a request for this model, revision and precision already exists", path=request.relpath)
    return save_request(request, root)


def git_steps(request: Request) -> list[str]:
    """The commands to commit the request and open a PR (every value quoted)."""
    branch = submission_branch(request.model, request.revision, request.precision.value)
    q = shlex.quote
    return [
        f"git switch -c {q(branch)}",
        f"git add {q(str(request.relpath))}",
        f"git commit -m {q(f'Submit {request.model}@{short_sha(request.revision)} ({request.precision.value})')}",
        f"git push -u origin {q(branch)}",
        "then open a pull request; the checklist comment tells you if anything is missing",
    ]


__all__ = ["Submission", "SubmitError", "build_request", "git_steps", "write_submission"]
