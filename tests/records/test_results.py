"""Results files: atomic writes, details beside them, broken files reported not raised."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shlepa.io import atomic
from shlepa.records.details import load_shared, read_model_details
from shlepa.records.results import (
    SCHEMA,
    find_results_for,
    latest_by_key,
    load_all_results,
    load_results,
    write_results,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def payload(model: str = "acme/tiny", value: float = 40.0) -> dict:
    return {
        "request": {"model": model, "revision": SHA, "precision": "float32", "model_type": "pretrained"},
        "request_file": f"requests/{model}/{SHA}_float32.yaml",
        "suite": "open_llm_v1",
        "evaluation": {
            "started_at": "2026-11-23T10:00:00+00:00",
            "finished_at": "2026-11-23T10:01:00+00:00",
            "duration_s": 60.0,
            "data": "bundled",
            "backend": "hf",
            "model_args": {"pretrained": model},
        },
        "scores": {
            "arc": {
                "value": value,
                "stderr": 1.0,
                "task": "arc_challenge",
                "metric": "acc_norm,none",
                "num_fewshot": 25,
            }
        },
        "average": value,
        "reproduce": {"shlepa": "shlepa evaluate x", "lm_eval": []},
        "lm_eval": {"results": {"arc_challenge": {"acc_norm,none": value / 100}}},
    }


def test_results_and_details_are_written_side_by_side(tmp_path: Path) -> None:
    now = datetime(2026, 11, 23, 10, 1, tzinfo=UTC)
    row = {"benchmark": "arc", "task": "arc_challenge", "doc_id": 0, "prompt": "Q: 1+1?\nA: 2\n\nQ: 2+2?\nA:",
           "choices": [" 4", " 5"], "target": 0, "response": [[-1.0, True], [-3.0, False]], "filter": "none",
           "metrics": {"acc": 1.0}, "doc": {"id": 0}}  # fmt: skip
    path = write_results(tmp_path, payload(), [row], now)
    assert path == tmp_path / "results/acme/tiny/results_20261123T100100.000000Z.json"
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA
    assert data["details_file"] == "details_20261123T100100.000000Z.jsonl.gz"
    details = read_model_details(path.parent / data["details_file"], load_shared(tmp_path))
    assert details.full_rows() == [row]  # compact on disk, the same row when read back
    assert "prompt" not in details.rows[0] and details.shared["arc_challenge"].rows[0]["question"] == "Q: 2+2?\nA:"
    assert data["task_hashes"] == {"arc_challenge": details.shared["arc_challenge"].version_hash}
    # Named by content: the details store key comes from this hash (records.keys.details_key).
    assert data["details_sha256"] == hashlib.sha256((path.parent / data["details_file"]).read_bytes()).hexdigest()
    assert load_results(path).scores["arc"].value == 40.0


def test_a_failed_write_leaves_no_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = atomic.write_bytes

    def disk_full(path: Path, data: bytes) -> None:
        if path.name.startswith("results_"):
            raise atomic.WriteError("No space left on device", path=path, errno=28)
        real(path, data)

    monkeypatch.setattr(atomic, "write_bytes", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_results(tmp_path, payload(), [], datetime.now(UTC))
    assert not list((tmp_path / "results").rglob("results_*.json"))
    assert not list((tmp_path / "results").rglob("*.tmp"))


def test_atomic_write_keeps_the_old_content_when_the_write_fails(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.json"
    atomic.write_json(target, {"v": 1})

    def boom(*_args, **_kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(atomic.WriteError, match=str(target)):
        atomic.write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_broken_results_files_are_reported_with_their_path(tmp_path: Path) -> None:
    good = write_results(tmp_path, payload(), [], datetime(2026, 1, 1, tzinfo=UTC))
    broken = good.parent / "results_20260102T000000.000000Z.json"
    broken.write_text("{not json")
    wrong = good.parent / "results_20260103T000000.000000Z.json"
    wrong.write_text(json.dumps({"schema": SCHEMA, "request": {}}))
    ok, bad = load_all_results(tmp_path)
    assert [p for p, _ in ok] == [good]
    assert {str(broken), str(wrong)} == {str(e).split(": ")[0] for e in bad}


def test_the_newest_file_wins_per_evaluation(tmp_path: Path) -> None:
    old = write_results(tmp_path, payload(value=10.0), [], datetime(2026, 1, 1, tzinfo=UTC))
    new = write_results(tmp_path, payload(value=20.0), [], datetime(2026, 2, 1, tzinfo=UTC))
    results, _ = load_all_results(tmp_path)
    latest = latest_by_key(results)
    key = f"acme/tiny@{SHA}@float32@open_llm_v1"
    assert latest[key][0] == new and latest[key][1].average == 20.0
    assert find_results_for(tmp_path, key) == new
    assert old.exists()


def _indented(payload: dict) -> bytes:
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()


@pytest.mark.parametrize("lm_eval_last", [True, False])
def test_the_site_reads_a_results_file_without_parsing_lm_evals_output(tmp_path, lm_eval_last) -> None:
    from shlepa.records.results import read_results_data, without_lm_eval

    lm_eval = {
        "results": {"t": {"acc,none": 0.5, "note": 'a "quoted"\n  "lm_eval": line'}},
        "configs": {"t": {"doc_to_text": '{{question}}\n  "schema": x'}},
        "config": {"model": "hf"},
    }
    head = {"request": {"model": "org/m"}, "model_info": {"architecture": "LlamaForCausalLM"}, "scores": {}}
    tail = {"schema": SCHEMA, "details_file": "details_x.jsonl.gz"}
    payload = {**head, **tail, "lm_eval": lm_eval} if lm_eval_last else {**head, "lm_eval": lm_eval, **tail}
    path = tmp_path / "results_20240101T000000Z.json"
    path.write_bytes(_indented(payload))
    assert json.loads(without_lm_eval(path.read_bytes())) == {**payload, "lm_eval": {}}
    assert read_results_data(path, {"config"}) == {**payload, "lm_eval": {}}
    assert read_results_data(path) == payload


def test_files_without_model_info_or_indentation_are_read_in_full(tmp_path) -> None:
    from shlepa.records.results import read_results_data

    lm_eval = {"config": {"model_architecture": "GPT2LMHeadModel"}, "configs": {"t": {}}}
    older = {"request": {"model": "org/m"}, "lm_eval": lm_eval, "schema": SCHEMA}
    (tmp_path / "a.json").write_bytes(_indented(older))
    (tmp_path / "b.json").write_text(json.dumps({**older, "model_info": {"architecture": "X"}}))
    assert read_results_data(tmp_path / "a.json", {"config"})["lm_eval"] == {"config": lm_eval["config"]}
    assert read_results_data(tmp_path / "b.json", {"config"})["lm_eval"] == {"config": lm_eval["config"]}
