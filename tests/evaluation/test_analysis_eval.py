"""An Analysis360 evaluation end to end on the bundled data, and each metric against a hand computation."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch

from shlepa.demo.run import content_sha, prepare_workspace
from shlepa.evaluation.model import create_lm
from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request
from shlepa.evaluation.tasks import plan
from shlepa.records.details import load_shared, read_model_details
from shlepa.records.request import load_request, new_request, save_request
from shlepa.records.suite import DataSource, load_suite

REPO = Path(__file__).resolve().parents[2]
BENCHES = ["boolq", "toxigen", "humaneval", "word_perplexity", "byte_perplexity", "bits_per_byte", "memorization"]
LIMIT = 2

pytestmark = pytest.mark.slow  # runs the real lm-eval on a tiny model


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """One evaluation of a tiny model on part of analysis360 (bundled), logged to W&B offline."""
    work = prepare_workspace(REPO, tmp_path_factory.mktemp("lb"))
    sample = work / "train.jsonl"
    sample.write_text("".join(json.dumps({"text": " ".join(["the cat sat on the mat"] * 20)}) + "\n" for _ in range(3)))
    request = new_request(
        "local/tiny",
        content_sha(tiny_model_dir),
        "float32",
        "pretrained",
        "mit",
        "tester",
        suite="analysis360",
        checkpoint={"series": "s", "step": 20, "ref": "step_20"},
    )
    path = save_request(request, work)
    wandb_dir = tmp_path_factory.mktemp("wandb")
    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("WANDB_DIR", str(wandb_dir))
    mp.setenv("WANDB_SILENT", "true")
    try:
        target = evaluate_request(
            path,
            work,
            EvalOptions(
                source=DataSource.bundled,
                benchmarks=BENCHES,
                model_path=tiny_model_dir,
                batch_size=4,
                device="cpu",
                limit=LIMIT,
                memorization_data=sample,
                wandb_project="shlepa-test",
            ),
        )
    finally:
        mp.undo()
    return work, path, json.loads(target.read_text()), target, wandb_dir


def test_benchmarks_without_a_task_or_code_permission_are_skipped_with_a_note(evaluated):
    _, path, res, _, _ = evaluated
    assert res["skipped"] == {
        "toxigen": "no task for bundled data in suite analysis360",
        "humaneval": (
            "runs model-written code; start the evaluation with --allow-code-eval "
            "(or set runner.allow_code_eval in leaderboard.yaml) to include it"
        ),
    }
    assert set(res["scores"]) == {"boolq", "word_perplexity", "byte_perplexity", "bits_per_byte", "memorization"}
    assert load_request(path).status.value == "FINISHED"
    assert res["evaluation"]["allow_code_eval"] is False


def test_one_task_serves_all_three_perplexity_metrics(evaluated):
    _, _, res, _, _ = evaluated
    assert list(res["lm_eval"]["results"]).count("shlepa_wikitext") == 1
    assert sum("shlepa_wikitext" in c for c in res["reproduce"]["lm_eval"]) == 1
    ppl = res["scores"]
    # bits per byte is log2 of byte perplexity, as lm-eval defines them.
    assert ppl["bits_per_byte"]["value"] == pytest.approx(math.log2(ppl["byte_perplexity"]["value"]))
    assert res["average"] == pytest.approx(ppl["boolq"]["value"])  # perplexities and memorization are not averaged


def test_perplexity_matches_a_hand_computation(evaluated, tiny_model_dir):
    """word/byte perplexity and bits per byte from the model's own rolling log-likelihoods."""
    import sys

    _work, _, res, _, _ = evaluated
    sys.path.insert(0, str(REPO / "eval/tasks/wikitext"))
    try:
        from preprocess_wikitext import wikitext_detokenizer
    finally:
        sys.path.pop(0)
    from lm_eval.api.instance import Instance

    docs = [json.loads(line) for line in (REPO / "eval/data/text_corpus/test.jsonl").read_text().splitlines()[:LIMIT]]
    lm = create_lm("hf", {"pretrained": str(tiny_model_dir), "dtype": "float32"}, 4, "cpu")
    reqs = [Instance("loglikelihood_rolling", d, (wikitext_detokenizer(d),), i) for i, d in enumerate(docs)]
    lls = lm.loglikelihood_rolling(reqs, disable_tqdm=True)
    words = sum(len(re.split(r"\s+", d["page"])) for d in docs)
    nbytes = sum(len(d["page"].encode("utf-8")) for d in docs)
    total = sum(lls)
    assert res["scores"]["word_perplexity"]["value"] == pytest.approx(math.exp(-total / words), rel=1e-5)
    assert res["scores"]["byte_perplexity"]["value"] == pytest.approx(math.exp(-total / nbytes), rel=1e-5)
    assert res["scores"]["bits_per_byte"]["value"] == pytest.approx(-total / nbytes / math.log(2), rel=1e-5)

    # And the rolling log-likelihood itself, on a text shorter than the context: the sum of
    # log p(token | EOT + previous tokens) straight from the transformers model.
    text = "The cat sat on the mat."
    (ll,) = lm.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, (text,), 0)], disable_tqdm=True)
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    inp = torch.tensor([[lm.prefix_token_id, *ids]])
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(inp).logits[0, :-1].float(), dim=-1)
    hand = float(sum(logp[i, t] for i, t in enumerate(ids)))
    assert ll == pytest.approx(hand, abs=1e-3)


def test_multiple_choice_accuracy_matches_hand_log_likelihoods(evaluated, tiny_model_dir):
    """BoolQ: the answer with the higher log p(" no"/" yes" | prompt) is picked; acc is the share right."""
    from transformers import AutoModelForCausalLM

    from shlepa.demo.tinymodels import load_tokenizer

    _, _, res, target, _ = evaluated
    tok = load_tokenizer(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32).eval()
    docs = [json.loads(line) for line in (REPO / "eval/data/boolq/test.jsonl").read_text().splitlines()[:LIMIT]]
    right = 0
    for doc in docs:
        ctx = f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:"
        scores = []
        for choice in [" no", " yes"]:
            c_ids = tok(ctx, add_special_tokens=False)["input_ids"]
            a_ids = tok(ctx + choice, add_special_tokens=False)["input_ids"][len(c_ids) :]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([c_ids + a_ids])).logits[0].float(), dim=-1)
            scores.append(float(sum(logp[len(c_ids) - 1 + i, t] for i, t in enumerate(a_ids))))
        right += int(scores.index(max(scores)) == (1 if doc["answer"] else 0))
    assert res["scores"]["boolq"]["value"] == pytest.approx(100 * right / LIMIT)
    rows = read_model_details(target.parent / res["details_file"], load_shared(target.parents[3])).rows
    assert sum(r["benchmark"] == "boolq" for r in rows) == LIMIT
    assert sum(r["benchmark"] == "memorization" for r in rows) == LIMIT  # --limit caps sequences too


def test_memorization_is_reported_per_checkpoint(evaluated):
    _, _, res, _, _ = evaluated
    mem = res["scores"]["memorization"]
    assert mem["n_samples"] == LIMIT and 0.0 <= mem["value"] <= 100.0 and mem["metric"] == "memorized,none"
    assert res["memorization"]["memorization"]["k"] == 32
    assert res["request"]["checkpoint"]["step"] == 20


def test_wandb_offline_run_is_written(evaluated):
    _, _, res, _, wandb_dir = evaluated
    assert res["evaluation"]["wandb"]["project"] == "shlepa-test"
    runs = list((wandb_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_plan_for_hub_data_and_allowed_code():
    suite = load_suite("analysis360", REPO)
    run, memo, skipped = plan(suite, suite.benchmarks, EvalOptions(source=DataSource.hub, confirm_run_unsafe_code=True))
    keys = {b.key for b in run}
    assert {"race", "toxigen", "drop", "humaneval", "humaneval_pass10", "mbpp"} <= keys
    assert memo == [] and skipped == {"memorization": "no training-data sample given (--memorization-data)"}
