"""Fixture model repositories for the fake Hub: one that passes and one per failure kind."""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path

from .fake_hub import GOOD_CARD_BODY, FakeHub, safetensors_header, sha_of

CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
SLOW_CHAT_TEMPLATE = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "num_hidden_layers": 1,
    "vocab_size": 32,
    "max_position_embeddings": 64,
    "torch_dtype": "bfloat16",
    "bos_token_id": 1,
    "eos_token_id": 2,
}


@lru_cache(maxsize=1)
def tokenizer_files(chat_template: bool = True) -> dict[str, bytes]:
    """A word-level tokenizer saved by transformers itself (so AutoTokenizer loads it)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>", "hello", "world", "the", "a", "model"])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}


def card(license: str | None, name: str, body: str | None = None) -> bytes:
    front = f"---\nlicense: {license}\n---\n" if license else ""
    return (front + (body if body is not None else GOOD_CARD_BODY.format(name=name))).encode()


def weights(n_params_dtype: str = "BF16", big: bool = False) -> bytes:
    if big:  # 200B parameters declared in the header; no data is ever read
        return safetensors_header(
            {"model.embed_tokens.weight": (n_params_dtype, [200_000, 1_000_000])}, with_data=False
        )
    return safetensors_header(
        {
            "model.embed_tokens.weight": (n_params_dtype, [32, 16]),
            "model.layers.0.mlp.up_proj.weight": (n_params_dtype, [32, 16]),
        }
    )


def good_files(name: str, *, license: str = "apache-2.0", chat: bool = True) -> dict[str, bytes]:
    return {
        "config.json": json.dumps(LLAMA_CONFIG).encode(),
        "model.safetensors": weights(),
        "README.md": card(license, name),
        **tokenizer_files(chat),
    }


def populate(hub: FakeHub) -> None:
    """Every fixture repo. ``org/good`` passes; each ``org/<kind>`` fails one check."""
    good = good_files("good")
    hub.add("org/good", good, refs={"v1.0": sha_of("org/good", *sorted(good))}, card_data={"license": "apache-2.0"})
    hub.add("org/base", good_files("base"), card_data={"license": "apache-2.0"})
    hub.add("org/private", good, private=True)
    hub.add("org/gated", good, gated="manual", card_data={"license": "apache-2.0"})

    remote = dict(good)
    cfg = dict(LLAMA_CONFIG, auto_map={"AutoConfig": "configuration_x.XConfig"})
    remote["config.json"] = json.dumps(cfg).encode()
    remote["configuration_x.py"] = b"raise SystemExit('remote code must never run')\n"
    hub.add("org/remote-code", remote, card_data={"license": "apache-2.0"})

    pickle = {k: v for k, v in good.items() if k != "model.safetensors"}
    pickle["pytorch_model.bin"] = b"PK\x03\x04 not really a pickle"
    hub.add("org/pickle-only", pickle, card_data={"license": "apache-2.0"})

    hub.add("org/no-card", {k: v for k, v in good.items() if k != "README.md"})
    short = dict(good, **{"README.md": card("apache-2.0", "short", body="# tiny\n")})
    hub.add("org/short-card", short, card_data={"license": "apache-2.0"})
    closed = good_files("closed", license="other")
    hub.add("org/closed-license", closed, card_data={"license": "other"})
    hub.add("org/too-big", dict(good, **{"model.safetensors": weights(big=True)}), card_data={"license": "apache-2.0"})
    unknown = dict(
        good,
        **{
            "config.json": json.dumps(
                dict(LLAMA_CONFIG, architectures=["FrobnicatorForCausalLM"], model_type="llama")
            ).encode()
        },
    )
    hub.add("org/unknown-arch", unknown, card_data={"license": "apache-2.0"})
    hub.add("org/no-chat", good_files("no-chat", chat=False), card_data={"license": "apache-2.0"})
    hub.add("org/fp32", dict(good, **{"model.safetensors": weights("F32")}), card_data={"license": "apache-2.0"})
    hub.add("optout-org/model", good, card_data={"license": "apache-2.0"})
    # A training run: one commit per checkpoint, each behind a branch step_<n>.
    steps = {
        step: dict(good, **{"model.safetensors": weights(), "step.txt": str(step).encode()})
        for step in (1000, 2000, 3000)
    }
    shas = {step: sha_of("org/run", str(step)) for step in steps}
    hub.add(
        "org/run",
        steps[3000],
        sha=shas[3000],
        card_data={"license": "apache-2.0"},
        refs={f"step_{s}": shas[s] for s in steps},
        commits={shas[s]: files for s, files in steps.items()},
    )
    hub.add(
        "org/adapter",
        {"adapter_config.json": b"{}", "adapter_model.safetensors": weights(), "README.md": card("mit", "adapter")},
        card_data={"license": "mit"},
    )
    # #15 item 3: parser bombs in config.json (50,000 levels deep; a 5,000-digit number).
    deep = b"[" * 50_000 + b"]" * 50_000
    hub.add("org/deep-config", dict(good, **{"config.json": deep}), card_data={"license": "apache-2.0"})
    number = json.dumps(dict(LLAMA_CONFIG)).encode().replace(b'"vocab_size": 32', b'"vocab_size": ' + b"9" * 5000)
    hub.add("org/huge-number", dict(good, **{"config.json": number}), card_data={"license": "apache-2.0"})
    # #15 item 4: a 100-byte chat template of two nested 100,000-step loops (hours to render).
    slow = json.loads(good["tokenizer_config.json"])
    slow["chat_template"] = SLOW_CHAT_TEMPLATE
    slow_files = dict(good, **{"tokenizer_config.json": json.dumps(slow).encode()})
    slow_files.pop("chat_template.jinja", None)
    hub.add("org/slow-chat-template", slow_files, card_data={"license": "apache-2.0"})
    # #15 item 7: an adapter whose weights are only a pickle (adapter_model.bin).
    hub.add(
        "org/pickle-adapter",
        {"adapter_config.json": b"{}", "adapter_model.bin": b"PK\x03\x04 pickle", "README.md": card("mit", "adapter")},
        card_data={"license": "mit"},
    )
