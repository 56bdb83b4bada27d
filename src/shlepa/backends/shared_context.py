"""``shlepa-hf``: lm-eval's HF backend that computes each shared context only once.

Multiple-choice log-likelihood tasks send one request per answer choice, all with
the same (often long, few-shot) context. Plain ``hf`` runs the whole context
through the model again for every choice whose continuation is longer than one
token. This backend reproduces exactly the token sequences of ``HFLM`` (same
tokenization, same BOS/prefix handling, same "last context token predicts the
first continuation token" alignment) and picks, per token trie, the cheaper of two
plans by an estimate of multiply-adds (body per token, attention per query-key
pair, vocabulary projection per kept position):

* ``packed-tree``: the sequences (context + continuation minus its last token) are
  sorted and packed into token tries, each distinct prefix once, one trie per row,
  with a tree attention mask and positions equal to depth (a probe checks that the
  model honours both);
* ``shared-pass``: one causal row per distinct sequence, right-padded with no mask,
  exactly the inputs plain ``hf`` feeds; a sequence that is a prefix of another
  (e.g. MMLU's one-letter answers, all equal to the context) runs once. This wins
  when contexts share little (a tree then adds dense attention and saves nothing).

Either way logits are projected only at the positions that predict continuation
tokens, and log-softmax is taken in float32. In half precision, a document whose
two best choices are closer than the precision's error bound is re-scored as ``HFLM``
with batch size 1 scores it, bit for bit, so its decision is plain hf's. Without tree masks (sliding
window, other attention kernels, ``pack_tokens=0``) a KV-cache path runs each
context once (``DynamicCache``) and batches its continuations from it.

Requests that do not fit (longer than the model's window, which ``HFLM``
left-truncates, or longer than ``max_batch_tokens``), seq2seq models and rolling
log-likelihood (perplexity) go through ``HFLM`` unchanged, with a WARNING;
``generate_until`` is inherited unchanged. ``scoring_report()`` says, per task,
which path scored its requests and why.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import Collator
from tqdm import tqdm
from transformers import AttentionInterface, DynamicCache
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from shlepa.records.scoring import KV_CACHE, NEAR_TIE, ONE_ROW, PACKED, PLAIN, SHARED_PASS, USUAL_WHY

log = logging.getLogger("shlepa.backends")

Tokens = tuple[int, ...]
LLRequest = tuple[tuple[str, str] | None, list[int], list[int]]


#: An option for packed rows in half precision: sdpa on queries, keys and values upcast to
#: float32 (a tree's boolean mask sends sdpa to its generic kernel, plain hf's causal rows
#: to the fused one). Measured on SmolLM2-135M (benchmarks/README.md) it moves shlepa-hf
#: further from the float32 reference, not closer (bfloat16 median 0.045 vs 0.033 nats,
#: worst 0.55 vs 0.37), so it is off unless ``float32_attention=true``.
FLOAT32_SDPA = "shlepa_sdpa_float32"


def _sdpa_float32(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                  attention_mask: torch.Tensor | None, **kwargs: Any) -> tuple[torch.Tensor, Any]:  # fmt: skip
    out, weights = sdpa_attention_forward(module, query.float(), key.float(), value.float(), attention_mask, **kwargs)
    return out.to(query.dtype), weights


AttentionInterface.register(FLOAT32_SDPA, _sdpa_float32)


@contextlib.contextmanager
def attention(model: Any, name: str) -> Iterator[None]:
    """Run ``model`` with another registered attention function, then restore its own."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = before


@dataclass
class ContextGroup:
    """All requests that share one context token sequence."""

    prefix: Tokens  # context[:-1]: run once, kept as KV cache
    last: int  # context[-1]: first input of every continuation row
    members: list[int] = field(default_factory=list)  # indices into the request list


@dataclass
class PrefixCluster:
    """Consecutive (sorted) context groups that share ``shared`` tokens at their start."""

    shared: Tokens
    groups: list[ContextGroup]


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def group_by_context(requests: Sequence[LLRequest], indices: Sequence[int]) -> list[ContextGroup]:
    """One group per distinct context token sequence, in first-seen order."""
    groups: dict[Tokens, ContextGroup] = {}
    for i in indices:
        ctx = tuple(requests[i][1])
        group = groups.get(ctx)
        if group is None:
            group = groups[ctx] = ContextGroup(prefix=ctx[:-1], last=ctx[-1])
        group.members.append(i)
    return list(groups.values())


def cluster_by_prefix(groups: Sequence[ContextGroup], min_shared: int, window: int = 4096) -> list[PrefixCluster]:
    """Sort contexts and cut them into runs that share a prefix, maximizing tokens saved.

    A run of ``n`` sorted contexts whose common prefix is ``s`` tokens saves
    ``(n - 1) * s`` tokens. A dynamic programme over the sorted order picks the runs
    with the largest total saving, so one context that shares only a short prefix
    does not shrink a long prefix that others share. Runs share at least
    ``min_shared`` tokens and span at most ``window`` contexts; ``min_shared <= 0``
    turns sharing off (every context on its own).
    """
    ordered = sorted(groups, key=lambda g: g.prefix)
    n = len(ordered)
    if min_shared <= 0 or n < 2:
        return [PrefixCluster(shared=g.prefix, groups=[g]) for g in ordered]
    lcp = [common_prefix_len(ordered[k].prefix, ordered[k + 1].prefix) for k in range(n - 1)]
    best = [0] * (n + 1)  # best[i]: largest saving over the first i contexts
    start = [0] * (n + 1)  # start[i]: first context of the run that ends at i - 1
    for i in range(1, n + 1):
        best[i], start[i] = best[i - 1], i - 1
        shared = None
        for j in range(i - 2, max(-1, i - 1 - window), -1):
            shared = lcp[j] if shared is None else min(shared, lcp[j])
            if shared < min_shared:
                break
            saving = best[j] + (i - 1 - j) * shared
            if saving > best[i]:
                best[i], start[i] = saving, j
    clusters: list[PrefixCluster] = []
    i = n
    while i > 0:
        j = start[i]
        run = ordered[j:i]
        shared_len = min(lcp[j : i - 1]) if len(run) > 1 else len(run[0].prefix)
        clusters.append(PrefixCluster(shared=run[0].prefix[:shared_len], groups=run))
        i = j
    clusters.reverse()
    return clusters


def distinct_rows(rows: Sequence[Tokens]) -> tuple[list[Tokens], list[int]]:
    """Rows to run (none a prefix of another) and, per input row, which one covers it.

    A row that is a prefix of a longer row gets the same logits from the longer one
    (causal attention), so it is not run again.
    """
    unique = sorted(set(rows), key=len, reverse=True)
    kept: list[Tokens] = []
    where: dict[Tokens, int] = {}
    for row in unique:
        for k, other in enumerate(kept):
            if other[: len(row)] == row:
                where[row] = k
                break
        else:
            where[row] = len(kept)
            kept.append(row)
    return kept, [where[r] for r in rows]


def budget_batches(rows: Sequence[Tokens], cached: int, max_tokens: int) -> Iterator[list[int]]:
    """Split rows (longest first) into batches of at most ``max_tokens`` tokens.

    A batch costs ``len(batch) * (cached + longest row)``: every row attends to its
    own copy of the cached context.
    """
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    batch: list[int] = []
    width = 0
    for i in order:
        w = max(width, cached + len(rows[i]))
        if batch and (len(batch) + 1) * w > max_tokens:
            yield batch
            batch, w = [], cached + len(rows[i])
        batch.append(i)
        width = w
    if batch:
        yield batch


@dataclass
class Packed:
    """One packed row: a token trie in depth-first order, every node attending to its ancestors.

    ``tokens[i]`` sits at position ``depth[i]``; node ``j`` sees node ``i`` when
    ``i <= j < end[i]`` (``i`` is ``j`` itself or one of its ancestors), which is
    exactly what ``j`` would see in its own unpadded causal sequence.
    """

    tokens: list[int]
    depth: list[int]
    end: list[int]
    paths: list[list[int]]  # per sequence: the node of each of its tokens
    members: list[int]  # per sequence: the request it belongs to


def pack_tries(
    seqs: Sequence[Tokens], members: Sequence[int], max_nodes: int, hard_max: int | None = None
) -> Iterator[Packed]:
    """Cut lexicographically sorted sequences into tries of about ``max_nodes`` nodes.

    In sorted order, the nodes a sequence adds to the trie are its tokens after the
    longest common prefix with the previous sequence, appended in depth-first order;
    so shared prefixes (one context's continuations, a few-shot preamble shared by
    several questions, a continuation that is a prefix of another) run once. A trie
    grows past ``max_nodes`` while a sequence shares more tokens with it than it
    adds (splitting there would cost more than it saves), up to ``max_nodes`` past
    its first sequence and never past ``hard_max``. A sequence longer than the
    limits gets a trie of its own.
    """
    cap = hard_max if hard_max is not None else max_nodes
    hard = max_nodes
    tokens: list[int] = []
    depth: list[int] = []
    end: list[int] = []
    paths: list[list[int]] = []
    mems: list[int] = []
    path: list[int] = []
    prev: Tokens = ()
    for seq, member in zip(seqs, members, strict=True):
        shared = common_prefix_len(prev, seq)
        added = len(seq) - shared
        if tokens and added and (len(tokens) + added > hard or (len(tokens) + added > max_nodes and shared < added)):
            for node in path:
                end[node] = len(tokens)
            yield Packed(tokens, depth, end, paths, mems)
            tokens, depth, end, paths, mems, path, shared = [], [], [], [], [], [], 0
        if not tokens:
            hard = min(cap, max(max_nodes, len(seq) + max_nodes))
        for node in path[shared:]:
            end[node] = len(tokens)
        del path[shared:]
        for d in range(shared, len(seq)):
            path.append(len(tokens))
            tokens.append(seq[d])
            depth.append(d)
            end.append(-1)
        paths.append(path[:])
        mems.append(member)
        prev = seq
    if tokens:
        for node in path:
            end[node] = len(tokens)
        yield Packed(tokens, depth, end, paths, mems)


def row_batches(lengths: Sequence[int], max_tokens: int) -> Iterator[list[int]]:
    """Rows (longest first) in batches of at most ``max_tokens`` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        width = lengths[batch[0]] if batch else lengths[i]
        if batch and (len(batch) + 1) * width > max_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return bool(value)


#: ``rescore_ties=exact``: near ties re-scored in plain hf's own batches (see ``plain_batches``).
EXACT = "exact"
ALONE = "alone"
#: Single-token documents scored through the tree, counting near ties, before the rest's plan is chosen.
PILOT = 16


def _rescore_mode(value: Any) -> str | None:
    """``rescore_ties``: true (re-score near ties one row at a time, as plain hf with batch
    size 1), ``exact`` (in plain hf's batches) or false (None)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == EXACT:
            return EXACT
        if word not in _TRUE_WORDS + _FALSE_WORDS:
            raise ValueError(f"rescore_ties: expected true, false or {EXACT}, not {value!r}")
    return ALONE if _as_bool(value) else None


# The plans a request can be scored by (the names ``scoring_report()`` uses).
# (defined in shlepa.records.scoring, which the results file and the site share)


class TieBound(NamedTuple):
    """How far a request's log-likelihood may lie from plain hf's at the same precision:
    ``relative * |ll| + max(per_token * tokens, logit * max |target logit|)``.

    ``relative`` is plain hf's own rounding of log-probabilities (it takes log-softmax in the
    logits' dtype: half a unit in the last place, 2**-8 in bfloat16, 2**-11 in float16);
    ``per_token`` covers activations that differ with batch shape (measured on SmolLM2-135M,
    see benchmarks/README.md). ``logit`` is the logits' own unit roundoff: a logit of 16-32
    is a multiple of 0.125 in bfloat16, so two choices of one single-token context (MMLU's
    letters) are equal or at least 0.125 apart, and a logit that rounds the other way in
    another batch shape moves a decision by that much, far more than 0.01 a token; never
    less than one logit's rounding, then. A document whose two best choices are closer than
    their summed bounds is re-scored through the plain path.
    """

    relative: float
    per_token: float
    logit: float = 0.0

    def of(self, ll: float, tokens: int, logit: float) -> float:
        """The bound of one request: its log-likelihood, continuation tokens and largest |target logit|."""
        return self.relative * abs(ll) + max(self.per_token * tokens, self.logit * abs(logit))


TIE_BOUNDS = {
    torch.float32: TieBound(1e-6, 1e-5, 2.0**-24),
    torch.float16: TieBound(2.0**-11, 2e-3, 2.0**-11),
    torch.bfloat16: TieBound(2.0**-8, 1e-2, 2.0**-8),
}


@register_model("shlepa-hf")
class SharedContextHFLM(HFLM):
    """HFLM that runs each shared context once and scores all its continuations from it.

    Extra model args: ``max_batch_tokens`` (token budget of one forward pass,
    default 8192), ``share_prefix`` (share prefixes across different contexts,
    default true), ``min_shared_prefix`` (shortest cross-context prefix worth
    sharing, default 16 tokens; KV-cache path only), ``pack_tokens`` (largest
    token trie packed into one row, default 1024; 0 turns packing off),
    ``tree_attention_weight`` (cost of one masked attention pair in a tree relative
    to one causal pair, default 1.5; only steers the choice of plan), ``rescore_ties``
    (re-score near-tie documents through the plain path: true, the default, on their own,
    as close to plain hf as its own spread across batch sizes; ``exact`` in plain hf's own
    batches, so that their scores and decisions are plain hf's bit for bit, at the cost of
    every batch they fall in; false),
    ``float32_attention`` (packed rows' attention in float32 when the model runs in
    bfloat16 or float16; default false: measured, it deviates more, see ``FLOAT32_SDPA``).

    ``scoring_report()`` says, per task, which path scored its requests and why.
    """

    def __init__(
        self,
        *args: Any,
        max_batch_tokens: int = 8192,
        share_prefix: bool = True,
        min_shared_prefix: int = 16,
        pack_tokens: int = 1024,
        tree_attention_weight: float = 1.5,
        rescore_ties: bool | str = True,
        float32_attention: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_batch_tokens = int(max_batch_tokens)
        if self.max_batch_tokens < 2:
            raise ValueError(f"max_batch_tokens must be at least 2, got {max_batch_tokens}")
        self.share_prefix = _as_bool(share_prefix)
        self.min_shared_prefix = int(min_shared_prefix)
        self.pack_tokens = int(pack_tokens)
        self.tree_attention_weight = float(tree_attention_weight)
        self.rescore_ties = _rescore_mode(rescore_ties)
        #: (task, doc_id) of every document re-scored as a near tie, over this backend's life.
        self.near_tie_docs: set[tuple[str, Any]] = set()
        #: (task, doc_id, choice index) of every choice re-scored in those documents.
        self.near_tie_choices: set[tuple[str, Any, Any]] = set()
        self.float32_attention = _as_bool(float32_attention)
        self._packing: bool | None = None  # decided by a probe on first use
        self._packing_why = ""
        self.tokens_processed = 0  # input positions run through the model (padding included)
        self.tokens_minimum = 0  # distinct prefixes of the fast-path inputs: a single perfect token tree
        self.model_calls = 0
        self._plain = False
        self._instances: list[Any] | None = None  # the Instances behind the current request list
        self._target_logit: list[float] = []  # per current request: largest |logit| of its targets (tie bounds)
        self._report: dict[str, dict[str, Any]] = {}
        params = inspect.signature(self.model.forward).parameters
        self._keep_kw = "logits_to_keep" in params
        # transformers 5 renamed ``past_key_values`` to ``cache`` (the old name is deprecated).
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        #: The packing probe's largest logit differences and tolerances (tree vs rows, rows vs causal).
        self.probe_figures: dict[str, float] = {}
        self._keep_exact: bool | None = None  # measured on the first near tie (_row_logits)
        self._costs = self._cost_units()

    # -- accounting -----------------------------------------------------------------
    def _model_call(self, inps: torch.Tensor, attn_mask: Any = None, labels: Any = None) -> torch.Tensor:
        self.tokens_processed += inps.numel()
        self.model_calls += 1
        return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

    def scoring_report(self) -> dict[str, dict[str, Any]]:
        """Per task (or ``"requests"`` when the task is unknown): requests scored by each path, and why.

        ``{task: {"requests": n, "plans": {plan: {"requests": n, "reasons": [...]}},
        "rescored_near_ties": documents, "rescored_requests": n}}`` with plans ``packed-tree``, ``shared-pass``,
        ``kv-cache`` and ``plain``; JSON-able, cumulative over this backend's life.
        """
        return copy.deepcopy(self._report)

    def _note(self, keys: Sequence[str], plan: str, reason: str) -> None:
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        for key, n in counts.items():
            entry = self._report.setdefault(key, {"requests": 0, "plans": {}, "rescored_near_ties": 0})
            entry["requests"] += n
            p = entry["plans"].setdefault(plan, {"requests": 0, "reasons": []})
            p["requests"] += n
            if reason not in p["reasons"]:
                p["reasons"].append(reason)

    def _task_keys(self, requests: Sequence[LLRequest]) -> tuple[list[str], list[Any]]:
        """Per request: its task name and its document (task, doc_id), when lm-eval's Instances say."""
        inst = self._instances
        if inst is not None and len(inst) == len(requests):
            tasks = [str(getattr(x, "task_name", None) or "requests") for x in inst]
            docs = [
                (t, getattr(x, "doc_id", None)) if getattr(x, "doc_id", None) is not None else None
                for t, x in zip(tasks, inst, strict=True)
            ]
            return tasks, docs
        return ["requests"] * len(requests), [None] * len(requests)

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        with (
            torch.no_grad(),
            torch.autocast(
                device_type=self.device.type,
                dtype=self.mixed_precision_dtype,
                enabled=self.mixed_precision_dtype is not None,
            ),
        ):
            yield

    @property
    def _lp_dtype(self) -> torch.dtype:
        """Log-softmax in float32 unless ``softmax_dtype`` says otherwise (plain hf uses the logits' dtype)."""
        return self.softmax_dtype or torch.float32

    def _forward(self, ids: torch.Tensor, cache: DynamicCache | None, last_only: bool = False) -> Any:
        self.tokens_processed += ids.numel()
        self.model_calls += 1
        kw: dict[str, Any] = {"input_ids": ids, self._cache_kw: cache, "use_cache": cache is not None}
        if last_only and self._keep_kw:
            kw["logits_to_keep"] = 1
        with self._autocast():
            return self.model(**kw)

    # -- routing ----------------------------------------------------------------------
    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """As HFLM; keeps the Instances so that plans and near ties are known per task and document."""
        self._instances = list(requests)
        try:
            return super().loglikelihood(requests, disable_tqdm=disable_tqdm)
        finally:
            self._instances = None

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Perplexity windows go through plain HFLM."""
        tasks = [str(getattr(r, "task_name", None) or "requests") for r in requests]
        reason = "rolling log-likelihood (perplexity) is not a shared-context workload"
        self._note(tasks, PLAIN, reason)
        log.warning("shlepa-hf: %d rolling log-likelihood request(s) on the plain HFLM path: %s", len(requests), reason)
        self._plain = True
        try:
            return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)
        finally:
            self._plain = False

    def _fits(self, ctx: list[int], cont: list[int]) -> bool:
        total = len(ctx) + len(cont) - 1  # tokens HFLM would feed for this request
        return len(ctx) > 0 and len(cont) > 0 and total <= self.max_length and total <= self.max_batch_tokens

    def _plain_path(
        self,
        requests: list[LLRequest],
        indices: Sequence[int],
        res: list[Any],
        disable_tqdm: bool,
        override_bs: int | None = None,
    ) -> None:
        plain = super()._loglikelihood_tokens(
            [requests[i] for i in indices], disable_tqdm=disable_tqdm, override_bs=override_bs
        )
        for i, answer in zip(indices, plain, strict=True):
            res[i] = answer

    def _plain_path_one_row_at_a_time(
        self,
        requests: list[LLRequest],
        indices: Sequence[int],
        res: list[Any],
        disable_tqdm: bool,
        desc: str = "Re-scoring near ties (one row at a time)",
    ) -> None:
        """Plain hf batch size 1's scores, bit for bit, at a fraction of its cost.

        Each distinct row (context plus continuation minus its last token, the requests
        sharing it scored from it, as HFLM's logits cache does) runs alone and unpadded, as
        plain hf with ``batch_size=1`` runs it; log-softmax in HFLM's dtype (``softmax_dtype``,
        else the logits'), the sum taken as HFLM takes it. Only the positions that predict
        continuation tokens are normalised, and projected onto the vocabulary where that leaves
        their bits alone (:meth:`_row_logits`); plain hf does every position, on MMLU's long
        few-shot rows a large part of its time.
        """
        rows: dict[Tokens, list[int]] = {}
        for i in indices:
            _, ctx, cont = requests[i]
            rows.setdefault(tuple(ctx) + tuple(cont[:-1]), []).append(i)
        for row, members in tqdm(rows.items(), disable=disable_tqdm or self.rank != 0, desc=desc):
            scored = max(len(requests[m][2]) for m in members)  # trailing positions that predict targets
            ids = torch.tensor([list(row)], dtype=torch.long, device=self.device)
            logits = self._row_logits(ids, scored)  # [1, scored, vocab]
            logprobs = F.log_softmax(logits, dim=-1, dtype=self.softmax_dtype)
            for m in members:
                cont = requests[m][2]
                lp = logprobs[:, scored - len(cont) :]  # [1, len(cont), vocab]
                target = torch.tensor([cont], dtype=torch.long, device=lp.device)
                greedy = bool((lp.argmax(dim=-1) == target).all())
                answer = (float(torch.gather(lp, 2, target.unsqueeze(-1)).squeeze(-1).sum()), greedy)
                raw = logits[0, scored - len(cont) :].gather(1, target[0].unsqueeze(-1))
                self._target_logit[m] = float(raw.abs().max())
                res[m] = answer
                request_str = requests[m][0]
                if request_str is not None:
                    self.cache_hook.add_partial("loglikelihood", request_str, answer)

    def _row_logits(self, ids: torch.Tensor, scored: int) -> torch.Tensor:
        """Logits of one unpadded row at its last ``scored`` positions, the bits a full forward gives.

        A matrix product's rounding may depend on how many rows it has (the kernel a library
        picks for a shape), so the first row runs both ways: projecting only the scored
        positions is kept when their bits equal the full projection's, else every position is
        projected from then on.
        """
        self.tokens_processed += ids.numel()
        self.model_calls += 1
        with self._autocast():
            if self._keep_kw and self._keep_exact:
                return self.model(input_ids=ids, use_cache=False, logits_to_keep=scored).logits
            full = self.model(input_ids=ids, use_cache=False).logits[:, -scored:]
            if self._keep_kw and self._keep_exact is None:
                self.tokens_processed += ids.numel()  # the check's own forward
                self.model_calls += 1
                kept = self.model(input_ids=ids, use_cache=False, logits_to_keep=scored).logits
                self._keep_exact = bool(torch.equal(full, kept))
                if not self._keep_exact:
                    log.info("shlepa-hf: near ties re-scored with every position projected (fewer change the bits)")
            return full

    def _loglikelihood_tokens(
        self,
        requests: list[LLRequest],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        if self._plain or not requests:
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        tasks, docs = self._task_keys(requests)
        if self.backend != "causal":
            reason = f"{self.backend} model: only causal models share contexts"
            self._note(tasks, PLAIN, reason)
            log.warning("shlepa-hf: %d request(s) on the plain HFLM path: %s", len(requests), reason)
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        fast = [i for i, (_, ctx, cont) in enumerate(requests) if self._fits(ctx, cont)]
        fast_set = set(fast)
        slow = [i for i in range(len(requests)) if i not in fast_set]
        res: list[tuple[float, bool] | None] = [None] * len(requests)
        self._target_logit = [0.0] * len(requests)
        if slow:
            reason = (
                f"longer than the model window ({self.max_length}) or max_batch_tokens "
                f"({self.max_batch_tokens}), or empty"
            )
            self._note([tasks[i] for i in slow], PLAIN, reason)
            for task in sorted({tasks[i] for i in slow}):
                n = sum(1 for i in slow if tasks[i] == task)
                log.warning("shlepa-hf: %s: %d request(s) on the plain HFLM path: %s", task, n, reason)
            self._plain_path(requests, slow, res, disable_tqdm, override_bs)
        if fast and self.rescore_ties == ALONE and self._half_precision:
            fast = self._run_single_token_documents(requests, fast, res, tasks, docs, disable_tqdm, override_bs)
        if fast:
            self._run_fast(requests, fast, res, tasks, disable_tqdm)
        assert all(r is not None for r in res)
        if self.rescore_ties and fast:
            self._rescore_near_ties(requests, fast, res, tasks, docs, disable_tqdm, override_bs)
        return res  # type: ignore[return-value]

    def _run_fast(
        self, requests: list[LLRequest], fast: Sequence[int], res: list[Any], tasks: list[str], disable_tqdm: bool
    ) -> None:
        """Token tries where the probe accepts tree masks, else the KV-cache path (with a warning)."""
        if self._can_pack():
            self._run_planned(requests, fast, res, tasks, disable_tqdm)
            return
        reason = f"tree attention masks not used: {self._packing_why}"
        self._note([tasks[i] for i in fast], KV_CACHE, reason)
        log.warning("shlepa-hf: %d request(s) on the KV-cache path (one context at a time): %s", len(fast), reason)
        groups = group_by_context(requests, fast)
        clusters = cluster_by_prefix(groups, self.min_shared_prefix if self.share_prefix else 0)
        pbar = tqdm(
            total=len(fast),
            disable=(disable_tqdm or self.rank != 0),
            desc="Running loglikelihood requests (shared context)",
        )
        for cluster in clusters:
            self._run_cluster(cluster, requests, res, pbar)
        pbar.close()

    # -- single-token documents in half precision -------------------------------------------
    def _run_single_token_documents(
        self,
        requests: list[LLRequest],
        fast: list[int],
        res: list[Any],
        tasks: list[str],
        docs: list[Any],
        disable_tqdm: bool,
        override_bs: int | None,
    ) -> list[int]:
        """Score the documents one row decides (MMLU's letters) by the cheaper of two plans; return the rest.

        A document whose choices all share their context and are one token each is one row:
        run alone, it is plain hf batch size 1's bits for every choice, with no near tie to
        re-score. A token tree shares preambles across documents but in half precision each
        near tie then costs that row again (:meth:`_rescore_near_ties`), and a model near
        chance has most documents near ties. A pilot of ``PILOT`` documents (or a tenth),
        spread over the list, goes through the tree (or the KV-cache path) and counts its near ties; the rest take
        the plan whose estimated multiply-adds, the tree's plus that share of rows again, are
        fewer (equal: the tree, whose batches a GPU runs faster than single rows).
        """
        by_doc: dict[Any, list[int]] = {}
        for i in fast:
            if docs[i] is not None:
                by_doc.setdefault(docs[i], []).append(i)
        single = [
            members
            for members in by_doc.values()
            if len(members) >= 2
            and all(len(requests[i][2]) == 1 for i in members)
            and len({tuple(requests[i][1]) for i in members}) == 1
        ]
        pilot_n = max(PILOT, len(single) // 10)
        if len(single) <= pilot_n:
            return fast
        step = len(single) // pilot_n  # a pilot spread over the tasks (MMLU's subjects differ)
        pilot = single[::step][:pilot_n]
        chosen = {id(members) for members in pilot}
        rest = [members for members in single if id(members) not in chosen]
        pilot_idx = [i for members in pilot for i in members]
        self._run_fast(requests, pilot_idx, res, tasks, disable_tqdm)
        ties = self._rescore_near_ties(requests, pilot_idx, res, tasks, docs, disable_tqdm, override_bs)
        share = ties / len(pilot)
        rest_idx = [i for members in rest for i in members]
        rows = [tuple(requests[members[0]][1]) for members in rest]  # context + continuation[:-1]
        one_row = self._rows_cost([len(r) for r in rows], len(rows))
        tree = share * one_row
        order = sorted(range(len(rows)), key=lambda k: rows[k])
        for trie in pack_tries(
            [rows[k] for k in order],
            order,
            min(max(self.pack_tokens, 1), self.max_batch_tokens),
            self.max_batch_tokens,
        ):
            kept = len(trie.members)
            tree += min(
                self._tree_cost(len(trie.tokens), kept), self._rows_cost([len(rows[m]) for m in trie.members], kept)
            )
        log.info(
            "shlepa-hf: single-token documents: %d near ties in a pilot of %d; the rest (%d) %s",
            ties,
            len(pilot),
            len(rest),
            "one row at a time" if one_row < tree else "through token tries",
        )
        if one_row < tree:
            self._plain_path_one_row_at_a_time(
                requests, rest_idx, res, disable_tqdm, "Running loglikelihood requests (one row at a time)"
            )
            self._note([tasks[i] for i in rest_idx], ONE_ROW, USUAL_WHY[ONE_ROW])
        else:
            self._run_fast(requests, rest_idx, res, tasks, disable_tqdm)
            self._rescore_near_ties(requests, rest_idx, res, tasks, docs, disable_tqdm, override_bs)
        handled = {*pilot_idx, *rest_idx}
        return [i for i in fast if i not in handled]

    # -- near ties -----------------------------------------------------------------------
    @property
    def _half_precision(self) -> bool:
        return (self.mixed_precision_dtype or self.model.dtype) in (torch.bfloat16, torch.float16)

    def _tie_bounds(self) -> TieBound:
        dtype = self.mixed_precision_dtype or self.model.dtype
        return TIE_BOUNDS.get(dtype, TIE_BOUNDS[torch.bfloat16])

    def _rescore_near_ties(
        self,
        requests: list[LLRequest],
        fast: Sequence[int],
        res: list[Any],
        tasks: list[str],
        docs: list[Any],
        disable_tqdm: bool,
        override_bs: int | None,
    ) -> int:
        """Re-score, through the plain path, documents whose decision lies inside the error bound.

        A document's choices are its requests; it is a near tie when its two best choices,
        by log-likelihood or by log-likelihood per character of the continuation (lm-eval's
        ``acc_norm``), are closer than the sum of their error bounds (``TIE_BOUNDS``). Its
        contenders (:meth:`_contenders`: the choices that close to the best) are then scored
        as plain hf scores them: by default one row at a time, plain hf batch size 1's scores
        bit for bit (:meth:`_plain_path_one_row_at_a_time`, which normalises only the positions
        it scores), so that the decision differs from plain hf's at another batch size no more
        often than plain hf's own batch sizes differ; with ``exact`` in plain hf's own batches
        (:meth:`plain_batches`), so that in any precision their scores and the decision are
        plain hf's bit for bit. A choice further below the best than both bounds cannot take
        the decision at either precision, so it keeps its score (a HellaSwag tie is mostly
        two of four endings: half the plain work of re-scoring all four).
        """
        bounds = self._tie_bounds()
        by_doc: dict[Any, list[int]] = {}
        for i in fast:
            if docs[i] is not None:
                by_doc.setdefault(docs[i], []).append(i)
        redo: list[int] = []
        n_docs: dict[str, int] = {}
        for doc, members in by_doc.items():
            contenders = (
                self._contenders(requests, members, res, bounds, self._target_logit) if len(members) >= 2 else []
            )
            if contenders:
                redo.extend(contenders)
                n_docs[doc[0]] = n_docs.get(doc[0], 0) + 1
                self.near_tie_docs.add(doc)
                inst = self._instances or []
                self.near_tie_choices.update((*doc, getattr(inst[i], "idx", None)) for i in contenders)
        if not redo:
            return 0
        # ``exact``: each re-scored request goes in the very batch plain hf puts it in (its
        # neighbours, its padding), so that its score, and the decision, are plain hf's bit for
        # bit rather than merely close; the neighbours come out as plain hf scores them too.
        batches = self.plain_batches(requests) if self.rescore_ties == EXACT else None
        if batches is None:  # one row at a time (also ``exact`` with an automatic batch size)
            self._plain_path_one_row_at_a_time(requests, redo, res, disable_tqdm)
        else:
            wanted = set(redo)
            chosen = [batch for batch in batches if wanted.intersection(batch)]
            redo = [i for batch in chosen for i in batch]
            for batch in tqdm(chosen, disable=disable_tqdm or self.rank != 0, desc="Re-scoring near ties (plain hf)"):
                self._plain_path(requests, batch, res, True, override_bs)
        fast_set = set(fast)
        again_fast = [i for i in redo if i in fast_set]  # the others were on the plain path already
        reason = (
            f"{NEAR_TIE}: two best choices closer than their bounds ({bounds.relative:.3g} |ll| + the larger of "
            f"{bounds.per_token:g}/token and {bounds.logit:.3g} |logit|)"
        )
        self._note([tasks[i] for i in again_fast], PLAIN, reason)
        for task, n in n_docs.items():
            self._report[task]["rescored_near_ties"] += n
        for task in {tasks[i] for i in again_fast}:
            again = sum(1 for i in again_fast if tasks[i] == task)
            entry = self._report[task]
            entry["rescored_requests"] = entry.get("rescored_requests", 0) + again
            entry["requests"] -= again  # counted twice
        log.info(
            "shlepa-hf: %d near-tie document(s) (%d requests) re-scored on the plain path",
            sum(n_docs.values()),
            len(again_fast),
        )
        return sum(n_docs.values())

    def plain_batches(self, requests: Sequence[LLRequest]) -> list[list[int]] | None:
        """The batches plain HFLM forms over ``requests`` (indices, each batch with the requests
        that share its forward passes), or None when its batch size is automatic.

        lm-eval's own Collator orders and chunks them; only HFLM's two keys are repeated here
        (they are local functions of ``HFLM._loglikelihood_tokens``): rows sort by length,
        longest first, then by tokens, and with its logits cache the requests whose context
        plus continuation minus its last token agree share one row.
        """
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            return None
        grouping = self.backend == "causal" and self.logits_cache
        members: dict[Any, list[int]] = {}
        for i, (_, ctx, cont) in enumerate(requests):
            members.setdefault(tuple(ctx) + tuple(cont[:-1]) if grouping else id(requests[i]), []).append(i)
        collator = Collator(
            list(requests),
            sort_fn=lambda r: (-(len(r[1]) + len(r[2])), tuple(r[1]) + tuple(r[2])),
            group_fn=lambda r: r[1] + r[2][:-1],
            group_by="contexts" if grouping else None,
        )
        if grouping:  # a chunk holds one row per group: the group's requests ride along
            return [
                [i for r in chunk for i in members[tuple(r[1]) + tuple(r[2][:-1])]]
                for chunk in collator.get_batched(n=self.batch_size)
            ]
        return [[members[id(r)].pop(0) for r in chunk] for chunk in collator.get_batched(n=self.batch_size)]

    @staticmethod
    def _contenders(
        requests: list[LLRequest],
        members: Sequence[int],
        res: list[Any],
        bounds: TieBound,
        target_logit: Sequence[float] | None = None,
    ) -> list[int]:
        """The members that may take a near-tied document's decision, or [] when it is no near tie.

        Per score (log-likelihood, and per character for ``acc_norm``), a choice contends when
        the best is above it by at most their two error bounds (``target_logit``: per request,
        the largest |logit| of its continuation's tokens); with fewer than two contenders
        under both scores the decision stands. The result is the union, in ``members``' order.
        """
        lls = [res[i][0] for i in members]
        logit = [target_logit[i] if target_logit is not None else 0.0 for i in members]
        err = [bounds.of(res[i][0], len(requests[i][2]), g) for i, g in zip(members, logit, strict=True)]
        chars = []
        for i in members:
            pair = requests[i][0]
            chars.append(max(len(pair[1]), 1) if pair is not None else max(len(requests[i][2]), 1))
        close: set[int] = set()
        for norm in (False, True):
            score = [ll / c for ll, c in zip(lls, chars, strict=True)] if norm else lls
            e = [x / c for x, c in zip(err, chars, strict=True)] if norm else err
            best = max(range(len(members)), key=lambda k: score[k])
            near = [k for k in range(len(members)) if score[best] - score[k] <= e[best] + e[k]]
            if len(near) >= 2:
                close.update(near)
        return [members[k] for k in sorted(close)]

    # -- plans -----------------------------------------------------------------------------
    def _cost_units(self) -> tuple[float, float, float]:
        """Multiply-adds per input token (body), per kept logit position (head), per attention pair."""
        model = self.model
        total = sum(p.numel() for p in model.parameters())
        emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
        out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        emb_n = int(emb.weight.numel()) if emb is not None and hasattr(emb, "weight") else 0
        head_n = int(out.weight.numel()) if out is not None and hasattr(out, "weight") else emb_n
        tied = emb is not None and out is not None and getattr(out, "weight", None) is getattr(emb, "weight", 0)
        body = max(total - emb_n - (0 if tied else head_n), 1)
        cfg = model.config
        cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0) or 1)
        hidden = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "n_embd", 0) or 1)
        heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "n_head", 0) or 1)
        head_dim = int(getattr(cfg, "head_dim", 0) or hidden // heads)
        return float(body), float(max(head_n, 1)), float(2 * layers * heads * head_dim)

    def _rows_cost(self, lengths: Sequence[int], kept: int) -> float:
        body, head, pair = self._costs
        return sum(lengths) * body + sum(n * (n + 1) / 2 for n in lengths) * pair + kept * head

    def _tree_cost(self, nodes: int, kept: int) -> float:
        body, head, pair = self._costs
        return nodes * body + nodes * nodes * pair * self.tree_attention_weight + kept * head

    def _run_planned(
        self,
        requests: list[LLRequest],
        indices: Sequence[int],
        res: list[Any],
        tasks: list[str],
        disable_tqdm: bool,
    ) -> None:
        """Pack the requests into token tries; score each trie as a tree or as plain rows, the cheaper."""
        seqs = {i: tuple(requests[i][1]) + tuple(requests[i][2][:-1]) for i in indices}
        order = sorted(indices, key=lambda i: seqs[i])
        self.tokens_minimum += sum(
            len(seqs[b]) - (common_prefix_len(seqs[a], seqs[b]) if a is not None else 0)
            for a, b in zip([None, *order[:-1]], order, strict=True)
        )
        limit = min(max(self.pack_tokens, 1), self.max_batch_tokens)
        tries = list(pack_tries([seqs[i] for i in order], order, limit, self.max_batch_tokens))
        packed: list[Packed] = []
        flat: list[int] = []
        for trie in tries:
            kept = sum(len(requests[m][2]) for m in trie.members)  # upper bound: shared positions once
            rows, _ = distinct_rows([seqs[m] for m in trie.members])
            tree = self._tree_cost(len(trie.tokens), kept)
            plain = self._rows_cost([len(r) for r in rows], kept)
            keys = [tasks[m] for m in trie.members]
            if tree < plain:
                packed.append(trie)
                self._note(keys, PACKED, USUAL_WHY[PACKED])
            else:
                flat.extend(trie.members)
                single = all(len(requests[m][2]) == 1 for m in trie.members)
                self._note(
                    keys,
                    SHARED_PASS,
                    USUAL_WHY[SHARED_PASS] if single else "one row per context estimated cheaper than a token tree",
                )
        pbar = tqdm(
            total=len(indices),
            disable=(disable_tqdm or self.rank != 0),
            desc="Running loglikelihood requests (shared context)",
        )
        if packed:
            self._run_packed(requests, packed, res, pbar)
        if flat:
            self._run_rows(requests, flat, seqs, res, pbar)
        pbar.close()

    def _score(
        self,
        requests: list[LLRequest],
        logits: torch.Tensor,
        picks: list[tuple[int, list[int]]],
        res: list[Any],
    ) -> None:
        """``picks``: per request, the rows of ``logits`` ([N, vocab]) that predict its continuation."""
        rows: list[int] = []
        targets: list[int] = []
        seg: list[int] = []
        for k, (member, where) in enumerate(picks):
            cont = requests[member][2]
            rows.extend(where)
            targets.extend(cont)
            seg.extend([k] * len(cont))
        dev = logits.device
        sel = logits[torch.tensor(rows, dtype=torch.long, device=dev)]
        logprobs = F.log_softmax(sel, dim=-1, dtype=self._lp_dtype)
        target = torch.tensor(targets, dtype=torch.long, device=dev)
        token_lp = logprobs.gather(1, target[:, None]).squeeze(1)
        seg_t = torch.tensor(seg, dtype=torch.long, device=dev)
        sums = torch.zeros(len(picks), dtype=token_lp.dtype, device=dev).index_add_(0, seg_t, token_lp)
        misses = torch.zeros(len(picks), dtype=torch.long, device=dev).index_add_(
            0, seg_t, (logprobs.argmax(dim=-1) != target).long()
        )
        peak = torch.zeros(len(picks), dtype=sel.dtype, device=dev).scatter_reduce_(
            0, seg_t, sel.gather(1, target[:, None]).squeeze(1).abs(), "amax", include_self=False
        )
        for (member, _), ll, miss, top in zip(picks, sums.tolist(), misses.tolist(), peak.tolist(), strict=True):
            self._target_logit[member] = float(top)
            answer = (float(ll), miss == 0)
            res[member] = answer
            request_str = requests[member][0]
            if request_str is not None:
                self.cache_hook.add_partial("loglikelihood", request_str, answer)

    def _keep(self, needed: Sequence[Sequence[int]], width: int) -> tuple[torch.Tensor | None, list[int]]:
        """Positions to compute logits for in a batch (union over rows) and where each lands."""
        if not self._keep_kw:
            return None, list(range(width))
        union = sorted({p for row in needed for p in row})
        where = [-1] * width
        for k, p in enumerate(union):
            where[p] = k
        return torch.tensor(union, dtype=torch.long, device=self.device), where

    # -- the shared pass: one causal row per distinct sequence, as plain hf --------------------
    def _run_rows(
        self,
        requests: list[LLRequest],
        members: Sequence[int],
        seqs: dict[int, Tokens],
        res: list[Any],
        pbar: tqdm,
    ) -> None:
        rows, cover = distinct_rows([seqs[m] for m in members])
        by_row: dict[int, list[int]] = {}
        for member, k in zip(members, cover, strict=True):
            by_row.setdefault(k, []).append(member)
        for batch in row_batches([len(r) for r in rows], self.max_batch_tokens):
            width = max(len(rows[k]) for k in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)  # right padding, as plain hf
            needed: list[list[int]] = []
            for b, k in enumerate(batch):
                ids[b, : len(rows[k])] = torch.tensor(rows[k], dtype=torch.long)
                pos: list[int] = []
                for m in by_row[k]:
                    end = len(seqs[m])
                    pos.extend(range(end - len(requests[m][2]), end))
                needed.append(pos)
            keep, where = self._keep(needed, width)
            self.tokens_processed += ids.numel()
            self.model_calls += 1
            kw: dict[str, Any] = {"input_ids": ids.to(self.device), "use_cache": False}
            if keep is not None:
                kw["logits_to_keep"] = keep
            with self._autocast():
                logits = self.model(**kw).logits
            n_keep = logits.shape[1]
            flat_logits = logits.reshape(-1, logits.shape[-1])
            picks: list[tuple[int, list[int]]] = []
            for b, k in enumerate(batch):
                for m in by_row[k]:
                    end = len(seqs[m])
                    picks.append((m, [b * n_keep + where[p] for p in range(end - len(requests[m][2]), end)]))
            self._score(requests, flat_logits, picks, res)
            pbar.update(len(picks))

    # -- the KV-cache path -------------------------------------------------------------
    def _new_cache(self) -> DynamicCache:
        return DynamicCache(config=self.model.config)

    @staticmethod
    def _plain_layers(cache: DynamicCache) -> bool:
        return all(type(layer) is DynamicLayer for layer in cache.layers)

    def _extend(self, cache: DynamicCache | None, tokens: Sequence[int]) -> DynamicCache | None:
        """Run ``tokens`` after what ``cache`` holds (batch of one); returns the grown cache."""
        if not tokens:
            return cache
        cache = cache if cache is not None else self._new_cache()
        ids = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
        self._forward(ids, cache, last_only=True)
        return cache

    def _run_cluster(self, cluster: PrefixCluster, requests: list[LLRequest], res: list[Any], pbar: tqdm) -> None:
        cache = self._extend(None, cluster.shared)
        if cache is not None and not self._plain_layers(cache):
            # Sliding-window / quantized caches: no cross-context cropping, one context at a time.
            for group in cluster.groups:
                self._run_group(group, self._extend(None, group.prefix), requests, res, pbar)
            return
        shared = len(cluster.shared)
        for group in cluster.groups:
            grown = self._extend(cache, group.prefix[shared:])
            self._run_group(group, grown, requests, res, pbar)
            if grown is not None and grown.get_seq_length() > shared:
                grown.crop(shared - grown.get_seq_length())
            cache = grown

    def _expanded(self, cache: DynamicCache, n: int) -> DynamicCache:
        """A cache whose batch dimension is ``n`` views of ``cache`` (which stays unchanged)."""
        out = copy.copy(cache)
        out.layers = []
        for layer in cache.layers:
            twin = copy.copy(layer)
            # Only attention layers reach here (the probe refuses other cache layouts).
            keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
            if getattr(layer, "is_initialized", False) and keys is not None and values is not None:
                twin.keys = keys.expand(n, *keys.shape[1:])  # type: ignore[union-attr]
                twin.values = values.expand(n, *values.shape[1:])  # type: ignore[union-attr]
            out.layers.append(twin)
        return out

    def _run_group(
        self,
        group: ContextGroup,
        cache: DynamicCache | None,
        requests: list[LLRequest],
        res: list[Any],
        pbar: tqdm,
    ) -> None:
        cached = cache.get_seq_length() if cache is not None else 0
        assert cached == len(group.prefix), (cached, len(group.prefix))
        conts = [tuple(requests[i][2]) for i in group.members]
        rows_per_member = [(group.last, *c[:-1]) for c in conts]
        rows, cover = distinct_rows(rows_per_member)
        row_logprobs: list[torch.Tensor | None] = [None] * len(rows)
        row_logits: list[torch.Tensor | None] = [None] * len(rows)
        for batch in budget_batches(rows, cached, self.max_batch_tokens):
            width = max(len(rows[k]) for k in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long, device=self.device)
            for b, k in enumerate(batch):
                ids[b, : len(rows[k])] = torch.tensor(rows[k], dtype=torch.long)
            past = None if cache is None else self._expanded(cache, len(batch))
            logits = self._forward(ids, past).logits
            logprobs = F.log_softmax(logits, dim=-1, dtype=self._lp_dtype)
            for b, k in enumerate(batch):
                row_logprobs[k] = logprobs[b]
                row_logits[k] = logits[b]
        for member, cont, k in zip(group.members, conts, cover, strict=True):
            lp = row_logprobs[k]
            assert lp is not None
            lp = lp[: len(cont)]
            target = torch.tensor(cont, dtype=torch.long, device=lp.device)
            greedy = bool((lp.argmax(dim=-1) == target).all())
            raw = row_logits[k]
            assert raw is not None
            self._target_logit[member] = float(raw[: len(cont)].gather(1, target.unsqueeze(-1)).abs().max())
            answer = (float(lp.gather(1, target.unsqueeze(-1)).sum()), greedy)
            res[member] = answer
            request_str = requests[member][0]
            if request_str is not None:
                self.cache_hook.add_partial("loglikelihood", request_str, answer)
            pbar.update(1)

    # -- the packed path -------------------------------------------------------------------
    def _can_pack(self) -> bool:
        """Packing needs custom 4D attention masks and explicit positions; a probe checks both."""
        if self._packing is None:
            if self.pack_tokens <= 0:
                self._packing, self._packing_why = False, "pack_tokens=0"
            else:
                self._packing = self._probe_packing()
            log.info(
                "shlepa-hf: packed token tries %s",
                "on" if self._packing else f"off (KV-cache path): {self._packing_why}",
            )
        return self._packing

    def _probe_packing(self) -> bool:
        config = self.model.config
        if getattr(config, "sliding_window", None) or getattr(config, "attention_chunk_size", None):
            self._packing_why = "sliding-window or chunked attention (a custom mask would override it)"
            return False
        impl = getattr(config, "_attn_implementation", None)
        if impl not in ("eager", "sdpa"):
            self._packing_why = f"attention implementation {impl!r} (tree masks need eager or sdpa)"
            return False
        vocab = int(getattr(config, "vocab_size", 0) or 0)
        if vocab < 8:
            self._packing_why = "vocabulary too small to probe"
            return False
        a, b = self._probe_rows(vocab)
        try:
            (packed,) = pack_tries([a, b], [0, 1], 64)
            singles = [trie for s in (a, b) for trie in pack_tries([s], [0], 64)]
            # one batch: the single rows, padded to the tree's width, go through the same kernel
            batch = self._forward_packed([packed, *singles]).float()
            logits, alone = batch[0], [batch[1][: len(a)], batch[2][: len(b)]]
            plain = [self._forward(torch.tensor([s], device=self.device), None).logits.float()[0] for s in (a, b)]
        except Exception as err:
            self._packing_why = f"packing probe failed ({err})"
            return False
        finally:
            self.tokens_processed = self.model_calls = 0
        scale = 1 + float(plain[0].abs().max())
        # The tree against each sequence as a row of its own in the same batch (same kernel): a
        # mask or positions the model ignores shift the branch's logits by O(1) (SmolLM2: 21-25
        # of 30), rounding by far less (0.5 in bfloat16).
        tree = max(float((logits[path] - ref).abs().max()) for path, ref in zip(packed.paths, alone, strict=True))
        # Masked rows against plain hf's causal forward, which may run another attention kernel:
        # in half precision on one CPU (no AVX-512) the two differ by 0.73 of 30 on text, and
        # there the packed path's worst sample was a third further from float32 than plain hf's;
        # the KV-cache path runs plain hf's kernel instead.
        row = max(float((x - y).abs().max()) for x, y in zip(alone, plain, strict=True))
        full = self.model.dtype == torch.float32
        tol_tree, tol_row = (1e-3 * scale, 1e-3 * scale) if full else (0.1 * scale, 2e-2 * scale)
        self.probe_figures = {"tree": tree, "tree_tolerance": tol_tree, "row": row, "row_tolerance": tol_row}
        if tree > tol_tree:
            self._packing_why = (
                f"probe: the model does not follow a tree mask or its positions (largest logit difference "
                f"{tree:.3g} against rows of their own, tolerance {tol_tree:.3g})"
            )
            return False
        self._packing_why = (
            f"probe: masked rows differ from plain hf's causal forward by {row:.3g} (tolerance {tol_row:.3g}; "
            f"another attention kernel)"
        )
        return row <= tol_row

    def _probe_rows(self, vocab: int) -> tuple[Tokens, Tokens]:
        """Two sequences sharing a 3-token prefix, of ordinary text where the tokenizer gives it.

        A real model's logits after a run of special tokens (ids 1, 2, 3...) are large and
        erratic in half precision whatever the kernel; text behaves as the benchmarks do.
        """
        try:
            a = tuple(self.tok_encode("The capital of France is Paris, and the capital of Italy is"))
            tail = tuple(self.tok_encode(" a city I would like to see in spring"))
        except Exception:
            a, tail = (), ()
        if len(a) >= 6 and tail and all(0 <= t < vocab for t in a + tail):
            return a[:12], a[:3] + tail[:9]
        a = tuple(range(1, 7))
        return a, a[:3] + (7, 7, 1)

    def _forward_packed(self, rows: Sequence[Packed], keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of a right-padded batch of packed tries (padding sees only itself).

        ``keep``: the positions to compute logits for (all when None).
        """
        width = max(len(r.tokens) for r in rows)
        n = len(rows)
        ids = torch.zeros((n, width), dtype=torch.long)
        pos = torch.zeros((n, width), dtype=torch.long)
        ends = torch.arange(1, width + 1).repeat(n, 1)  # padding: a subtree of one
        for b, r in enumerate(rows):
            t = len(r.tokens)
            ids[b, :t] = torch.tensor(r.tokens, dtype=torch.long)
            pos[b, :t] = torch.tensor(r.depth, dtype=torch.long)
            ends[b, :t] = torch.tensor(r.end, dtype=torch.long)
        idx = torch.arange(width)
        # allowed[b, j, i]: query j sees key i when i <= j < end[i]
        allowed = (idx[None, None, :] <= idx[None, :, None]) & (idx[None, :, None] < ends[:, None, :])
        if getattr(self.model.config, "_attn_implementation", None) == "sdpa":
            mask = allowed  # boolean: exact, no large negative number rounded in half precision
        else:
            dtype = self.model.dtype if self.model.dtype.is_floating_point else torch.float32
            mask = torch.zeros(allowed.shape, dtype=dtype)
            mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        self.tokens_processed += ids.numel()
        self.model_calls += 1
        kw: dict[str, Any] = {}
        if keep is not None:
            kw["logits_to_keep"] = keep
        upcast = self.float32_attention and mask.dtype == torch.bool and self._half_precision
        with self._autocast(), attention(self.model, FLOAT32_SDPA) if upcast else contextlib.nullcontext():
            out = self.model(
                input_ids=ids.to(self.device),
                attention_mask=mask[:, None].to(self.device),
                position_ids=pos.to(self.device),
                use_cache=False,
                **kw,
            )
        return out.logits

    def _run_packed(self, requests: list[LLRequest], rows: list[Packed], res: list[Any], pbar: tqdm) -> None:
        """Score requests from packed token tries: each distinct token runs once per trie."""
        for batch in row_batches([len(r.tokens) for r in rows], self.max_batch_tokens):
            packed = [rows[k] for k in batch]
            width = max(len(r.tokens) for r in packed)
            needed = [
                [
                    node
                    for path, m in zip(r.paths, r.members, strict=True)
                    for node in path[len(path) - len(requests[m][2]) :]
                ]
                for r in packed
            ]
            keep, where = self._keep(needed, width)
            logits = self._forward_packed(packed, keep)
            n_keep = logits.shape[1]
            flat_logits = logits.reshape(-1, logits.shape[-1])
            picks: list[tuple[int, list[int]]] = []
            for b, row in enumerate(packed):
                for path, member in zip(row.paths, row.members, strict=True):
                    n = len(requests[member][2])
                    picks.append((member, [b * n_keep + where[p] for p in path[len(path) - n :]]))
            self._score(requests, flat_logits, picks, res)
            pbar.update(len(picks))
