"""pass@k for the code benchmarks (HumanEval, MBPP), offline, every program sandboxed.

The contract is Hugging Face ``evaluate``'s ``code_eval`` metric (``HF_ALLOW_CODE_EVAL=1``
must be set, one program = candidate + "\\n" + test, 3 s timeout, the unbiased pass@k
estimator of Chen et al. 2021), but each program runs in :mod:`shlepa.evaluation.sandbox`
(bubblewrap: no network, nobody in a fresh user namespace, no view of the caller's
/proc, environment, home, checkout or caches, the whole process tree killed at the
limit). ``code_eval`` itself runs programs with ``exec`` in a forked copy of the
evaluating process, which holds every credential of the job.

The bundled tasks call :func:`compute_code_eval` directly; lm-eval's stock
``humaneval``/``mbpp`` tasks call ``evaluate.load("code_eval")``, which
:func:`route_hf_code_eval` answers with :class:`SandboxedCodeEval` (installed by
:func:`shlepa.evaluation.lm_eval_api.task_manager` before any task module is imported),
so Hub and bundled tasks share one sandbox.

Code runs only inside an evaluation that was started with ``--allow-code-eval``: lm-eval
refuses tasks marked ``unsafe_code: true`` unless ``confirm_run_unsafe_code=True``, and
this module refuses unless the environment variable is set, and refuses (fails closed)
when no sandbox can be created on this machine.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import math
import sys
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shlepa.env import environment
from shlepa.errors import ShlepaError
from shlepa.evaluation import sandbox

ALLOW_ENV = "HF_ALLOW_CODE_EVAL"
TIMEOUT_S = 3.0

_WARNING = (
    "Code execution is disabled: the code benchmarks run model-written code. Start the "
    f"evaluation with --allow-code-eval (which sets {ALLOW_ENV}=1 for the evaluation only) "
    "on a machine where that is acceptable."
)


class CodeEvalDisabled(ShlepaError, ValueError):
    """Raised when code execution was not explicitly allowed."""


SandboxUnavailable = sandbox.SandboxUnavailable


def estimate_pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def run_program(program: str, timeout: float = TIMEOUT_S) -> bool:
    """True when ``program`` exits 0 within ``timeout`` seconds in the sandbox."""
    return sandbox.run(program, timeout).passed


def compute_code_eval(
    references: Sequence[str],
    predictions: Sequence[Sequence[str]],
    k: Sequence[int] = (1,),
    timeout: float = TIMEOUT_S,
    workers: int = 4,
) -> tuple[dict[str, float], list[list[bool]]]:
    """pass@k over problems: ``predictions[i]`` are candidates for the test ``references[i]``."""
    if environment().hf_allow_code_eval != "1":
        raise CodeEvalDisabled(_WARNING)
    sandbox.require_sandbox()
    if len(references) != len(predictions):
        raise ValueError("references and predictions differ in length")
    jobs = [
        (i, cand + "\n" + ref)
        for i, (ref, cands) in enumerate(zip(references, predictions, strict=False))
        for cand in cands
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        passed = list(pool.map(lambda job: run_program(job[1], timeout), jobs))
    outcome: list[list[bool]] = [[] for _ in references]
    for (i, _), ok in zip(jobs, passed, strict=False):
        outcome[i].append(ok)
    scores = {}
    for kk in k:
        if all(len(o) >= kk for o in outcome) and outcome:
            scores[f"pass@{kk}"] = sum(estimate_pass_at_k(len(o), sum(o), kk) for o in outcome) / len(outcome)
    return scores, outcome


class SandboxedCodeEval:
    """Stands in for ``evaluate.load("code_eval")``: same ``compute`` call and return shape, sandboxed."""

    name = "code_eval"

    def compute(
        self,
        *,
        predictions: Sequence[Sequence[str]],
        references: Sequence[str],
        k: Sequence[int] = (1, 10, 100),
        num_workers: int = 4,
        timeout: float = TIMEOUT_S,
    ) -> tuple[dict[str, float], dict[int, list[tuple[int, dict[str, Any]]]]]:
        scores, outcome = compute_code_eval(references, predictions, k=k, timeout=timeout, workers=num_workers)
        results = {
            i: [
                (j, {"task_id": i, "completion_id": j, "passed": ok, "result": "passed" if ok else "failed"})
                for j, ok in enumerate(row)
            ]
            for i, row in enumerate(outcome)
        }
        return scores, results


def _is_code_eval(path: object) -> bool:
    name = str(path).rstrip("/").rsplit("/", 1)[-1].removesuffix(".py")
    return name in {"code_eval", "evaluate-metric--code_eval"}


def _patch_evaluate(evaluate: Any) -> None:
    if getattr(evaluate.load, "_shlepa_routed", False):
        return
    original: Callable[..., Any] = evaluate.load

    def load(path: str, *args: Any, **kwargs: Any) -> Any:
        if _is_code_eval(path):
            return SandboxedCodeEval()
        return original(path, *args, **kwargs)

    load._shlepa_routed = True  # type: ignore[attr-defined]
    evaluate.load = load
    if hasattr(evaluate, "loading"):
        evaluate.loading.load = load


def _patch_after_exec(loader: Any) -> None:
    exec_module = loader.exec_module

    def patched(module: types.ModuleType) -> None:
        exec_module(module)
        _patch_evaluate(module)

    loader.exec_module = patched


class _EvaluateImportHook(importlib.abc.MetaPathFinder):
    """Patches ``evaluate`` right after its first import (importing it eagerly costs many seconds)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "evaluate":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                _patch_after_exec(spec.loader)
                return spec
        return None


def route_hf_code_eval() -> None:
    """Make ``evaluate.load("code_eval")`` return :class:`SandboxedCodeEval` in this process (idempotent)."""
    if "evaluate" in sys.modules:
        _patch_evaluate(sys.modules["evaluate"])
    elif not any(isinstance(f, _EvaluateImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _EvaluateImportHook())
