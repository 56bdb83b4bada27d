"""Wall time of `shlepa evaluate` against the old recipe and one plain lm-eval call, on CPU.

Same tiny model (built locally, safetensors), same bundled six-benchmark suite, same
item limit. Three ways:

* shlepa    - ``evaluate_request``: tasks built once, model loaded once, one
              ``simple_evaluate`` call, results + details written, request status moved.
* old       - the old recipe: one ``lm_eval`` command (a new process) per task, so
              Python, torch, lm-eval's task index and the model are loaded again
              each time, ``batch_size=1``.
* plain     - one plain ``lm_eval.simple_evaluate`` call with every task, the same
              batch size as shlepa; no files written.

shlepa and the plain call index only the bundled tasks; the old recipe's CLI indexes
lm-eval's stock task YAMLs too, as it always did. Prints a table, the ratios and whether the scores are
identical (every metric of every task, exactly).

    PYTHONPATH=src python benchmarks/bench_evaluate.py [--limit 20] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shlepa.demo.tinymodels import make_tiny_model  # noqa: E402
from shlepa.evaluation.model import model_args_for  # noqa: E402
from shlepa.evaluation.options import EvalOptions  # noqa: E402
from shlepa.evaluation.run import evaluate_request  # noqa: E402
from shlepa.records.request import load_request, new_request, save_request  # noqa: E402
from shlepa.records.suite import DataSource, load_suite  # noqa: E402


def _tasks(root: Path) -> list[tuple[str, int]]:
    suite = load_suite("open_llm_v1", root)
    return [(b.bundled_task, b.num_fewshot) for b in suite.benchmarks]


def _manager(root: Path):
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(root / "eval" / "tasks"), include_defaults=False)


def _load(manager, task: str, shots: int) -> list:
    loaded = manager.load([task])
    for obj in loaded["tasks"].values():
        obj.set_config(key="num_fewshot", value=shots)
    return [loaded["groups"][task]] if task in loaded["groups"] else list(loaded["tasks"].values())


def _metrics(results: dict) -> dict[str, float]:
    out = {}
    for task, values in results.items():
        for k, v in values.items():
            if isinstance(v, float) and "stderr" not in k:
                out[f"{task}/{k}"] = v
    return out


def run_plain(root: Path, model_args: dict, batch: int, limit: int) -> dict[str, float]:
    import lm_eval
    import lm_eval.api.registry

    manager = _manager(root)
    tasks = [t for name, shots in _tasks(root) for t in _load(manager, name, shots)]
    lm = lm_eval.api.registry.get_model("hf").create_from_arg_obj(model_args, {"batch_size": batch, "device": "cpu"})
    raw = lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=manager, limit=limit, batch_size=batch)
    return _metrics(raw["results"])


def run_old(root: Path, model_args: dict, limit: int) -> dict[str, float]:
    """The old recipe as it ran: one ``lm_eval`` process per task, batch size 1."""
    import subprocess

    out: dict[str, float] = {}
    args = ",".join(f"{k}={v}" for k, v in model_args.items() if k != "device")  # a local path: no user input
    for name, shots in _tasks(root):
        dest = Path(tempfile.mkdtemp(prefix="old-", dir=root))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lm_eval",
                "--model",
                "hf",
                "--model_args",
                args,
                "--tasks",
                name,
                "--num_fewshot",
                str(shots),
                "--batch_size",
                "1",
                "--device",
                "cpu",
                "--limit",
                str(limit),
                "--include_path",
                "eval/tasks",
                "--output_path",
                str(dest),
            ],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        )
        (results_file,) = dest.rglob("results_*.json")
        out.update(_metrics(json.loads(results_file.read_text())["results"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=20, help="items per task (default 20)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skip-old", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shlepa-bench-"))
    try:
        shutil.copytree(ROOT / "eval", work / "eval")
        model_dir = make_tiny_model(work / "tiny", arch="llama", seed=0)
        req = new_request("bench/tiny-llama", "0" * 40, "float32", "pretrained", "apache-2.0", "bench")
        save_request(req, work)
        rel = req.relpath
        model_args = dict(model_args_for(load_request(work / rel), model_path=model_dir).items())
        times: dict[str, float] = {}

        with contextlib.chdir(work):
            # With plain lm-eval's hf backend: the same model work as the plain call, so the
            # difference is shlepa's own overhead (task building, results, details, status).
            t = time.perf_counter()
            target = evaluate_request(
                work / rel,
                work,
                EvalOptions(
                    source=DataSource.bundled,
                    model_path=model_dir,
                    batch_size=args.batch_size,
                    device="cpu",
                    limit=args.limit,
                    backend="hf",
                ),
            )
            times["shlepa evaluate"] = time.perf_counter() - t
            shlepa_scores = _metrics(json.loads(Path(target).read_text())["lm_eval"]["results"])

            # The default backend, shlepa-hf: each shared context computed once.
            t = time.perf_counter()
            evaluate_request(
                work / rel,
                work,
                EvalOptions(
                    source=DataSource.bundled,
                    model_path=model_dir,
                    batch_size=args.batch_size,
                    device="cpu",
                    limit=args.limit,
                    force=True,
                ),
            )
            times["shlepa evaluate (shlepa-hf)"] = time.perf_counter() - t

            t = time.perf_counter()
            plain_scores = run_plain(work, model_args, args.batch_size, args.limit)
            times["plain lm-eval (1 call)"] = time.perf_counter() - t

            old_scores = None
            if not args.skip_old:
                t = time.perf_counter()
                old_scores = run_old(work, model_args, args.limit)
                times["old recipe (per task, bs=1)"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def same(a: dict, b: dict) -> tuple[bool, float]:
        keys = set(a) | set(b)
        diffs = [abs(a[k] - b[k]) for k in keys if k in a and k in b and not (math.isnan(a[k]) and math.isnan(b[k]))]
        return set(a) == set(b) and all(d == 0 for d in diffs), max(diffs, default=0.0)

    print(
        f"\nbundled open_llm_v1 suite (6 benchmarks), tiny Llama on CPU, limit={args.limit}, "
        f"batch_size={args.batch_size}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'run':<30} {'wall s':>8}")
    for name, secs in times.items():
        print(f"{name:<30} {secs:>8.1f}")
    s = times["shlepa evaluate"]
    p = times["plain lm-eval (1 call)"]
    print(f"shlepa / plain call: {s / p:.3f}  (target <= 1.05)")
    if old_scores is not None:
        o = times["old recipe (per task, bs=1)"]
        print(f"old recipe / shlepa: {o / s:.2f}x faster  (target >= 3x)")
        print(f"old recipe / shlepa with shlepa-hf: {o / times['shlepa evaluate (shlepa-hf)']:.2f}x faster")
    ok, diff = same(shlepa_scores, plain_scores)
    print(f"scores identical to the plain call: {ok} (max abs diff {diff:.3g}, {len(shlepa_scores)} metrics)")
    if old_scores is not None:
        ok, diff = same(shlepa_scores, old_scores)
        print(f"scores identical to the old recipe: {ok} (max abs diff {diff:.3g})")


if __name__ == "__main__":
    main()
