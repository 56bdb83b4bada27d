"""Scores: lm-eval metrics to percent, unweighted subject means, normalization, averages."""

from __future__ import annotations

import math

import pytest

from shlepa.records.scores import average, benchmark_score, normalize, normalized_score
from shlepa.records.suite import Benchmark

ARC = Benchmark(key="arc", title="ARC", task="arc_challenge", num_fewshot=25, metric="acc_norm", baseline=25.0)
MMLU = Benchmark(
    key="mmlu", title="MMLU", task="mmlu", num_fewshot=5, metric="acc", aggregate="subtask_mean", baseline=25.0
)
GSM = Benchmark(key="gsm8k", title="GSM8K", task="gsm8k", num_fewshot=5, metric="exact_match", filter="strict-match")


def test_a_task_score_is_the_metric_in_percent_with_its_stderr() -> None:
    results = {"arc_challenge": {"acc_norm,none": 0.42, "acc_norm_stderr,none": 0.01, "acc,none": 0.4}}
    score = benchmark_score(ARC, "arc_challenge", ["arc_challenge"], results, {"arc_challenge": {"effective": 95}})
    assert score.value == pytest.approx(42.0)
    assert score.stderr == pytest.approx(1.0)
    assert score.n_samples == 95
    assert score.metric == "acc_norm,none"


def test_the_filter_is_part_of_the_metric_key() -> None:
    results = {"gsm8k": {"exact_match,strict-match": 0.1, "exact_match,flexible-extract": 0.3}}
    assert benchmark_score(GSM, "gsm8k", ["gsm8k"], results).value == pytest.approx(10.0)


def test_mmlu_is_the_unweighted_mean_of_its_subjects() -> None:
    results = {
        "mmlu_a": {"acc,none": 1.0, "acc_stderr,none": 0.0},
        "mmlu_b": {"acc,none": 0.5, "acc_stderr,none": 0.1},
        "mmlu_c": {"acc,none": 0.0, "acc_stderr,none": 0.0},
        "mmlu": {"acc,none": 0.9},  # lm-eval's size-weighted group value is not used
    }
    score = benchmark_score(MMLU, "mmlu", ["mmlu_a", "mmlu_b", "mmlu_c"], results)
    assert score.value == pytest.approx(50.0)
    assert score.subtasks == {"mmlu_a": 100.0, "mmlu_b": 50.0, "mmlu_c": 0.0}
    assert score.stderr == pytest.approx(math.sqrt(0.01) / 3 * 100)


def test_a_missing_subject_leaves_the_benchmark_without_a_score() -> None:
    results = {"mmlu_a": {"acc,none": 1.0}}
    assert benchmark_score(MMLU, "mmlu", ["mmlu_a", "mmlu_b"], results).value is None


def test_a_missing_or_nan_metric_is_no_score() -> None:
    assert benchmark_score(ARC, "arc_challenge", ["arc_challenge"], {}).value is None
    nan = {"arc_challenge": {"acc_norm,none": float("nan")}}
    assert benchmark_score(ARC, "arc_challenge", ["arc_challenge"], nan).value is None


@pytest.mark.parametrize(
    ("value", "baseline", "expected"),
    [(25.0, 25.0, 0.0), (100.0, 25.0, 100.0), (62.5, 25.0, 50.0), (10.0, 25.0, 0.0), (None, 25.0, None)],
)
def test_normalize_maps_baseline_to_zero_and_max_to_hundred(value, baseline, expected) -> None:
    assert normalize(value, baseline) == (None if expected is None else pytest.approx(expected))


def test_normalized_mmlu_normalizes_each_subject_first() -> None:
    results = {"mmlu_a": {"acc,none": 1.0}, "mmlu_b": {"acc,none": 0.0}}
    score = benchmark_score(MMLU, "mmlu", ["mmlu_a", "mmlu_b"], results)
    # subjects: 100 -> 100, 0 -> 0 (below baseline); the raw mean 50 would give 33.3
    assert normalized_score(MMLU, score) == pytest.approx(50.0)


def test_the_average_leaves_out_missing_benchmarks() -> None:
    assert average({"a": 10.0, "b": None, "c": 30.0}, ["a", "b", "c"]) == pytest.approx(20.0)
    assert average({"a": None}, ["a"]) is None


def _v2(key: str):
    from pathlib import Path

    from shlepa.records.suite import load_suite

    suite = load_suite("open_llm_v2", Path(__file__).resolve().parents[2])
    return suite, suite.benchmark(key)


def test_v2_normalizes_each_bbh_subtask_on_its_own_baseline_then_averages() -> None:
    _suite, bbh = _v2("bbh")
    navigate, shapes = "leaderboard_bbh_navigate", "leaderboard_bbh_geometric_shapes"  # 2 and 11 choices
    raw = {navigate: {"acc_norm,none": 0.75}, shapes: {"acc_norm,none": 100 / 11 / 100}}
    small = bbh.model_copy(update={"subtask_baselines": {k: bbh.subtask_baselines[k] for k in raw}})
    score = benchmark_score(small, "leaderboard_bbh", [navigate, shapes], raw)
    assert score.value == pytest.approx((75 + 100 / 11) / 2)
    assert normalized_score(small, score) == pytest.approx((50 + 0) / 2, abs=1e-3)  # 75% of 2 -> 50; chance -> 0


def test_v2_ifeval_is_the_mean_of_prompt_and_instruction_level_strict_accuracy() -> None:
    _suite, ifeval = _v2("ifeval")
    raw = {"leaderboard_ifeval": {"prompt_level_strict_acc,none": 0.4, "inst_level_strict_acc,none": 0.5}}
    score = benchmark_score(ifeval, "leaderboard_ifeval", ["leaderboard_ifeval"], raw)
    assert score.value == pytest.approx(45.0) and score.stderr is None
    assert normalized_score(ifeval, score) == pytest.approx(45.0)  # generative: baseline 0


def test_v2_board_average_is_the_mean_of_the_normalized_scores() -> None:
    suite, _ = _v2("gpqa")
    row = _row_of(suite, {"gpqa": 40.0, "mmlu_pro": 55.0})
    assert row["average_normalized"] == pytest.approx(((40 - 25) / 75 * 100 + (55 - 10) / 90 * 100) / 2)
    assert row["average"] == row["average_normalized"]  # v2 averages and ranks by the normalized scores


def _row_of(suite, values: dict[str, float]) -> dict:
    from datetime import UTC, datetime
    from pathlib import Path

    from shlepa.records.results import ResultsFile
    from shlepa.site.board import result_row

    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    res = ResultsFile.model_validate(
        {
            "schema": "shlepa.records.results/1",
            "request": {"model": "acme/m", "revision": "a" * 40, "precision": "bfloat16", "model_type": "chat"},
            "request_file": "requests/acme/m/x.yaml",
            "suite": suite.name,
            "evaluation": {
                "started_at": now,
                "finished_at": now,
                "duration_s": 1,
                "data": "hub",
                "backend": "hf",
                "model_args": {},
            },
            "scores": {k: {"value": v, "task": k, "metric": "acc,none", "num_fewshot": 0} for k, v in values.items()},
            "average": None,
            "reproduce": {},
            "lm_eval": {},
        }
    )
    return result_row(res, suite, Path("results/acme/m/results_x.json"), Path("."))
