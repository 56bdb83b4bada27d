"""``shlepa reproduce``: a results file evaluated again from its own record, every number compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.evaluation.reproduce import TOLERANCES, compare, tolerance_for
from shlepa.records.scoring import expand

from support.requests import evaluate_args, submit

runner = CliRunner()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def evaluated(board_root: Path, tiny_model_dir: Path) -> Path:
    """A results file of the tiny model: ARC (log-likelihood) and GSM8K (generation), 2 items, shlepa-hf."""
    request = submit(board_root, tiny_model_dir)
    args = evaluate_args(board_root, request, tiny_model_dir, 4, "--backend", "shlepa-hf")
    result = runner.invoke(app, [*args, "-b", "arc", "-b", "gsm8k", "--limit", "2"])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def reproduce(board_root: Path, results_file: Path, work: Path):
    return runner.invoke(
        app, ["reproduce", str(results_file), "--root", str(board_root), "--work", str(work)], env={"COLUMNS": "200"}
    )


@pytest.mark.slow
def test_an_untouched_results_file_reproduces_and_an_edited_metric_does_not(
    board_root: Path, evaluated: Path, tmp_path: Path
) -> None:
    data = json.loads(evaluated.read_text())
    # what ran: ARC's requests through shlepa-hf's fast paths, GSM8K's through generation, no fallback
    arc, gsm8k = data["scoring"]["shlepa_arc_challenge"], data["scoring"]["shlepa_gsm8k"]
    assert arc["requests"] == sum(arc["paths"].values()) == 2 * 4 and "fallback" not in arc
    assert set(arc["paths"]) <= {"packed-tree", "shared-pass"} and all(expand(arc)["why"].values())
    # lm-eval's own generation path is no fallback: no count and no reason written
    assert gsm8k == {"requests": 2, "paths": {"generate": 2}}
    assert data["reproduce"]["shlepa"] == f"shlepa reproduce {evaluated.relative_to(board_root)}"
    before = snapshot(board_root / "requests") | snapshot(board_root / "results")

    result = reproduce(board_root, evaluated, tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert "reproduced:" in result.output and "Largest differences" in result.output
    # the rerun went into the scratch folder; the checkout's requests and results are as they were
    assert list((tmp_path / "again" / "results").rglob("results_*.json"))
    assert snapshot(board_root / "requests") | snapshot(board_root / "results") == before

    data["lm_eval"]["results"]["shlepa_arc_challenge"]["acc_norm,none"] += 0.25
    evaluated.write_text(json.dumps(data, indent=2))
    result = reproduce(board_root, evaluated, tmp_path / "third")
    assert result.exit_code == 1, result.output
    assert "not reproduced: 1 beyond tolerance: metric: shlepa_arc_challenge acc_norm,none" in result.output


def _file(metric: float, lls: list[float], precision: str = "float32", backend: str = "shlepa-hf") -> dict:
    return {
        "request": {"precision": precision},
        "evaluation": {"backend": backend, "batch_size": 8},
        "scores": {"arc": {"value": metric * 100}},
        "lm_eval": {"results": {"t": {"acc,none": metric, "alias": "t"}}, "config": {"random_seed": 0}},
    }, [{"task": "t", "doc_id": 0, "filter": "none", "response": [[ll, False] for ll in lls]}]


def test_a_loglikelihood_beyond_the_float32_tolerance_fails_and_within_bfloat16s_passes() -> None:
    (a, rows_a), (b, rows_b) = _file(0.5, [-1.0, -2.0]), _file(0.5, [-1.0, -2.01])
    tight = compare(a, b, rows_a, rows_b)
    assert [d.where for d in tight.failures] == ["loglik: t doc 0 [none] choice 1"]
    (a, rows_a), (b, rows_b) = _file(0.5, [-1.0, -2.0], "bfloat16"), _file(0.5, [-1.0, -2.01], "bfloat16")
    assert compare(a, b, rows_a, rows_b).ok


def test_a_sample_or_metric_missing_from_the_rerun_fails_and_changed_settings_are_reported() -> None:
    (a, rows_a), (b, _rows) = _file(0.5, [-1.0]), _file(0.5, [-1.0])
    b["evaluation"]["batch_size"] = 4
    b["lm_eval"]["config"]["random_seed"] = 7
    result = compare(a, b, rows_a, [])
    assert [(d.kind, d.where) for d in result.failures] == [("missing", "loglik: t doc 0 [none] choice 0")]
    assert result.settings == {"batch_size": (8, 4), "lm_eval.config.random_seed": (0, 7)}


def test_tolerances_are_one_table_tight_in_float32_and_looser_in_half_precision() -> None:
    f32, bf16, f16 = (tolerance_for("shlepa-hf", p) for p in ("float32", "bfloat16", "float16"))
    assert f32.loglik(-10.0) < f16.loglik(-10.0) < bf16.loglik(-10.0)
    assert f32.metric(0.5) < f16.metric(0.5) < bf16.metric(0.5)
    assert tolerance_for("vllm", "float32") == TOLERANCES[("vllm", "float32")] != f32
