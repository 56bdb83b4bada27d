"""Request files: what parses, what is rejected, and how the error reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from shlepa.records.request import (
    Request,
    RequestError,
    Status,
    check_placement,
    load_all_requests,
    load_request,
    new_request,
    request_relpath,
    save_request,
)

SHA = "0123456789abcdef0123456789abcdef01234567"

GOOD = f"""\
model: acme/tiny-llama
revision: {SHA}
precision: bfloat16
model_type: fine-tuned
weight_type: original
use_chat_template: false
license: apache-2.0
params: 1.1
submitter: alice
submitted_at: '2026-11-20T10:00:00Z'
status: PENDING
history:
- at: '2026-11-20T10:00:00Z'
  status: PENDING
  reason: submitted
"""


def write(root: Path, text: str, rel: str | None = None) -> Path:
    path = root / (rel or f"requests/acme/tiny-llama/{SHA}_bfloat16.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_good_request_parses(tmp_path: Path) -> None:
    req = load_request(write(tmp_path, GOOD))
    assert req.model == "acme/tiny-llama"
    assert req.precision.value == "bfloat16"
    assert req.status is Status.pending
    assert req.relpath == Path(f"requests/acme/tiny-llama/{SHA}_bfloat16.yaml")
    assert check_placement(req, tmp_path / req.relpath, tmp_path) is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("precision: bfloat16", "precision: fp8"), "precision", "allowed: float16, bfloat16, float32, 8bit, 4bit"),
        (("revision: " + SHA, "revision: main"), "revision", "40-character commit sha"),
        (("revision: " + SHA, "revision: main,trust_remote_code=True"), "revision", "pattern"),
        (("model_type: fine-tuned", "model_type: awesome"), "model_type", "allowed: pretrained"),
        (("license: apache-2.0\n", "license: apache-2.0\ncolour: blue\n"), "colour", "unknown field"),
        (("submitter: alice\n", ""), "submitter", "required field is missing"),
        (("model: acme/tiny-llama", "model: ../../etc/passwd"), "model", "pattern"),
        (("weight_type: original", "weight_type: adapter"), None, "base_model is required"),
    ],
)
def test_bad_fields_name_file_field_and_cause(tmp_path: Path, change, field, words) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(RequestError) as info:
        load_request(path)
    message = str(info.value)
    assert message.startswith(str(path))
    if field:
        assert f"field '{field}'" in message
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("model: [unclosed\n", "invalid YAML (line"),
        (GOOD + "status: FINISHED\n", "duplicate key 'status'"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
        ("", "expected a mapping of fields, got empty"),
        ("- a\n- b\n", "expected a mapping of fields, got list"),
    ],
)
def test_malformed_files_are_rejected_with_the_file_name(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RequestError) as info:
        load_request(path)
    assert str(info.value).startswith(str(path))
    assert words in str(info.value)


def test_a_misplaced_file_says_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, rel="requests/acme/other/x.yaml")
    problem = check_placement(load_request(path), path, tmp_path)
    assert problem is not None
    assert f"requests/acme/tiny-llama/{SHA}_bfloat16.yaml" in str(problem)


def test_status_changes_are_recorded_in_the_history() -> None:
    req = new_request("acme/tiny-llama", SHA, "float32", "pretrained", "mit", "alice")
    running = req.with_status(Status.running, "claimed", runner="gpu-1")
    done = running.with_status(Status.finished, "results written")
    assert [h.status for h in done.history] == [Status.pending, Status.running, Status.finished]
    assert done.history[1].runner == "gpu-1"
    assert done.status is Status.finished
    assert req.status is Status.pending  # the original is untouched


def test_save_request_round_trips_at_its_canonical_place(tmp_path: Path) -> None:
    req = new_request("acme/tiny-llama", SHA, "float32", "pretrained", "mit", "alice", suite="analysis360")
    path = save_request(req, tmp_path)
    assert path == tmp_path / request_relpath("acme/tiny-llama", SHA, "float32", "analysis360")
    assert path.name == f"{SHA}_float32_analysis360.yaml"
    assert load_request(path) == req
    assert not list(path.parent.glob("*.tmp"))


def test_load_all_requests_keeps_going_past_broken_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, "model: [", rel="requests/acme/broken/x.yaml")
    good, bad = load_all_requests(tmp_path)
    assert [r.model for _, r in good] == ["acme/tiny-llama"]
    assert len(bad) == 1 and "requests/acme/broken/x.yaml" in str(bad[0])


def test_adapters_need_a_base_model() -> None:
    req = new_request(
        "acme/lora", SHA, "float16", "fine-tuned", "mit", "bob", weight_type="adapter", base_model="acme/base"
    )
    assert isinstance(req, Request) and req.base_model == "acme/base"


def test_a_request_error_survives_pickling_from_a_worker_process(tmp_path: Path) -> None:
    import pickle

    err = RequestError(tmp_path / "r.yaml", "precision", "must be one of bfloat16, float16")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.path, back.field, back.message) == (str(err), err.path, err.field, err.message)


def test_base_revision_pins_an_adapters_base_and_is_refused_without_one(tmp_path):
    """#15 item 7: an adapter's base model has its own commit; an original model has no base at all."""
    req = new_request(
        "acme/lora", SHA, "bfloat16", "fine-tuned", "mit", "alice",
        weight_type="adapter", base_model="acme/base", base_revision="f" * 40,
    )  # fmt: skip
    assert load_request(save_request(req, tmp_path)).base_revision == "f" * 40
    with pytest.raises(RequestError, match="base_revision must be empty"):
        new_request("acme/m", SHA, "bfloat16", "pretrained", "mit", "alice", base_revision="f" * 40)
    with pytest.raises(RequestError, match="base_revision"):
        new_request(
            "acme/lora", SHA, "bfloat16", "fine-tuned", "mit", "alice",
            weight_type="adapter", base_model="acme/base", base_revision="main",
        )  # fmt: skip
