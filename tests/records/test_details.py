"""Per-sample details format 2: compact rows per model, the text once per task version."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from shlepa.records.details import (
    DetailsError,
    SharedText,
    compact,
    is_compact,
    load_shared,
    read_model_details,
    shared_pages,
    shared_text_path,
    write_model_details,
)
from shlepa.records.keys import shared_text_key

PREAMBLE = "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4"


def mmlu_rows(model_ll: float) -> list[dict]:
    """Two documents of one subject with the same 5-shot preamble (lm-eval's first_n sampler)."""
    return [
        {
            "benchmark": "mmlu",
            "task": "mmlu_anatomy",
            "doc_id": i,
            "prompt": f"{PREAMBLE}\n\nQ: {i}+{i}?\nA:",
            "choices": [" A", " B"],
            "target": i % 2,
            "response": [[model_ll, True], [model_ll - 1, False]],
            "filter": "none",
            "metrics": {"acc": 1.0},
            "doc": {"question": f"{i}+{i}?"},
        }
        for i in range(2)
    ]


def gsm8k_rows() -> list[dict]:
    """One document scored by two filters: two rows, one text."""
    base = {
        "benchmark": "gsm8k",
        "task": "gsm8k",
        "doc_id": 0,
        "prompt": "Q: 3*3?\nA:",
        "choices": [],
        "target": "9",
        "doc": None,
    }
    return [
        {**base, "response": ["9"], "filter": "strict-match", "metrics": {"exact_match": 1.0}, "generation": " 9."},
        {**base, "response": ["9"], "filter": "flexible-extract", "metrics": {"exact_match": 1.0}, "generation": " 9."},
    ]


def test_rows_round_trip_and_the_text_is_kept_once(tmp_path: Path) -> None:
    rows = mmlu_rows(-1.5) + gsm8k_rows()
    details = compact(rows, lm_eval={"configs": {"gsm8k": {"num_fewshot": 5}}})
    keys = write_model_details(tmp_path / "m1" / "details.jsonl.gz", details, tmp_path)
    back = read_model_details(tmp_path / "m1" / "details.jsonl.gz", load_shared(tmp_path))
    assert back.full_rows() == rows
    assert back.lm_eval == {"configs": {"gsm8k": {"num_fewshot": 5}}}
    assert sorted(keys) == sorted(t.key for t in details.shared.values())
    mmlu = back.shared["mmlu_anatomy"]
    assert mmlu.preambles == [PREAMBLE]  # one preamble for the subject, not one per document
    assert [r["pre"] for r in mmlu.rows] == [0, 0]
    assert len(back.shared["gsm8k"].rows) == 1  # two filters, one document
    # per sample only what the model did
    assert all(set(r) == {"benchmark", "task", "doc_id", "s", "response", "filter", "metrics"} for r in back.rows[:2])
    assert back.rows[2]["generation"] == " 9."


def test_two_models_share_one_text_file(tmp_path: Path) -> None:
    a = compact(mmlu_rows(-1.5))
    b = compact(mmlu_rows(-7.25))
    write_model_details(tmp_path / "a.jsonl.gz", a, tmp_path)
    write_model_details(tmp_path / "b.jsonl.gz", b, tmp_path)
    assert a.shared["mmlu_anatomy"].key == b.shared["mmlu_anatomy"].key
    assert len(list((tmp_path / "details").rglob("*.jsonl.gz"))) == 1
    # a different prompt (a chat template, another few-shot draw) is a different version, never an overwrite
    chat = mmlu_rows(-1.5)
    chat[0]["prompt"] = "<|user|>" + chat[0]["prompt"]
    assert compact(chat).shared["mmlu_anatomy"].key != a.shared["mmlu_anatomy"].key


def test_a_shared_text_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    details = compact(mmlu_rows(-1.5))
    write_model_details(tmp_path / "a.jsonl.gz", details, tmp_path)
    text = details.shared["mmlu_anatomy"]
    path = shared_text_path(tmp_path, text.key)
    forged = SharedText(text.task, ["Q: evil"], text.rows)
    path.write_bytes(forged.encode())
    with pytest.raises(DetailsError, match="does not match its hash"):
        read_model_details(tmp_path / "a.jsonl.gz", load_shared(tmp_path))
    path.unlink()
    with pytest.raises(DetailsError, match="missing shared text"):
        read_model_details(tmp_path / "a.jsonl.gz", load_shared(tmp_path))


def test_format_1_files_are_read_as_they_are(tmp_path: Path) -> None:
    rows = mmlu_rows(-1.5)
    old = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)
    assert not is_compact(old)
    assert read_model_details(old, load_shared(tmp_path)).full_rows() == rows
    assert is_compact(compact(rows).encode())


def test_keys_never_become_paths_outside_the_store() -> None:
    assert shared_text_key("mmlu_anatomy", "0123456789abcdef") == "shared/mmlu_anatomy/0123456789abcdef.jsonl.gz"
    for task, version in [("../x", "0123456789abcdef"), ("a/b", "0123456789abcdef"), ("ok", "../../etc")]:
        with pytest.raises(ValueError):
            shared_text_key(task, version)


def test_the_site_pages_of_a_shared_text_carry_only_the_preambles_they_use() -> None:
    text = SharedText("t", ["P0", "P1"], [{"doc_id": i, "pre": i % 2, "question": str(i)} for i in range(3)])
    pages = shared_pages(text, page_rows=2)
    assert pages[0]["preambles"] == ["P0", "P1"] and [r["pre"] for r in pages[0]["rows"]] == [0, 1]
    assert pages[1] == {
        "preambles": ["P0"],
        "rows": [{"doc_id": 2, "pre": 0, "question": "2", "choices": None, "target": None}],
    }
