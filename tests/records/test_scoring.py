"""The results file's record of what scored each task, from shlepa-hf's report or lm-eval's samples."""

from __future__ import annotations

from shlepa.records.scoring import USUAL_WHY, compact, expand, fallbacks

NEAR = "near tie: two best choices closer than their bounds"
REPORT = {
    "arc": {
        "requests": 8,
        "plans": {
            "packed-tree": {"requests": 8, "reasons": ["tree cheaper"]},
            "plain": {"requests": 2, "reasons": [NEAR]},
        },
        "rescored_near_ties": 1,
        "rescored_requests": 2,
    },
    "mmlu_x": {
        "requests": 5,
        "plans": {
            "shared-pass": {"requests": 4, "reasons": ["one row per context"]},
            "plain": {"requests": 1, "reasons": ["longer than the model window"]},
        },
        "rescored_near_ties": 0,
    },
}


def test_near_tie_rescoring_is_not_a_fallback_and_a_long_request_is() -> None:
    record = compact(REPORT, {"arc": 8, "mmlu_x": 5, "gsm8k": 3}, {"gsm8k": "generate_until"}, "shlepa-hf")
    assert record["arc"] == {
        "requests": 8,
        "paths": {"packed-tree": 8},
        "why": {"packed-tree": ["tree cheaper"]},
        "rescored_near_ties": 1,
    }
    assert record["mmlu_x"]["paths"] == {"shared-pass": 4, "plain": 1} and record["mmlu_x"]["fallback"] == 1
    assert record["gsm8k"]["paths"] == {"generate": 3} and "fallback" not in record["gsm8k"]
    assert fallbacks(record) == [("mmlu_x", "plain", 1, ["longer than the model window"])]


def test_a_plain_backend_scores_everything_plain_without_a_warning() -> None:
    record = compact({}, {"arc": 8}, {"arc": "multiple_choice"}, "hf")
    # lm-eval's own path under a plain backend: no fallback, so no reason written (it is implied).
    assert record == {"arc": {"requests": 8, "paths": {"plain": 8}}}
    assert fallbacks(record) == []


def test_a_shlepa_hf_task_missing_from_its_report_is_a_fallback() -> None:
    record = compact({}, {"wikitext": 4}, {"wikitext": "loglikelihood_rolling"}, "shlepa-hf")
    assert fallbacks(record) == [("wikitext", "plain", 4, ["--backend shlepa-hf: lm-eval's own code"])]


def test_a_usual_reason_is_left_out_of_the_file_and_put_back_on_reading() -> None:
    report = {
        f"mmlu_{k}": {"requests": 4, "plans": {"shared-pass": {"requests": 4, "reasons": [USUAL_WHY["shared-pass"]]}}}
        for k in range(3)
    }
    record = compact(report, dict.fromkeys(report, 4), {}, "shlepa-hf")
    assert record["mmlu_0"] == {"requests": 4, "paths": {"shared-pass": 4}}  # no sentence repeated per subtask
    assert expand(record["mmlu_0"])["why"] == {"shared-pass": [USUAL_WHY["shared-pass"]]}
    # an unusual reason is written and read as it is, and beside it the usual one too
    arc = compact(REPORT, {"arc": 8}, {}, "shlepa-hf")["arc"]
    assert expand(arc)["why"] == {"packed-tree": ["tree cheaper"]}
    both = [USUAL_WHY["shared-pass"], "one row per context estimated cheaper than a token tree"]
    mixed = {"mmlu_x": {"requests": 6, "plans": {"shared-pass": {"requests": 6, "reasons": both}}}}
    assert expand(compact(mixed, {"mmlu_x": 6}, {}, "shlepa-hf")["mmlu_x"])["why"] == {"shared-pass": both}
