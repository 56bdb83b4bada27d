"""The demo's runner: what it hands the evaluation, without evaluating (that is the demo's own job)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from shlepa.demo import run as demo_run
from shlepa.demo.tinymodels import make_tiny_model

REPO = Path(__file__).resolve().parents[2]


def test_a_relative_work_folder_reaches_the_evaluation_as_an_absolute_model_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``shlepa demo --work .shlepa/demo`` (as ``make screenshot`` runs it) failed: transformers
    took the relative model folder for a Hub repo id ("Repo id must be in the form ...")."""
    seen: list[Any] = []

    def one_model(work: Path, say: Any) -> list[tuple[str, Path, dict | None]]:
        return [("shlepa-demo/tiny", make_tiny_model(work / "models" / "tiny", arch="llama"), None)]

    monkeypatch.setattr(demo_run, "build_models", one_model)
    monkeypatch.setattr(demo_run, "evaluate_request", lambda path, work, options, progress: seen.append(options))
    with contextlib.chdir(tmp_path):
        work = demo_run.run_demo(REPO, Path("rel") / "demo", say=lambda m: None)
    assert work.is_absolute() and work == (tmp_path / "rel" / "demo")
    (options,) = seen
    assert options.model_path.is_absolute() and options.model_path.is_dir()
