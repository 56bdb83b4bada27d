"""Checkpoint series requests: one request per checkpoint, each revision pinned to a sha."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.demo.run import content_sha
from shlepa.records.request import load_request
from shlepa.submission.series import SeriesError, parse_checkpoint, series_requests, write_series

from support.series import local_series

KW = dict(
    series="run-a", precision="float32", model_type="pretrained", license="mit", submitter="alice", suite="analysis360"
)


def _checkpoints(tmp_path: Path, steps: list[int]) -> dict[int, Path]:
    """Local checkpoint folders with distinct contents (what content_sha hashes)."""
    out = {}
    for step in steps:
        folder = tmp_path / f"step_{step}"
        folder.mkdir()
        (folder / "config.json").write_text('{"model_type": "llama"}')
        (folder / "model.safetensors").write_bytes(f"weights after {step} steps".encode())
        out[step] = folder
    return out


def test_local_series_writes_one_request_per_checkpoint(tmp_path):
    folders = _checkpoints(tmp_path, [1000, 0, 500])
    requests = local_series("org/run", folders, content_sha, **KW)
    assert [r.checkpoint.step for r in requests] == [0, 500, 1000]
    assert [r.revision for r in requests] == [content_sha(folders[s]) for s in (0, 500, 1000)]
    assert {r.checkpoint.series for r in requests} == {"run-a"} and requests[0].checkpoint.ref == "step_0"
    paths = write_series(tmp_path / "repo", requests)
    assert len({p.name for p in paths}) == 3
    again = load_request(paths[1])
    assert again.checkpoint.step == 500 and again.suite == "analysis360" and again.status.value == "PENDING"


def test_branches_and_tags_are_pinned_to_their_shas():
    shas = {"step_1000": "a" * 40, "step_2000": "b" * 40, "c" * 40: "c" * 40}
    requests = series_requests(
        "org/run", [(2000, "step_2000"), (1000, "step_1000"), (3000, "c" * 40)], shas.__getitem__, **KW
    )
    assert [(r.checkpoint.step, r.revision, r.checkpoint.ref) for r in requests] == [
        (1000, "a" * 40, "step_1000"),
        (2000, "b" * 40, "step_2000"),
        (3000, "c" * 40, "c" * 40),
    ]


@pytest.mark.parametrize(
    ("checkpoints", "resolve", "message"),
    [
        ([(1, "x"), (1, "y")], {"x": "a" * 40, "y": "b" * 40}, "checkpoint step 1: listed twice"),
        (
            [(1, "x"), (2, "y")],
            {"x": "a" * 40, "y": "a" * 40},
            "checkpoint step 2: revision 'y' is the same commit as step 1",
        ),
        ([(1, "x")], {"x": "main"}, "checkpoint step 1: revision 'x' did not resolve to a commit sha"),
        ([], {}, "no checkpoints given"),
    ],
)
def test_bad_series_is_a_clear_error(checkpoints, resolve, message):
    with pytest.raises(SeriesError, match=message):
        series_requests("org/run", checkpoints, resolve.__getitem__, **KW)


def test_existing_requests_are_never_overwritten(tmp_path):
    requests = local_series("org/run", _checkpoints(tmp_path, [0]), content_sha, **KW)
    write_series(tmp_path / "repo", requests)
    before = (tmp_path / "repo" / requests[0].relpath).read_bytes()
    with pytest.raises(SeriesError, match="exists already"):
        write_series(tmp_path / "repo", requests)
    assert (tmp_path / "repo" / requests[0].relpath).read_bytes() == before


def test_parse_checkpoint():
    assert parse_checkpoint("1000=step_1000") == (1000, "step_1000")
    with pytest.raises(SeriesError, match="expected STEP=REVISION"):
        parse_checkpoint("step_1000")


def test_cli_rejects_a_malformed_checkpoint(tmp_path):
    (tmp_path / "eval" / "suites").mkdir(parents=True)
    result = CliRunner().invoke(
        app, ["submit-series", "org/run", "-c", "oops", "--series", "r", "--submitter", "a", "--root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "expected STEP=REVISION" in result.output
