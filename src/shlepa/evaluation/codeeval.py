"""pass@k for the code benchmarks (HumanEval, MBPP), offline.

lm-eval's stock ``humaneval``/``mbpp`` tasks score with Hugging Face ``evaluate``'s
``code_eval`` metric, which is downloaded from the Hub at import time. The bundled
tasks use this module instead: the same contract (``HF_ALLOW_CODE_EVAL=1`` must be set,
one program = candidate + "\\n" + test, 3 s timeout, the unbiased pass@k estimator of
Chen et al. 2021) with each program run in its own isolated Python process (``-I``, an
empty temporary working directory, CPU/memory/file limits, a stripped environment).

Code runs only inside an evaluation that was started with ``--allow-code-eval``: lm-eval
refuses tasks marked ``unsafe_code: true`` unless ``confirm_run_unsafe_code=True``, and
this module refuses unless the environment variable is set.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from shlepa.env import environment
from shlepa.errors import ShlepaError

ALLOW_ENV = "HF_ALLOW_CODE_EVAL"
TIMEOUT_S = 3.0

_WARNING = (
    "Code execution is disabled: the code benchmarks run model-written code. Start the "
    f"evaluation with --allow-code-eval (which sets {ALLOW_ENV}=1 for the evaluation only) "
    "on a machine where that is acceptable."
)


class CodeEvalDisabled(ShlepaError, ValueError):
    """Raised when code execution was not explicitly allowed."""


def estimate_pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _limits() -> None:  # pragma: no cover - runs in the child process
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (int(TIMEOUT_S) + 1, int(TIMEOUT_S) + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
    os.setsid()


def run_program(program: str, timeout: float = TIMEOUT_S) -> bool:
    """True when ``program`` exits 0 within ``timeout`` seconds in an isolated interpreter."""
    with tempfile.TemporaryDirectory(prefix="shlepa-code-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", program],
                cwd=tmp,
                env={"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONHASHSEED": "0"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                preexec_fn=_limits if os.name == "posix" else None,
            )
        except subprocess.TimeoutExpired:
            return False
    return proc.returncode == 0


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
