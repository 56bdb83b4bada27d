"""Tiny offline models: standard HF layout, deterministic, trainable, loadable by lm-eval."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from shlepa.demo import tinymodels as tm

# In-distribution text the models never saw: the synthetic generator with another seed.
HELD_OUT = tm._synthetic_corpus(n_docs=24, seed=98765)
# The series trains on generated text of the same kind as HELD_OUT, so the loss drop
# does not depend on which data files happen to sit in the repository.
TRAIN_TEXTS = tm._synthetic_corpus(n_docs=400, seed=1234)


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / "model.safetensors"))


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    # Trained on generated text of the same kind as HELD_OUT, so the loss drop does
    # not depend on which data files happen to sit in the repository.
    return tm.make_checkpoint_series(tmp_path_factory.mktemp("series"), [0, 10, 30], seed=3, texts=TRAIN_TEXTS)


@pytest.mark.parametrize("fixture", ["tiny_model_dir", "tiny_gpt2_dir"])
def test_directory_is_a_standard_safetensors_model(fixture: str, request: pytest.FixtureRequest) -> None:
    model_dir: Path = request.getfixturevalue(fixture)
    names = {p.name for p in model_dir.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl", ".py"))]
    config = json.loads((model_dir / "config.json").read_text())
    assert "auto_map" not in config
    assert config["model_type"] in {"llama", "gpt2"}
    assert json.loads((model_dir / "tokenizer_config.json").read_text())["tokenizer_class"] == (
        "PreTrainedTokenizerFast"
    )


@pytest.mark.parametrize("fixture", ["tiny_model_dir", "tiny_gpt2_dir"])
def test_loads_with_auto_classes_without_remote_code(fixture: str, request: pytest.FixtureRequest) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    model_dir = str(request.getfixturevalue(fixture))
    config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(model_dir, trust_remote_code=False)
    assert tok.eos_token_id is not None and tok.bos_token_id is not None and tok.pad_token_id is not None
    assert model.config.eos_token_id == tok.eos_token_id
    assert model.config.vocab_size == len(tok)
    max_pos = getattr(config, "max_position_embeddings", None) or config.n_positions
    assert max_pos >= 4096  # 25-shot ARC prompts are ~2.5-3 k tokens with this vocabulary
    ids = tok("The farmer opened the gate.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert logits.shape == (1, ids.shape[1], len(tok)) and torch.isfinite(logits).all()


def test_tokenizer_round_trips_text(tiny_model_dir: Path) -> None:
    tok = tm.load_tokenizer(tiny_model_dir)
    for text in [
        "Question: What is two plus three?\nAnswer: five",
        "  leading spaces, tabs\tand ünïcödé 🙂 survive\n\n",
    ]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == text


def test_same_seed_same_weights_and_series_matches_single_build(series: dict[int, Path], tmp_path: Path) -> None:
    tokenizer_dir = series[0].parent / "tokenizer"
    single = tm.make_tiny_model(
        tmp_path / "single", seed=3, train_steps=10, tokenizer_dir=tokenizer_dir, texts=TRAIN_TEXTS
    )
    assert _same_weights(single, series[10])
    a = tm.make_tiny_model(tmp_path / "a", seed=7, tokenizer_dir=tokenizer_dir)
    b = tm.make_tiny_model(tmp_path / "b", seed=7, tokenizer_dir=tokenizer_dir)
    c = tm.make_tiny_model(tmp_path / "c", seed=8, tokenizer_dir=tokenizer_dir)
    assert _same_weights(a, b)
    assert not _same_weights(a, c)


def test_checkpoint_series_dirs_differ_and_training_lowers_loss(series: dict[int, Path]) -> None:
    assert sorted(series) == [0, 10, 30]
    for step, path in series.items():
        assert path.name == f"step_{step}" and (path / "model.safetensors").is_file()
    assert not _same_weights(series[0], series[10])
    assert not _same_weights(series[10], series[30])
    losses = {step: tm.corpus_loss(path, HELD_OUT) for step, path in series.items()}
    assert losses[0] > math.log(len(tm.load_tokenizer(series[0]))) - 0.5  # random init ~ uniform
    assert losses[0] - losses[30] > 1.0, losses
    assert losses[10] > losses[30], losses


def test_chat_template_and_half_precision(tmp_path: Path, tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tm.make_tiny_model(
        tmp_path / "chat", tokenizer_dir=tiny_model_dir, chat_template=tm.SIMPLE_CHAT_TEMPLATE, dtype="bfloat16"
    )
    tok = AutoTokenizer.from_pretrained(str(out))
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt == "<s><|user|>\nHi</s>\n<|assistant|>\n"
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    assert AutoModelForCausalLM.from_pretrained(str(out), dtype="auto").dtype == torch.bfloat16
    with pytest.raises(ValueError):
        tm.make_tiny_model(tmp_path / "bad", tokenizer_dir=tiny_model_dir, dtype="float8")


def test_default_corpus_works_without_data_files() -> None:
    corpus = tm.default_corpus()
    assert len(corpus) >= 100 and sum(map(len, corpus)) > 20_000
    assert corpus == tm.default_corpus()  # deterministic order


@pytest.mark.parametrize("fixture", ["tiny_model_dir", "tiny_gpt2_dir"])
def test_lm_eval_hflm_loads_scores_and_generates(fixture: str, request: pytest.FixtureRequest) -> None:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    model_dir: Path = request.getfixturevalue(fixture)
    lm = HFLM(pretrained=str(model_dir), device="cpu", batch_size=4, dtype="float32")
    assert lm.max_length >= 4096
    reqs = [
        Instance("loglikelihood", {}, ("Question: What is two plus three?\nAnswer:", " five"), 0),
        Instance("loglikelihood", {}, ("Question: What is two plus three?\nAnswer:", " a blue kite"), 1),
        Instance("loglikelihood", {}, ("", "The farmer carried a wooden box."), 2),
    ]
    results = lm.loglikelihood(reqs)
    assert len(results) == 3
    for logprob, is_greedy in results:
        assert math.isfinite(logprob) and logprob < 0 and isinstance(is_greedy, bool)
    gen = lm.generate_until(
        [
            Instance(
                "generate_until",
                {},
                (
                    "Question: Which season follows winter?\nAnswer:",
                    {"until": ["\n\n"], "max_gen_toks": 16, "do_sample": False},
                ),
                0,
            )
        ]
    )
    assert len(gen) == 1 and isinstance(gen[0], str)
    assert "\n\n" not in gen[0]  # stopped at the stop sequence
    assert len(lm.tok_encode(gen[0])) <= 16  # and within max_gen_toks
