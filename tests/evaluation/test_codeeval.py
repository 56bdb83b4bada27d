"""pass@k for HumanEval/MBPP: the unbiased estimator, the sandboxed run, and the bundled task's metric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shlepa.evaluation.codeeval import CodeEvalDisabled, compute_code_eval, estimate_pass_at_k

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 3, 1, 0.3),  # pass@1 = c / n
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 1, 10, 1.0),  # one correct among all 10 draws
        (10, 0, 10, 0.0),
        (20, 4, 10, 1 - 8008 / 184756),  # 1 - C(16,10)/C(20,10)
    ],
)
def test_unbiased_pass_at_k_matches_hand_values(n, c, k, expected):
    assert estimate_pass_at_k(n, c, k) == pytest.approx(expected)


def test_code_runs_only_when_allowed(monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeEvalDisabled, match="--allow-code-eval"):
        compute_code_eval(["assert True"], [["pass"]])


def test_pass_at_k_on_hand_made_candidates(monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    refs = ["assert add(2, 3) == 5", "assert sq(3) == 9"]
    preds = [
        ["def add(a, b): return a + b", "def add(a, b): return a * b"],  # 1 of 2 right
        ["def sq(x):\n    while True: pass", "import os\ndef sq(x): return x*x"],  # timeout, right
    ]
    scores, outcome = compute_code_eval(refs, preds, k=[1, 2], timeout=2.0)
    assert outcome == [[True, False], [False, True]]
    assert scores == {"pass@1": pytest.approx(0.5), "pass@2": pytest.approx(1.0)}


def test_programs_run_isolated_from_the_caller(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("SECRET_TOKEN", "x")
    refs = ["import os\nassert 'SECRET_TOKEN' not in os.environ\nassert os.listdir('.') == []"]
    scores, _ = compute_code_eval(refs, [["pass"]], k=[1])
    assert scores["pass@1"] == 1.0


def test_bundled_humaneval_scores_the_canonical_solution(monkeypatch):
    """The lm-eval task's own pipeline: build_predictions filter, then pass@1 on one real problem."""
    from lm_eval.tasks import TaskManager

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    task = TaskManager(include_path=str(REPO / "eval/tasks"), include_defaults=False).load(["shlepa_humaneval"])[
        "tasks"
    ]["shlepa_humaneval"]
    doc = json.loads((REPO / "eval/data/humaneval/test.jsonl").read_text().splitlines()[0])
    import sys
    from importlib import import_module

    sys.path.insert(0, str(REPO / "eval/tasks/humaneval"))
    try:
        utils = import_module("utils")
        good = utils.build_predictions([[doc["canonical_solution"]]], [doc])[0]
        bad = utils.build_predictions([["    return not True\n"]], [doc])[0]
    finally:
        sys.path.remove(str(REPO / "eval/tasks/humaneval"))
        sys.modules.pop("utils", None)
    assert task.process_results(doc, [good]) == {"pass@1": 1.0}
    assert task.process_results(doc, [bad]) == {"pass@1": 0.0}
