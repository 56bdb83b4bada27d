"""Checkpoint series: one request per training checkpoint of one model, each pinned to a sha.

A training run is submitted as a list of (training step, revision) pairs: branches or tags
such as ``step_1000``, or commit shas. Every revision is resolved to its commit sha (so a
moved branch cannot change what was evaluated), stored as its own request with
``checkpoint: {series, step, ref}`` and evaluated and stored as its own result; the site
then draws every metric over the steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from shlepa.errors import ShlepaError
from shlepa.records.keys import SHA_RE, short_sha
from shlepa.records.request import DEFAULT_SUITE, Request, RequestError, new_request, save_request

SPEC_RE = re.compile(r"^(\d{1,13})=(\S{1,200})$")
#: The suite a series is evaluated on unless the submitter picks another.
SERIES_DEFAULT_SUITE = "analysis360"


class SeriesError(ShlepaError, ValueError):
    """A series request is unusable; the message names the checkpoint and the cause."""


def parse_checkpoint(spec: str) -> tuple[int, str]:
    """``"1000=step_1000"`` -> ``(1000, "step_1000")``: training step and revision."""
    m = SPEC_RE.match(spec.strip())
    if not m:
        raise SeriesError(f"checkpoint {spec!r}: expected STEP=REVISION, e.g. 1000=step_1000 or 1000=<sha>")
    return int(m.group(1)), m.group(2)


def series_requests(
    model: str,
    checkpoints: Iterable[tuple[int, str]],
    resolve: Callable[[str], str],
    *,
    series: str,
    precision: str,
    model_type: str,
    license: str,
    submitter: str,
    suite: str = DEFAULT_SUITE,
    params: float | None = None,
) -> list[Request]:
    """One PENDING request per checkpoint, sorted by step; ``resolve`` maps a revision to its sha."""
    steps: dict[int, str] = {}
    for step, ref in checkpoints:
        if step in steps:
            raise SeriesError(f"checkpoint step {step}: listed twice ({steps[step]!r} and {ref!r})")
        steps[step] = ref
    if not steps:
        raise SeriesError(f"series {series!r}: no checkpoints given")
    shas: dict[str, int] = {}
    out = []
    for step, ref in sorted(steps.items()):
        sha = resolve(ref)
        if not SHA_RE.match(sha or ""):
            raise SeriesError(f"checkpoint step {step}: revision {ref!r} did not resolve to a commit sha")
        if sha in shas:
            raise SeriesError(
                f"checkpoint step {step}: revision {ref!r} is the same commit as step {shas[sha]} ({short_sha(sha)})"
            )
        shas[sha] = step
        try:
            out.append(
                new_request(
                    model,
                    sha,
                    precision,
                    model_type,
                    license,
                    submitter,
                    suite=suite,
                    params=params,
                    checkpoint={"series": series, "step": step, "ref": ref},
                )
            )
        except RequestError as exc:
            raise SeriesError(f"checkpoint step {step}: {exc}") from None
    return out


def write_series(root: Path, requests: list[Request], *, overwrite: bool = False) -> list[Path]:
    """Save every request (atomically) at its canonical path; refuses to replace existing ones."""
    root = Path(root)
    if not overwrite:
        existing = [str(r.relpath) for r in requests if (root / r.relpath).exists()]
        if existing:
            raise SeriesError("a request for this checkpoint exists already", path=existing[0])
    return [save_request(r, root) for r in requests]
