"""``shlepa-hybrid``: log-likelihood through shlepa-hf, generation through another engine, same numbers.

On CPU a second, plain ``hf`` model stands in for vLLM as the generator
(``generator=hf``): the routing is the same, and its answers must equal each engine's alone.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from shlepa.backends.hybrid import HybridLM
from shlepa.evaluation.model import BackendError, create_lm, generation_backend, lm_args_for

REPO = Path(__file__).resolve().parents[2]
TASKS = ["shlepa_arc_challenge", "shlepa_gsm8k"]


def _lm(backend: str, model_dir: Path, **backend_args: Any) -> Any:
    hf_args = {"pretrained": str(model_dir), "dtype": "float32"}
    return create_lm(backend, lm_args_for(backend, hf_args, backend_args), 4, "cpu")


def _run(lm: Any, tasks: list[str]) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    with contextlib.chdir(REPO):
        return lm_eval.simple_evaluate(
            model=lm,
            tasks=tasks,
            limit=2,
            log_samples=True,
            task_manager=TaskManager(include_path="eval/tasks", include_defaults=False),
            bootstrap_iters=0,
        )


def _answers(out: dict[str, Any], task: str) -> list[Any]:
    return [(s["doc_id"], s["filter"], s["resps"]) for s in out["samples"][task]]


@pytest.mark.slow
def test_hybrid_equals_shlepa_hf_on_loglikelihood_and_hf_on_generation(tiny_model_dir: Path) -> None:
    hybrid = _lm("shlepa-hybrid", tiny_model_dir, generator="hf")
    assert isinstance(hybrid, HybridLM) and hybrid.generation_backend == "hf"
    assert hybrid.generator is not hybrid.scorer  # two engines, as with vLLM
    both = _run(hybrid, TASKS)
    shared = _run(_lm("shlepa-hf", tiny_model_dir), ["shlepa_arc_challenge"])
    plain = _run(_lm("hf", tiny_model_dir), ["shlepa_gsm8k"])
    assert _answers(both, "shlepa_arc_challenge") == _answers(shared, "shlepa_arc_challenge")
    assert _answers(both, "shlepa_gsm8k") == _answers(plain, "shlepa_gsm8k")
    assert both["results"]["shlepa_arc_challenge"] == shared["results"]["shlepa_arc_challenge"]
    assert both["results"]["shlepa_gsm8k"] == plain["results"]["shlepa_gsm8k"]
    # the log-likelihood requests went through the shared-context engine, and it says so
    assert set(hybrid.scoring_report()) == {"shlepa_arc_challenge"}


def test_without_vllm_generation_shares_the_scorers_model(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    assert generation_backend("auto") == "same"
    hybrid = _lm("shlepa-hybrid", tiny_model_dir)
    assert hybrid.generator is hybrid.scorer and hybrid.generation_backend == "hf"
    with pytest.raises(BackendError, match=r"needs the vllm package"):
        generation_backend("vllm")
    with pytest.raises(BackendError, match=r"unknown generator 'gpu'; choose one of: auto, vllm, hf, same"):
        generation_backend("gpu")
