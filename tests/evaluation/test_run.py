"""``shlepa evaluate`` end to end with the real lm-eval on a tiny local model."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.records.request import Status, load_request
from shlepa.records.suite import load_suite

from support.requests import evaluate_args, submit

runner = CliRunner()
BATCH = 4
LIMIT = 2


def evaluate(root: Path, request: Path, model_dir: Path, *extra: str):
    return runner.invoke(app, evaluate_args(root, request, model_dir, BATCH, *extra))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_scores_equal_a_direct_lm_eval_call(board_root: Path, tiny_model_dir: Path) -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    request = submit(board_root, tiny_model_dir)
    result = evaluate(board_root, request, tiny_model_dir, "--limit", str(LIMIT))
    assert result.exit_code == 0, result.output
    results_file = Path(result.stdout.strip().splitlines()[-1])
    ours = json.loads(results_file.read_text())

    suite = load_suite("open_llm_v1", board_root)
    with contextlib.chdir(board_root):
        direct = lm_eval.simple_evaluate(
            model="hf",
            model_args={"pretrained": str(tiny_model_dir), "dtype": "float32"},
            tasks=[b.bundled_task for b in suite.benchmarks],
            task_manager=TaskManager(include_path=str(board_root / "eval" / "tasks"), include_defaults=False),
            batch_size=BATCH,
            device="cpu",
            limit=LIMIT,
        )
    # every lm-eval metric of every task and subject is identical
    assert set(ours["lm_eval"]["results"]) == set(direct["results"])
    for task, metrics in direct["results"].items():
        for name, value in metrics.items():
            if name == "name":  # kept only where it is not the task's key
                assert ours["lm_eval"]["results"][task].get(name, task) == value, (task, name)
            elif name != "alias":
                assert ours["lm_eval"]["results"][task][name] == value, (task, name)
    # and so are the leaderboard's numbers derived from them
    assert ours["scores"]["arc"]["value"] == direct["results"]["shlepa_arc_challenge"]["acc_norm,none"] * 100
    assert ours["scores"]["gsm8k"]["value"] == direct["results"]["shlepa_gsm8k"]["exact_match,strict-match"] * 100
    subjects = [v["acc,none"] for k, v in direct["results"].items() if k.startswith("shlepa_mmlu_")]
    assert len(subjects) == 57
    assert ours["scores"]["mmlu"]["value"] == pytest.approx(sum(subjects) / 57 * 100, abs=1e-9)
    assert ours["lm_eval"]["n-shot"]["shlepa_arc_challenge"] == 25
    assert ours["lm_eval"]["n-shot"]["shlepa_hellaswag"] == 10
    # the request went PENDING -> RUNNING -> FINISHED, details sit beside the results
    req = load_request(request)
    assert [h.status for h in req.history] == [Status.pending, Status.running, Status.finished]
    assert (results_file.parent / ours["details_file"]).is_file()
    assert ours["reproduce"]["shlepa"] == f"shlepa reproduce {results_file.relative_to(board_root)}"
    assert any("--tasks shlepa_arc_challenge --num_fewshot 25" in c for c in ours["reproduce"]["lm_eval"])

    # a rerun of a FINISHED request is a no-op
    again = evaluate(board_root, request, tiny_model_dir, "--limit", str(LIMIT))
    assert again.exit_code == 0
    assert len(list((board_root / "results").rglob("results_*.json"))) == 1


def test_a_model_that_does_not_load_fails_the_request(board_root: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    request = submit(board_root, tiny_model_dir)
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    result = evaluate(board_root, request, broken, "--benchmark", "arc", "--limit", "1")
    assert result.exit_code == 1
    assert f"{request.relative_to(board_root)}: evaluation failed" in result.output
    req = load_request(request)
    assert req.status is Status.failed
    assert req.failure is not None and req.failure.error_class and req.failure.log_tail
    assert not list((board_root / "results").rglob("*"))


def test_an_unknown_benchmark_changes_nothing(board_root: Path, tiny_model_dir: Path) -> None:
    request = submit(board_root, tiny_model_dir)
    before = snapshot(board_root / "requests")
    result = evaluate(board_root, request, tiny_model_dir, "--benchmark", "nope")
    assert result.exit_code == 1
    assert "unknown benchmark(s) nope" in result.output
    assert snapshot(board_root / "requests") == before
    assert not list((board_root / "results").rglob("*"))


def test_a_malformed_request_is_a_one_line_error(board_root: Path, tiny_model_dir: Path) -> None:
    bad = board_root / "requests" / "acme" / "x" / "y.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("model: acme/x\nrevision: [\n")
    result = evaluate(board_root, bad, tiny_model_dir)
    assert result.exit_code == 1
    assert str(bad) in result.output and "invalid YAML" in result.output
    assert bad.read_text() == "model: acme/x\nrevision: [\n"


@pytest.mark.slow
def test_a_fallback_path_is_a_visible_warning_and_recorded(
    board_root: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shlepa.cli._app import console

    # Rich reads COLUMNS once, when the console is made: widen it here so the warning stays on one line.
    monkeypatch.setattr(console, "width", 300)
    request = submit(board_root, tiny_model_dir)
    args = evaluate_args(board_root, request, tiny_model_dir, BATCH, "--backend", "shlepa-hf")
    extra = ["--backend-arg", "pack_tokens=0", "-b", "arc", "--limit", "1"]
    result = runner.invoke(app, [*args, *extra], env={"COLUMNS": "300"})  # the warning on one line
    assert result.exit_code == 0, result.output
    assert "warning: shlepa_arc_challenge: 4 request(s) on the KV-cache fallback path" in result.output
    data = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    arc = data["scoring"]["shlepa_arc_challenge"]
    assert arc["paths"] == {"kv-cache": 4} and arc["fallback"] == 4
    assert "tree attention masks not used" in arc["why"]["kv-cache"][0]


def test_v2_runs_chat_models_with_their_chat_template_and_few_shot_as_turns(
    board_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shlepa.evaluation import lm_eval_api
    from shlepa.evaluation.options import EvalOptions, EvaluationRun
    from shlepa.evaluation.run import reproduction, run_lm_eval
    from shlepa.evaluation.tasks import LoadedTasks
    from shlepa.records.request import new_request

    def run_of(model_type: str) -> EvaluationRun:
        request = new_request("acme/m", "a" * 40, "bfloat16", model_type, "mit", "alice", suite="open_llm_v2")
        return EvaluationRun.start(request, board_root, EvalOptions())

    chat, base = run_of("chat"), run_of("pretrained")
    assert (chat.chat_template, chat.fewshot_as_multiturn) == (True, True)
    assert (base.chat_template, base.fewshot_as_multiturn) == (False, False)
    seen: dict = {}
    monkeypatch.setattr(lm_eval_api, "simple_evaluate", lambda **kw: seen.update(kw) or {"results": {}})
    run_lm_eval(object(), LoadedTasks([], {}, {}), chat.options, None, chat.chat_template, chat.fewshot_as_multiturn)
    assert seen["apply_chat_template"] is True and seen["fewshot_as_multiturn"] is True
    rep = reproduction(
        chat.request, "results/acme/m/r.json", chat.options, chat.model_args, chat.benchmarks, (True, True)
    )
    assert len(rep["lm_eval"]) == 6 and all("--apply_chat_template --fewshot_as_multiturn" in c for c in rep["lm_eval"])
    assert "--tasks leaderboard_bbh --num_fewshot 3" in " ".join(rep["lm_eval"])


def test_the_results_record_the_hash_of_the_lock_the_environment_came_from(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from shlepa.evaluation import EvaluationError
    from shlepa.evaluation.run import versions

    lock = tmp_path / "runner.txt"
    lock.write_text("pyyaml==6.0.2 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    monkeypatch.setenv("SHLEPA_LOCK", str(lock))
    assert versions()["lock"] == "runner.txt@sha256:" + hashlib.sha256(lock.read_bytes()).hexdigest()
    lock.write_text(lock.read_text() + "# edited\n")  # another lock, another hash
    assert versions()["lock"] == "runner.txt@sha256:" + hashlib.sha256(lock.read_bytes()).hexdigest()
    monkeypatch.setenv("SHLEPA_LOCK", str(tmp_path / "gone.txt"))
    with pytest.raises(EvaluationError, match="SHLEPA_LOCK") as err:
        versions()
    assert err.value.field == "SHLEPA_LOCK" and err.value.path == str(tmp_path / "gone.txt")
    monkeypatch.delenv("SHLEPA_LOCK")
    assert "lock" not in versions() and "lm_eval" in versions()
