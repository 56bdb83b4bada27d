"""The fidelity table's paired comparison in ``benchmarks/bench_shared_context.py`` (its figures are in the README)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_shared_context.py"
_spec = importlib.util.spec_from_file_location("bench_shared_context", SCRIPT)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def deviations(values: list[float]) -> dict[tuple[str, int, int], float]:
    """Two choices a document, keyed (task, doc_id, choice) as the benchmark keys them."""
    return {("hellaswag", i // 2, i % 2): v for i, v in enumerate(values)}


def test_the_same_deviations_give_a_zero_gap_and_a_zero_interval() -> None:
    base = deviations([0.01 * (i + 1) for i in range(40)])
    assert bench.paired_median_gap(base, dict(base)) == (0.0, 0.0, 0.0, 0.0)


def test_a_backend_off_by_a_constant_has_that_gap_and_an_interval_above_zero() -> None:
    base = deviations([0.01 * (i + 1) for i in range(40)])
    worse = {k: v + 0.05 for k, v in base.items()}
    gap, lo, hi, below = bench.paired_median_gap(worse, base)
    assert abs(gap - 0.05) < 1e-12 and abs(lo - 0.05) < 1e-12 and abs(hi - 0.05) < 1e-12
    assert below == 0.0


def test_noise_around_the_baseline_gives_an_interval_holding_zero() -> None:
    base = deviations([0.01 * (i + 1) for i in range(60)])
    noisy = {k: v + (0.004 if k[1] % 2 else -0.004) for k, v in base.items()}  # half a document up, half down
    gap, lo, hi, below = bench.paired_median_gap(noisy, base)
    assert lo < 0 < hi and abs(gap) <= 0.004 and below == 0.5
