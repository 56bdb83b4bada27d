"""The fake result sets (tests/support/result_sets.py) are as big per sample as a real evaluation.

The storage benchmark sizes 10,000 full-size models from the fake result sets, so their
per-sample bytes must be those the real pipeline writes. A real ``shlepa evaluate`` of the
tiny Llama runs on the bundled tasks: their documents are rows of the real benchmark files
with the stock prompt templates and few-shot counts (25-shot ARC, 10-shot HellaSwag, 5-shot
MMLU, ...), so a few documents per task give the real prompt shapes. Per benchmark, the text
every model shares (prompt, choices, target) and the compact per-model row must be within
20% of the generator's. A generation's own text is left out: its length is the model's (the
tiny model rambles to its token limit), not the format's.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.records.details import ModelDetails, load_shared, read_model_details
from shlepa.records.suite import load_suite

from support.requests import evaluate_args, submit
from support.result_sets import _details, shared_texts

LIMIT = 3


def bytes_per_sample(details: ModelDetails) -> dict[str, tuple[float, float]]:
    """Per benchmark: (shared text bytes, compact row bytes) per sample, as JSON."""
    text: dict[str, list[int]] = defaultdict(list)
    row: dict[str, list[int]] = defaultdict(list)
    for full, small in zip(details.full_rows(), details.rows, strict=True):
        text[full["benchmark"]].append(len(json.dumps([full["prompt"], full["choices"], full["target"]])))
        row[full["benchmark"]].append(len(json.dumps({k: v for k, v in small.items() if k != "generation"})))
    return {b: (statistics.mean(text[b]), statistics.mean(row[b])) for b in text}


@pytest.mark.slow
def test_the_generator_writes_as_many_bytes_per_sample_as_a_real_evaluation(
    board_root: Path, tiny_model_dir: Path
) -> None:
    request = submit(board_root, tiny_model_dir)
    result = CliRunner().invoke(app, evaluate_args(board_root, request, tiny_model_dir, 4, "--limit", str(LIMIT)))
    assert result.exit_code == 0, result.output
    results_file = Path(result.stdout.strip().splitlines()[-1])
    data = json.loads(results_file.read_text())
    real = bytes_per_sample(read_model_details(results_file.parent / data["details_file"], load_shared(board_root)))

    suite = load_suite("open_llm_v1", board_root)
    texts = shared_texts(suite, 60)
    rows = _details(random.Random(0), suite, texts, 0)
    fake = bytes_per_sample(ModelDetails(rows, {t.task: t for parts in texts.values() for t, _first in parts}))

    assert set(real) == set(fake) == set(suite.keys)
    for bench, (real_text, real_row) in real.items():
        fake_text, fake_row = fake[bench]
        assert 0.8 <= fake_text / real_text <= 1.2, (bench, "text", fake_text, real_text)
        assert 0.8 <= fake_row / real_row <= 1.2, (bench, "row", fake_row, real_row)
    # and the real results file stays slim: at most 30 KB on disk with the stock task names
    # (the bundled tasks are the stock ones prefixed "shlepa_", 7 bytes at each of ~570 mentions).
    raw = results_file.read_bytes()
    stock = raw.replace(b"shlepa_", b"")
    print(f"[sizes] a real results file: {len(raw):,} B on disk, {len(stock):,} B with the stock task names")
    assert len(stock) <= 30_000
