"""Memorization of training data, as in LLM360's Analysis360 (after Biderman et al., 2023).

A sequence from the model's training data counts as *memorized* when, given its first
``k`` tokens, greedy decoding reproduces its next ``k`` tokens exactly. The score is the
share of sampled sequences that are memorized; the mean share of matching continuation
tokens is reported beside it. The training-data sample is a local file: JSONL (one
document per line, in a ``text`` field) or plain text (cut into consecutive windows of
``2k`` tokens).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shlepa.errors import ShlepaError

DEFAULT_K = 32


class MemorizationError(ShlepaError, ValueError):
    """The training-data sample is unusable; the message names the file."""


@dataclass
class MemorizationResult:
    k: int
    n: int
    memorized: float  # share of sequences reproduced exactly
    match_rate: float  # mean share of continuation tokens reproduced
    rows: list[dict[str, Any]] = field(default_factory=list)


def read_sample(path: Path) -> list[str]:
    """Documents of a training-data sample file (``.jsonl``: ``text`` field; otherwise plain text)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MemorizationError(f"cannot read the training-data sample: {exc}", path=path) from None
    if path.suffix != ".jsonl":
        return [raw]
    docs = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MemorizationError(f"line {n}: not JSON: {exc.msg}", path=path) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise MemorizationError(f"line {n}: field 'text': missing or not a string", path=path)
        docs.append(obj["text"])
    return docs


def sequences(token_docs: list[list[int]], k: int, plain_text: bool, limit: int | None = None) -> list[list[int]]:
    """Sequences of exactly ``2k`` tokens: each JSONL document's start, or windows of a text."""
    out: list[list[int]] = []
    for ids in token_docs:
        if plain_text:
            out += [ids[i : i + 2 * k] for i in range(0, len(ids) - 2 * k + 1, 2 * k)]
        elif len(ids) >= 2 * k:
            out.append(ids[: 2 * k])
    return out[:limit] if limit else out


def greedy_continuations(model: Any, prefixes: list[list[int]], k: int, batch_size: int = 16) -> list[list[int]]:
    """``k`` greedily decoded tokens after each prefix (all prefixes have the same length)."""
    import inspect

    import torch
    from transformers import DynamicCache

    device = next(model.parameters()).device
    # transformers 5 renamed ``past_key_values`` to ``cache``; a Cache object fills in place.
    cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    out: list[list[int]] = []
    with torch.no_grad():
        for i in range(0, len(prefixes), batch_size):
            ids = torch.tensor(prefixes[i : i + batch_size], dtype=torch.long, device=device)
            cache = DynamicCache(config=model.config)
            step_ids, new = ids, []
            for _ in range(k):  # plain argmax loop: no EOS stop, no sampling settings to go wrong
                res = model(input_ids=step_ids, use_cache=True, **{cache_kw: cache})
                step_ids = res.logits[:, -1, :].argmax(dim=-1, keepdim=True)
                new.append(step_ids)
            out += torch.cat(new, dim=1).tolist()
    return out


def measure(
    model: Any,
    tokenizer: Any,
    docs: list[str],
    *,
    k: int = DEFAULT_K,
    plain_text: bool = False,
    limit: int | None = None,
    batch_size: int = 16,
) -> MemorizationResult:
    """Memorization of ``docs`` by ``model`` (a Hugging Face causal LM) at prefix/continuation length ``k``."""
    token_docs = [tokenizer(d, add_special_tokens=False)["input_ids"] for d in docs]
    seqs = sequences(token_docs, k, plain_text, limit)
    if not seqs:
        raise MemorizationError(f"no training-data sequence has {2 * k} tokens; use a smaller k or longer samples")
    generated = greedy_continuations(model, [s[:k] for s in seqs], k, batch_size)
    rows, exact, rate = [], 0, 0.0
    for n, (seq, gen) in enumerate(zip(seqs, generated, strict=False)):
        target = seq[k:]
        matches = sum(a == b for a, b in zip(gen, target, strict=False))
        exact += matches == k
        rate += matches / k
        rows.append(
            {
                "doc_id": n,
                "prompt": tokenizer.decode(seq[:k]),
                "target": tokenizer.decode(target),
                "response": tokenizer.decode(gen),
                "metrics": {"memorized": float(matches == k), "match_rate": matches / k},
            }
        )
    return MemorizationResult(k=k, n=len(seqs), memorized=exact / len(seqs), match_rate=rate / len(seqs), rows=rows)


def measure_file(model: Any, tokenizer: Any, path: Path, **kw: Any) -> MemorizationResult:
    """:func:`measure` on a training-data sample file."""
    return measure(model, tokenizer, read_sample(path), plain_text=Path(path).suffix != ".jsonl", **kw)
