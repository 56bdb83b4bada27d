"""Memorization (Biderman et al. 2023): greedy k-token continuation of k-token training prefixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from shlepa.demo.tinymodels import load_tokenizer, make_tiny_model
from shlepa.evaluation.memorization import (
    MemorizationError,
    greedy_continuations,
    measure,
    measure_file,
    read_sample,
    sequences,
)

TRAINING_TEXTS = [
    "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat near the old wooden door of the house by the river bank.",
    "Seven silver ships sailed slowly south, seeking shelter from the storm that swept across the sea from the northern mountains every winter evening.",
]
UNSEEN = [
    "A completely different sentence about nothing in particular, written for the memorization test, with more words here so it is long enough."
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    model.eval()
    return model, load_tokenizer(tiny_model_dir)


def test_greedy_continuation_matches_transformers_generate(tiny):
    model, _ = tiny
    prefixes = [[5, 17, 42, 99, 7, 300, 12, 8], [1, 2, 3, 4, 5, 6, 7, 8]]
    ours = greedy_continuations(model, prefixes, k=8)
    ref = model.generate(
        torch.tensor(prefixes), do_sample=False, max_new_tokens=8, min_new_tokens=8, pad_token_id=0, eos_token_id=None
    )[:, 8:].tolist()
    assert ours == ref


def test_hand_check_on_a_fixed_sequence(tiny, monkeypatch):
    """A sequence whose continuation is the model's own greedy output is memorized; one changed token is not."""
    model, tokenizer = tiny
    k = 8
    prefix = [5, 17, 42, 99, 7, 300, 12, 8]
    cont = greedy_continuations(model, [prefix], k)[0]
    wrong = cont[:3] + [(cont[3] + 1) % 512] + cont[4:]
    import shlepa.evaluation.memorization as mem

    monkeypatch.setattr(tokenizer.__class__, "__call__", lambda self, text, **kw: {"input_ids": json.loads(text)})
    result = mem.measure(model, tokenizer, [json.dumps(prefix + cont), json.dumps(prefix + wrong)], k=k)
    assert result.n == 2
    assert [r["metrics"]["memorized"] for r in result.rows] == [1.0, 0.0]
    assert result.memorized == 0.5
    assert result.match_rate == pytest.approx((1.0 + (k - 1) / k) / 2)


def test_sequences_cut_jsonl_documents_and_plain_text():
    docs = [list(range(10)), list(range(3))]
    assert sequences(docs, 2, plain_text=False) == [[0, 1, 2, 3]]  # each document's start; short ones skipped
    assert sequences(docs, 2, plain_text=True) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert sequences(docs, 2, plain_text=True, limit=1) == [[0, 1, 2, 3]]


def test_sample_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "s.jsonl"
    bad.write_text('{"text": "ok"}\n{"txt": "no"}\n')
    with pytest.raises(MemorizationError, match=r"s.jsonl: line 2: field 'text'"):
        read_sample(bad)
    with pytest.raises(MemorizationError, match="cannot read"):
        read_sample(tmp_path / "missing.txt")


@pytest.mark.slow
def test_a_model_trained_on_a_text_memorizes_it(tmp_path):
    folder = make_tiny_model(tmp_path / "m", train_steps=120, texts=TRAINING_TEXTS, seed=0)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    model.eval()
    tokenizer = load_tokenizer(folder)
    sample = tmp_path / "train.jsonl"
    sample.write_text("".join(json.dumps({"text": t}) + "\n" for t in TRAINING_TEXTS))
    seen = measure_file(model, tokenizer, sample, k=16)
    unseen = measure(model, tokenizer, UNSEEN, k=16)
    assert seen.n == 2 and unseen.n == 1
    assert seen.memorized >= 0.5 and unseen.memorized == 0.0
    assert seen.match_rate > 0.5 > unseen.match_rate
