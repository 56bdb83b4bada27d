"""``shlepa-hf``: lm-eval's HF backend that computes each shared context only once.

Multiple-choice log-likelihood tasks send one request per answer choice, all with
the same (often long, few-shot) context. Plain ``hf`` runs the whole context
through the model again for every choice whose continuation is longer than one
token. This backend reproduces exactly the token sequences of ``HFLM`` (same
tokenization, same BOS/prefix handling, same "last context token predicts the
first continuation token" alignment), but:

1. groups requests by their context tokens and runs the context (all but its last
   token) once, keeping its KV cache;
2. scores all continuations of that context in one batched pass from the cache:
   each row is ``[last context token] + continuation[:-1]``, right-padded; rows
   that are a prefix of another row (e.g. MMLU's one-token letters) are not run
   again;
3. shares a common token prefix across *different* contexts (few-shot preambles,
   WinoGrande's two options that differ only after the blank) when it pays:
   contexts are sorted and cut into runs sharing a prefix so that the tokens
   saved are largest.

Memory stays bounded by ``max_batch_tokens``: a continuation batch holds at most
that many tokens counting the cached context each row attends to. Requests that
do not fit (longer than the model's window, which ``HFLM`` left-truncates, or
longer than the budget), seq2seq models, unusual cache layouts, and rolling
log-likelihood (perplexity) go through ``HFLM`` unchanged; ``generate_until`` is
inherited unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from tqdm import tqdm
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

log = logging.getLogger("shlepa.backends")

Tokens = tuple[int, ...]
LLRequest = tuple[tuple[str, str] | None, list[int], list[int]]


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


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@register_model("shlepa-hf")
class SharedContextHFLM(HFLM):
    """HFLM that runs each shared context once and scores all its continuations from the cache.

    Extra model args: ``max_batch_tokens`` (token budget of one forward pass,
    default 8192), ``share_prefix`` (share prefixes across different contexts,
    default true), ``min_shared_prefix`` (shortest cross-context prefix worth
    sharing, default 16 tokens; KV-cache path only), ``pack_tokens`` (largest
    token trie packed into one row, default 1024; 0 turns packing off).
    """

    def __init__(
        self,
        *args: Any,
        max_batch_tokens: int = 8192,
        share_prefix: bool = True,
        min_shared_prefix: int = 16,
        pack_tokens: int = 1024,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_batch_tokens = int(max_batch_tokens)
        if self.max_batch_tokens < 2:
            raise ValueError(f"max_batch_tokens must be at least 2, got {max_batch_tokens}")
        self.share_prefix = _as_bool(share_prefix)
        self.min_shared_prefix = int(min_shared_prefix)
        self.pack_tokens = int(pack_tokens)
        self._packing: bool | None = None  # decided by a probe on first use
        self.tokens_processed = 0  # input positions run through the model (padding included)
        self.model_calls = 0
        self._plain = False
        params = inspect.signature(self.model.forward).parameters
        self._keep_kw = "logits_to_keep" in params

    # -- accounting -----------------------------------------------------------------
    def _model_call(self, inps: torch.Tensor, attn_mask: Any = None, labels: Any = None) -> torch.Tensor:
        self.tokens_processed += inps.numel()
        self.model_calls += 1
        return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

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

    def _forward(self, ids: torch.Tensor, cache: DynamicCache | None, last_only: bool = False) -> Any:
        self.tokens_processed += ids.numel()
        self.model_calls += 1
        kw: dict[str, Any] = {"input_ids": ids, "past_key_values": cache, "use_cache": cache is not None}
        if last_only and self._keep_kw:
            kw["logits_to_keep"] = 1
        with self._autocast():
            return self.model(**kw)

    # -- routing ----------------------------------------------------------------------
    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        """Perplexity windows go through plain HFLM."""
        self._plain = True
        try:
            return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)
        finally:
            self._plain = False

    def _fits(self, ctx: list[int], cont: list[int]) -> bool:
        total = len(ctx) + len(cont) - 1  # tokens HFLM would feed for this request
        return len(ctx) > 0 and len(cont) > 0 and total <= self.max_length and total <= self.max_batch_tokens

    def _loglikelihood_tokens(
        self,
        requests: list[LLRequest],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        if self._plain or self.backend != "causal" or not requests:
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        fast = [i for i, (_, ctx, cont) in enumerate(requests) if self._fits(ctx, cont)]
        fast_set = set(fast)
        slow = [i for i in range(len(requests)) if i not in fast_set]
        res: list[tuple[float, bool] | None] = [None] * len(requests)
        if slow:
            log.info("shlepa-hf: %d request(s) exceed the window or budget; plain HFLM path", len(slow))
            plain = super()._loglikelihood_tokens(
                [requests[i] for i in slow], disable_tqdm=disable_tqdm, override_bs=override_bs
            )
            for i, answer in zip(slow, plain, strict=True):
                res[i] = answer
        if fast and self._can_pack():
            self._run_packed(requests, fast, res, disable_tqdm)
        elif fast:
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
        assert all(r is not None for r in res)
        return res  # type: ignore[return-value]

    # -- the shared-context path -------------------------------------------------------------
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
            if layer.is_initialized:
                twin.keys = layer.keys.expand(n, *layer.keys.shape[1:])
                twin.values = layer.values.expand(n, *layer.values.shape[1:])
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
        for batch in budget_batches(rows, cached, self.max_batch_tokens):
            width = max(len(rows[k]) for k in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long, device=self.device)
            for b, k in enumerate(batch):
                ids[b, : len(rows[k])] = torch.tensor(rows[k], dtype=torch.long)
            past = None if cache is None else self._expanded(cache, len(batch))
            logits = self._forward(ids, past).logits
            logprobs = F.log_softmax(logits, dim=-1, dtype=self.softmax_dtype)
            for b, k in enumerate(batch):
                row_logprobs[k] = logprobs[b]
        for member, cont, k in zip(group.members, conts, cover, strict=True):
            lp = row_logprobs[k]
            assert lp is not None
            lp = lp[: len(cont)]
            target = torch.tensor(cont, dtype=torch.long, device=lp.device)
            greedy = bool((lp.argmax(dim=-1) == target).all())
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
            self._packing = self.pack_tokens > 0 and self._probe_packing()
            log.info("shlepa-hf: packed token tries %s", "on" if self._packing else "off (KV-cache path)")
        return self._packing

    def _probe_packing(self) -> bool:
        config = self.model.config
        if getattr(config, "sliding_window", None) or getattr(config, "attention_chunk_size", None):
            return False  # a custom mask would override the window
        if getattr(config, "_attn_implementation", None) not in ("eager", "sdpa"):
            return False
        vocab = int(getattr(config, "vocab_size", 0) or 0)
        if vocab < 8:
            return False
        a = tuple(range(1, 7))
        b = a[:3] + (7, 7, 1)
        try:
            (packed,) = pack_tries([a, b], [0, 1], 64)
            logits = self._forward_packed([packed]).float()[0]
            ref_a = self._forward(torch.tensor([a], device=self.device), None).logits.float()[0]
            ref_b = self._forward(torch.tensor([b], device=self.device), None).logits.float()[0]
        except Exception as err:
            log.info("shlepa-hf: packing probe failed (%s)", err)
            return False
        finally:
            self.tokens_processed = self.model_calls = 0
        got_a, got_b = logits[packed.paths[0]], logits[packed.paths[1]]
        tol = (1e-3 if self.model.dtype == torch.float32 else 5e-2) * (1 + float(ref_a.abs().max()))
        worst = max(float((got_a - ref_a).abs().max()), float((got_b - ref_b).abs().max()))
        return worst <= tol

    def _forward_packed(self, rows: Sequence[Packed]) -> torch.Tensor:
        """Logits of a right-padded batch of packed tries (padding sees only itself)."""
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
        dtype = self.model.dtype if self.model.dtype.is_floating_point else torch.float32
        mask = torch.zeros(allowed.shape, dtype=dtype)
        mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        self.tokens_processed += ids.numel()
        self.model_calls += 1
        with self._autocast():
            out = self.model(
                input_ids=ids.to(self.device),
                attention_mask=mask[:, None].to(self.device),
                position_ids=pos.to(self.device),
                use_cache=False,
            )
        return out.logits

    def _run_packed(
        self, requests: list[LLRequest], indices: Sequence[int], res: list[Any], disable_tqdm: bool
    ) -> None:
        """Score requests from packed token tries: each distinct token runs once per trie."""
        seqs = {i: tuple(requests[i][1]) + tuple(requests[i][2][:-1]) for i in indices}
        order = sorted(indices, key=lambda i: seqs[i])
        limit = min(max(self.pack_tokens, 1), self.max_batch_tokens)
        rows = list(pack_tries([seqs[i] for i in order], order, limit, self.max_batch_tokens))
        pbar = tqdm(
            total=len(indices), disable=(disable_tqdm or self.rank != 0), desc="Running loglikelihood requests (packed)"
        )
        for batch in row_batches([len(r.tokens) for r in rows], self.max_batch_tokens):
            packed = [rows[k] for k in batch]
            logits = self._forward_packed(packed)
            b_idx: list[int] = []
            p_idx: list[int] = []
            targets: list[int] = []
            seg: list[int] = []
            members: list[int] = []
            for b, row in enumerate(packed):
                for path, member in zip(row.paths, row.members, strict=True):
                    cont = requests[member][2]
                    n = len(cont)
                    p_idx.extend(path[len(path) - n :])
                    b_idx.extend([b] * n)
                    targets.extend(cont)
                    seg.extend([len(members)] * n)
                    members.append(member)
            dev = logits.device
            sel = logits[torch.tensor(b_idx, device=dev), torch.tensor(p_idx, device=dev)]
            logprobs = F.log_softmax(sel, dim=-1, dtype=self.softmax_dtype)
            target = torch.tensor(targets, dtype=torch.long, device=dev)
            token_lp = logprobs.gather(1, target[:, None]).squeeze(1)
            seg_t = torch.tensor(seg, dtype=torch.long, device=dev)
            sums = torch.zeros(len(members), dtype=token_lp.dtype, device=dev).index_add_(0, seg_t, token_lp)
            misses = torch.zeros(len(members), dtype=torch.long, device=dev).index_add_(
                0, seg_t, (logprobs.argmax(dim=-1) != target).long()
            )
            for member, ll, miss in zip(members, sums.tolist(), misses.tolist(), strict=True):
                answer = (float(ll), miss == 0)
                res[member] = answer
                request_str = requests[member][0]
                if request_str is not None:
                    self.cache_hook.add_partial("loglikelihood", request_str, answer)
            pbar.update(len(members))
        pbar.close()
