"""Tiny causal LMs built locally and offline, for the demo and the tests.

The leaderboard must be exercised end to end (request -> lm-eval -> results ->
site) on machines with no GPU and no Hugging Face Hub. These helpers build
models that look exactly like what a user submits: a standard ``LlamaConfig`` or
``GPT2Config`` architecture (no ``auto_map``, no remote code), weights in
``model.safetensors``, a fast tokenizer with bos/eos/pad set, and a
``generation_config.json``. They are small enough (0.15 M parameters for the default Llama,
0.4 M for GPT-2 with its 4096 learned positions) to build and evaluate in
seconds on two CPU cores.

Training is optional: a few hundred steps of next-token prediction on local text
give checkpoints whose loss (and hence benchmark scores) differ measurably, which
is what a training-trajectory demo needs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

__all__ = [
    "BOS_TOKEN",
    "EOS_TOKEN",
    "PAD_TOKEN",
    "SIMPLE_CHAT_TEMPLATE",
    "UNK_TOKEN",
    "corpus_loss",
    "default_corpus",
    "load_tokenizer",
    "make_checkpoint_series",
    "make_tiny_model",
    "train_tokenizer",
]

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
UNK_TOKEN = "<unk>"
PAD_TOKEN = "<pad>"
SPECIAL_TOKENS = [BOS_TOKEN, EOS_TOKEN, UNK_TOKEN, PAD_TOKEN]

#: A minimal chat template, enough for lm-eval's ``--apply_chat_template`` path.
SIMPLE_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

SEQ_LEN = 128
# A 25-shot ARC-Challenge prompt is ~2.5 k tokens (max seen ~3.1 k) with a
# 512-token BPE, so 2048 would truncate few-shot context; 4096 fits it.
DEFAULT_MAX_POSITIONS = 4096
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BATCH_SIZE = 8
LEARNING_RATE = 3e-3
# Cap on corpus characters: tokenizer training and encoding stay well under a second.
MAX_CORPUS_CHARS = 1_500_000

# Original prose, so the builder works with no data files at all (installed wheel,
# a bare checkout, a CI runner). A few hundred words of plain English with the
# question/answer shape the benchmarks use.
_BUILTIN_PARAGRAPHS = [
    "The lighthouse keeper climbed the spiral stairs every evening at dusk. "
    "He cleaned the great lens, trimmed the wick, and wrote the weather in a "
    "small book: the direction of the wind, the height of the waves, and the "
    "colour of the sky over the harbour.",
    "Water boils at a lower temperature on a high mountain because the air "
    "pressure is lower there. A cook in the hills must therefore leave beans "
    "in the pot for longer than a cook by the sea.",
    "Question: Which part of a plant takes in water from the soil?\nAnswer: the roots",
    "Question: What force pulls a dropped apple toward the ground?\nAnswer: gravity",
    "Question: A student leaves a metal spoon in a bowl of hot soup. Why does "
    "the handle become warm?\nAnswer: heat moves through the metal by conduction",
    "The village market opened early on Saturdays. Farmers arrived with carts "
    "of potatoes, onions, apples and eggs, and the baker sold bread that was "
    "still warm. By noon the square was quiet again, and the pigeons searched "
    "the stones for crumbs.",
    "A good experiment changes only one thing at a time. If a class wants to "
    "know whether light helps seeds grow, every pot should get the same soil, "
    "the same water and the same warmth; only the amount of light should differ.",
    "Question: Which of these is a renewable source of energy?\nAnswer: wind",
    "Question: How many legs does an insect have?\nAnswer: six",
    "The river was wide and slow near the town, but in the mountains it ran "
    "fast and cold over rocks. Children skipped flat stones across the water "
    "and counted the jumps, and the winner was allowed to choose the next game.",
    "Maps are drawn to scale, so that a short line on the paper stands for a "
    "long road on the land. A traveller who reads the scale can tell how far "
    "the next town is and how long the walk will take.",
    "Question: The Moon shines at night because it\nAnswer: reflects light from the Sun",
    "Question: What do we call the change from liquid water to water vapour?\nAnswer: evaporation",
    "When the library moved to a new building, volunteers carried the books in "
    "boxes, one shelf at a time. The oldest atlas was too heavy for one person, "
    "so four people lifted it together and walked very carefully down the hill.",
    "Sound travels as a wave through air, water and solid materials. It moves "
    "faster through water than through air, which is why whales can hear one "
    "another across great distances in the ocean.",
    "Question: Which tool is best for measuring the mass of a rock?\nAnswer: a balance",
    "Question: Which animal is a mammal?\nAnswer: a dolphin",
    "Every spring the swallows returned to the barn. They built nests of mud "
    "and straw under the roof beams, and by summer the young birds were "
    "learning to fly in short, nervous circles above the yard.",
]


# Word lists for a deterministic synthetic corpus: enough varied, structured text
# (about 60 k characters) that 200 training steps learn English-like statistics
# instead of memorising the paragraphs above.
_PEOPLE = [
    "the farmer",
    "a student",
    "the teacher",
    "my sister",
    "the doctor",
    "a sailor",
    "the baker",
    "an old man",
    "the children",
    "a scientist",
    "the miller",
    "her friend",
]
_VERBS = [
    "carried",
    "found",
    "painted",
    "measured",
    "cleaned",
    "sold",
    "watched",
    "planted",
    "counted",
    "repaired",
    "opened",
    "described",
]
_THINGS = [
    "a wooden box",
    "the red apples",
    "a small boat",
    "the garden gate",
    "three stones",
    "the broken clock",
    "a basket of eggs",
    "the blue kite",
    "an old map",
    "the copper kettle",
    "a jar of honey",
    "the tall ladder",
]
_PLACES = [
    "near the river",
    "in the kitchen",
    "at the market",
    "behind the school",
    "on the hill",
    "by the harbour",
    "in the forest",
    "under the bridge",
    "at the station",
    "in the barn",
]
_TIMES = [
    "in the morning",
    "after lunch",
    "before sunset",
    "on Monday",
    "during the storm",
    "last winter",
    "at noon",
    "every evening",
]
_FACTS = [
    ("What do plants need to make their food?", "sunlight, water and air"),
    ("Which gas do animals breathe out?", "carbon dioxide"),
    ("What is frozen water called?", "ice"),
    ("Which planet is closest to the Sun?", "Mercury"),
    ("What instrument measures temperature?", "a thermometer"),
    ("What causes day and night on Earth?", "the rotation of the Earth"),
    ("Which organ pumps blood through the body?", "the heart"),
    ("What kind of rock forms from cooled lava?", "igneous rock"),
    ("What is the main source of energy for Earth?", "the Sun"),
    ("Which material is a good conductor of electricity?", "copper"),
    ("What happens to most materials when they are heated?", "they expand"),
    ("Which season follows winter?", "spring"),
]
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def _synthetic_corpus(n_docs: int = 400, seed: int = 1234) -> list[str]:
    """Template sentences, stories, facts and sums; same output on every machine."""
    import random

    rng = random.Random(seed)
    docs = []
    for i in range(n_docs):
        kind = i % 4
        if kind == 0:
            sents = []
            for _ in range(rng.randint(2, 4)):
                who, verb, what = rng.choice(_PEOPLE), rng.choice(_VERBS), rng.choice(_THINGS)
                sent = f"{who} {verb} {what} {rng.choice(_PLACES)} {rng.choice(_TIMES)}."
                sents.append(sent[0].upper() + sent[1:])
            docs.append(" ".join(sents))
        elif kind == 1:
            question, answer = rng.choice(_FACTS)
            docs.append(f"Question: {question}\nAnswer: {answer}")
        elif kind == 2:
            a, b = rng.randint(0, 6), rng.randint(0, 6)
            docs.append(f"Question: What is {_NUMBERS[a]} plus {_NUMBERS[b]}?\nAnswer: {_NUMBERS[a + b]}")
        else:
            who, what, place = rng.choice(_PEOPLE), rng.choice(_THINGS), rng.choice(_PLACES)
            docs.append(
                f"Question: Where did {who} leave {what}?\nAnswer: {place}. It was still there {rng.choice(_TIMES)}."
            )
    return docs


# --------------------------------------------------------------------------- corpus


def _find_repo_root() -> Path | None:
    """The checkout root (has ``pyproject.toml`` and ``eval/``), searched from here and cwd."""
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for candidate in [start, *start.parents]:
            if (candidate / "pyproject.toml").is_file() and (candidate / "eval").is_dir():
                return candidate
    return None


def _strings(obj: Any) -> Iterator[str]:
    """Every string inside a JSON value, in document order."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


def _read_text_file(path: Path) -> list[str]:
    """Documents in a ``.jsonl`` (one per line, all string fields) or ``.txt`` file."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if path.suffix == ".txt":
        return [raw] if raw.strip() else []
    docs = []
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        # Single-letter labels ("A", "B") and ids are noise, keep real text only.
        text = "\n".join(s for s in _strings(record) if len(s) > 2 and " " in s.strip())
        if text.strip():
            docs.append(text)
    return docs


def default_corpus() -> list[str]:
    """Local training text: the project's ``eval/data`` files if present, plus built-in text.

    Never touches the network or absolute machine paths, so it works in a wheel, a
    bare checkout or CI. The perplexity corpus (``text_corpus``) is read first;
    the total is capped so tokenizer training stays fast. Order is sorted and
    therefore deterministic.
    """
    docs: list[str] = []
    root = _find_repo_root()
    if root is not None:
        data = root / "eval" / "data"
        if data.is_dir():
            files = sorted(
                (p for p in data.rglob("*") if p.suffix in (".jsonl", ".txt") and p.is_file()),
                key=lambda p: (p.parent.name != "text_corpus", p.as_posix()),
            )
            total = 0
            for path in files:
                for doc in _read_text_file(path):
                    if total >= MAX_CORPUS_CHARS:
                        break
                    doc = doc[: MAX_CORPUS_CHARS - total]
                    docs.append(doc)
                    total += len(doc)
    return docs + list(_BUILTIN_PARAGRAPHS) + _synthetic_corpus()


# ------------------------------------------------------------------------ tokenizer


def train_tokenizer(
    texts: Iterable[str],
    out_dir: Path,
    vocab_size: int = 512,
    chat_template: str | None = None,
    model_max_length: int = DEFAULT_MAX_POSITIONS,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on local text and save it as a standard HF fast tokenizer.

    Byte-level means any input round-trips (no unknown characters), so lm-eval's
    continuation/context splitting is exact. No BOS is added automatically
    (GPT-2 style); lm-eval prepends one only when asked.
    """
    out_dir = Path(out_dir)
    tok = Tokenizer(models.BPE(unk_token=UNK_TOKEN))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )
    if chat_template is not None:
        wrapped.chat_template = chat_template
    _save_tokenizer(wrapped, out_dir)
    return wrapped


def _save_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """Save so that both transformers 4.x and 5.x load it with no custom code.

    transformers 5 writes ``tokenizer_class: TokenizersBackend`` (unknown to 4.x),
    keeps the chat template only in ``chat_template.jinja`` and drops
    ``special_tokens_map.json``. We name the portable class, also store the
    template in ``tokenizer_config.json`` and write the special-tokens map.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    if tokenizer.chat_template:
        config["chat_template"] = tokenizer.chat_template
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    special = {
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "unk_token": tokenizer.unk_token,
        "pad_token": tokenizer.pad_token,
    }
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")


def load_tokenizer(tokenizer_dir: Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved by :func:`train_tokenizer` (local files only)."""
    return PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir), local_files_only=True)


# ---------------------------------------------------------------------------- model


def _build_model(
    arch: str,
    tokenizer: PreTrainedTokenizerFast,
    *,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    max_position_embeddings: int,
) -> PreTrainedModel:
    """A random-init model of a stock architecture; caller seeds torch beforehand."""
    special = dict(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vocab = len(tokenizer)
    if arch == "llama":
        config = LlamaConfig(
            vocab_size=vocab,
            hidden_size=hidden_size,
            intermediate_size=hidden_size * 4,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            num_key_value_heads=num_heads,
            max_position_embeddings=max_position_embeddings,
            tie_word_embeddings=True,
            **special,
        )
        return LlamaForCausalLM(config)
    if arch == "gpt2":
        gpt2 = GPT2Config(
            vocab_size=vocab,
            n_embd=hidden_size,
            n_layer=num_layers,
            n_head=num_heads,
            n_positions=max_position_embeddings,
            tie_word_embeddings=True,
            # No dropout: it costs a third of a CPU training step and tiny runs never overfit enough to need it.
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            **special,
        )
        return GPT2LMHeadModel(gpt2)
    raise ValueError(f"unknown arch {arch!r}; expected 'llama' or 'gpt2'")


def _encode_corpus(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> torch.Tensor:
    """The corpus as one long id stream, documents separated by EOS."""
    ids: list[int] = []
    eos = tokenizer.eos_token_id
    # The raw backend: no "longer than model_max_length" warning for long documents.
    for enc in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eos)
    stream = torch.tensor(ids, dtype=torch.long)
    if stream.numel() < SEQ_LEN + 2:  # tiny corpus: repeat it so a window fits
        stream = stream.repeat(math.ceil((SEQ_LEN + 2) / max(stream.numel(), 1)))
    return stream


def _train(
    model: PreTrainedModel,
    stream: torch.Tensor,
    *,
    steps: int,
    seed: int,
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Next-token training for ``steps`` steps; ``on_step(n)`` runs after step n (and at 0).

    Constant LR and a dedicated RNG for batches, so a checkpoint at step n of a
    long run equals a run stopped at n: a series and single builds agree.
    """
    losses: list[float] = []
    if on_step is not None:
        on_step(0)
    if steps <= 0:
        return losses
    with _single_thread():
        _train_loop(model, stream, steps=steps, seed=seed, on_step=on_step, losses=losses)
    model.eval()
    return losses


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the caller's setting.

    The matrices are so small that a second thread barely helps, while on a
    shared or busy CPU (CI, parallel pytest) oversubscribed threads make a step
    10-30x slower. One thread also gives the same float reductions on machines
    with different core counts, so a seed gives the same weights everywhere.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_loop(
    model: PreTrainedModel,
    stream: torch.Tensor,
    *,
    steps: int,
    seed: int,
    on_step: Callable[[int], None] | None,
    losses: list[float],
) -> None:
    """The optimisation loop proper (see :func:`_train`)."""
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    model.train()
    high = stream.numel() - SEQ_LEN - 1
    offsets = torch.arange(SEQ_LEN + 1)
    for step in range(1, steps + 1):
        starts = torch.randint(0, high + 1, (BATCH_SIZE,), generator=gen)
        batch = stream[starts[:, None] + offsets]
        out = model(input_ids=batch, labels=batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(out.loss.detach()))
        if on_step is not None:
            on_step(step)


def _check_dtype(dtype: str) -> None:
    """Fail before training, not after, on a dtype we cannot save."""
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")


def _save(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    out_dir: Path,
    dtype: str,
) -> Path:
    """Write safetensors weights, config, generation config and tokenizer to ``out_dir``."""
    _check_dtype(dtype)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch_dtype = _DTYPES[dtype]
    to_save = model if torch_dtype == torch.float32 else copy.deepcopy(model).to(torch_dtype)  # type: ignore[arg-type]
    to_save.config.dtype = torch_dtype
    to_save.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,  # greedy: generation is reproducible; lm-eval sets its own length
    )
    to_save.save_pretrained(out_dir, safe_serialization=True)
    _save_tokenizer(tokenizer, out_dir)
    return out_dir


def _prepare(
    out_dir: Path,
    *,
    arch: str,
    seed: int,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    vocab_size: int,
    max_position_embeddings: int,
    texts: list[str] | None,
    tokenizer_dir: Path | None,
    chat_template: str | None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast, list[str]]:
    """Shared set-up of a single build and a series: corpus, tokenizer, seeded model."""
    corpus = list(texts) if texts is not None else default_corpus()
    if tokenizer_dir is not None:
        tokenizer = load_tokenizer(Path(tokenizer_dir))
        if chat_template is not None:
            tokenizer.chat_template = chat_template
        tokenizer.model_max_length = max_position_embeddings
    else:
        tokenizer = train_tokenizer(
            corpus,
            Path(out_dir),
            vocab_size=vocab_size,
            chat_template=chat_template,
            model_max_length=max_position_embeddings,
        )
    torch.manual_seed(seed)
    model = _build_model(
        arch,
        tokenizer,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
    )
    model.eval()
    return model, tokenizer, corpus


def make_tiny_model(
    out_dir: Path,
    *,
    arch: Literal["llama", "gpt2"] = "llama",
    seed: int = 0,
    train_steps: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    vocab_size: int = 512,
    max_position_embeddings: int = DEFAULT_MAX_POSITIONS,
    texts: list[str] | None = None,
    tokenizer_dir: Path | None = None,
    chat_template: str | None = None,
    dtype: str = "float32",
) -> Path:
    """Build (and optionally train) a tiny standard-architecture causal LM into ``out_dir``.

    Deterministic for a given seed, corpus and tokenizer. ``tokenizer_dir`` reuses
    an existing tokenizer so several models share one vocabulary. The default
    context (4096) fits a 25-shot ARC prompt with this small vocabulary.
    Returns ``out_dir``.
    """
    _check_dtype(dtype)
    out_dir = Path(out_dir)
    model, tokenizer, corpus = _prepare(
        out_dir,
        arch=arch,
        seed=seed,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        vocab_size=vocab_size,
        max_position_embeddings=max_position_embeddings,
        texts=texts,
        tokenizer_dir=tokenizer_dir,
        chat_template=chat_template,
    )
    if train_steps > 0:
        _train(model, _encode_corpus(tokenizer, corpus), steps=train_steps, seed=seed)
    return _save(model, tokenizer, out_dir, dtype)


def make_checkpoint_series(out_root: Path, steps: list[int], **kw: Any) -> dict[int, Path]:
    """One training run, saved at each step count into ``out_root/step_<n>``.

    For training-trajectory demos: the checkpoints share a seed, a tokenizer
    (trained once, also saved at ``out_root/tokenizer``) and a data order, so
    later checkpoints are the earlier ones trained further. Accepts the keyword
    arguments of :func:`make_tiny_model` except ``train_steps``.
    """
    if "train_steps" in kw:
        raise TypeError("make_checkpoint_series takes steps, not train_steps")
    out_root = Path(out_root)
    wanted = sorted({int(s) for s in steps})
    if not wanted or wanted[0] < 0:
        raise ValueError("steps must be a non-empty list of non-negative integers")
    dtype = kw.pop("dtype", "float32")
    _check_dtype(dtype)
    seed = kw.get("seed", 0)
    if kw.get("tokenizer_dir") is None:
        corpus_for_tok = kw.get("texts")
        corpus_for_tok = list(corpus_for_tok) if corpus_for_tok is not None else default_corpus()
        train_tokenizer(
            corpus_for_tok,
            out_root / "tokenizer",
            vocab_size=kw.get("vocab_size", 512),
            chat_template=kw.get("chat_template"),
            model_max_length=kw.get("max_position_embeddings", DEFAULT_MAX_POSITIONS),
        )
        kw["tokenizer_dir"] = out_root / "tokenizer"
    params = dict(
        arch="llama",
        seed=0,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        vocab_size=512,
        max_position_embeddings=DEFAULT_MAX_POSITIONS,
        texts=None,
        tokenizer_dir=None,
        chat_template=None,
    )
    params.update(kw)
    model, tokenizer, corpus = _prepare(out_root, **params)  # type: ignore[arg-type]
    paths: dict[int, Path] = {}

    def on_step(step: int) -> None:
        if step in wanted:
            paths[step] = _save(model, tokenizer, out_root / f"step_{step}", dtype)

    _train(model, _encode_corpus(tokenizer, corpus), steps=wanted[-1], seed=seed, on_step=on_step)
    return paths


# ------------------------------------------------------------------------ utilities


@torch.no_grad()
def corpus_loss(model_dir: Path, texts: list[str]) -> float:
    """Mean next-token loss of a saved tiny model on ``texts`` (to compare checkpoints)."""
    tokenizer = load_tokenizer(Path(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()
    total, count = 0.0, 0
    with _single_thread():
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
            ids = ids[:, : tokenizer.model_max_length]
            if ids.shape[1] < 2:
                continue
            out = model(input_ids=ids, labels=ids)
            n = ids.shape[1] - 1
            total += float(out.loss) * n
            count += n
    return total / max(count, 1)
