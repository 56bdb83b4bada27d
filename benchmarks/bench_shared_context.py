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
    import lm_eval

    loaded = task_manager().load(names)
    for task in loaded["tasks"].values():
        task.set_config(key="num_fewshot", value=bench.num_fewshot)
    before = getattr(lm, "tokens_processed", 0)
    t0 = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=list(loaded["tasks"].values()),
        limit=limit,
        bootstrap_iters=0,
        verbosity="ERROR",
        task_manager=task_manager(),
    )
    wall = time.perf_counter() - t0
    return wall, getattr(lm, "tokens_processed", 0) - before, out["results"]


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in avg)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b else "    -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: build a small random Llama)")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/shlepa-bench-model"))
    parser.add_argument("--arch", default="llama", choices=["llama", "gpt2"])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--limit", type=int, default=20, help="documents per task (per MMLU subject)")
    parser.add_argument("--mmlu-subjects", type=int, default=6, help="MMLU subjects to run (0 = all)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-batch-tokens", type=int, default=8192)
    parser.add_argument("--pack-tokens", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=1, help="A/B/B/A pairs per task (wall = median)")
    parser.add_argument("--benchmark", action="append", help="benchmark keys (default: all six)")
    parser.add_argument("--vllm", action="store_true", help="also time vllm with/without prefix caching")
    args = parser.parse_args(argv)

    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    import shlepa.backends  # noqa: F401
    from shlepa.backends import SharedContextHFLM
    from shlepa.records.suite import load_suite, select_benchmarks

    model = args.model or build_model(args.model_dir, args.arch, args.hidden, args.layers, args.heads)
    common = dict(pretrained=str(model), dtype=args.dtype, device=args.device, batch_size=args.batch_size)
    backends: dict[str, Any] = {
        "hf": counting_hflm()(**common),
        "shlepa-hf": SharedContextHFLM(**common, max_batch_tokens=args.max_batch_tokens, pack_tokens=args.pack_tokens),
    }
    if args.vllm:
        from lm_eval.models.vllm_causallms import VLLM

        vcommon = dict(pretrained=str(model), dtype=args.dtype, batch_size="auto", gpu_memory_utilization=0.4)
        backends["vllm"] = VLLM(**vcommon, enable_prefix_caching=False)
        backends["vllm+apc"] = VLLM(**vcommon, enable_prefix_caching=True)

    load_before = os.getloadavg()
    suite = load_suite("open_llm_v1", ROOT)
    benches = select_benchmarks(suite, args.benchmark)
    with contextlib.chdir(ROOT):
        rows: list[tuple[str, dict[str, tuple[float, int]]]] = []
        for bench in benches:
            walls: dict[str, list[float]] = {n: [] for n in backends}
            tokens_of: dict[str, int] = {}
            accs: dict[str, Any] = {}
            names = list(backends)
            for _ in range(args.repeats):
                for name in names + names[::-1]:  # A/B/B/A: a load trend hits both alike
                    lm = backends[name]
                    wall, tokens, results = run_task(lm, bench, task_names(bench, args.mmlu_subjects), args.limit)
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
        if not args.model
        else f"model {model}"
    )
    print(
        f"\n{info}; {args.dtype} on {args.device}; torch threads {torch.get_num_threads()}; "
        f"batch size {args.batch_size}; limit {args.limit}/task"
        + (f" ({args.mmlu_subjects} MMLU subjects)" if args.mmlu_subjects else "")
        + f"; shlepa-hf max_batch_tokens {args.max_batch_tokens}, pack_tokens {args.pack_tokens}"
        + f"; {2 * args.repeats} interleaved runs per backend and task (median wall)"
    )
    print(
        f"load average (1/5/15 min) before {_load(load_before)}, after {_load(os.getloadavg())}; "
        f"{os.cpu_count()} CPUs\n"
    )
    names = list(backends)
    head = f"{'benchmark':<11} {'hf tokens':>10} {'shlepa tok':>10} {'tok ratio':>9} {'hf s':>8} {'shlepa s':>8} {'speedup':>7}"
    extra = [n for n in names if n not in ("hf", "shlepa-hf")]
    head += "".join(f" {n + ' s':>10}" for n in extra)
    print(head)
    print("-" * len(head))
    tot = {n: [0.0, 0] for n in names}
    for key, per in rows:
        for n in names:
            tot[n][0] += per[n][0]
            tot[n][1] += per[n][1]
        print(_line(key, per, extra))
    print("-" * len(head))
    print(_line("total", {n: (w, t) for n, (w, t) in tot.items()}, extra))
    return 0


def _line(key: str, per: dict[str, Any], extra: list[str]) -> str:
    (hw, ht), (sw, st) = per["hf"], per["shlepa-hf"]
    tok = f"{ht:>10} {st:>10} {_ratio(ht, st):>9}" if ht else f"{'(gen)':>10} {'(gen)':>10} {'-':>9}"
    line = f"{key:<11} {tok} {hw:8.1f} {sw:8.1f} {_ratio(hw, sw):>7}"
    return line + "".join(f" {per[n][0]:10.1f}" for n in extra)


if __name__ == "__main__":
    raise SystemExit(main())
