"""The runner loop as the workflow runs it, against a real bare remote.

Workers are separate processes running ``python -m shlepa evaluate --next --commit
--push`` with lm-eval's ``dummy`` backend on the bundled suite (one benchmark, one
item), so the git machinery is what is under test, with a real lm-eval run.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shlepa.evaluation import run as evaluation
from shlepa.evaluation.options import EvalOptions
from shlepa.io import atomic
from shlepa.io.yaml import load_yaml_text
from shlepa.queue.git import GitRepo
from shlepa.queue.runner import RunnerOptions, drain, evaluate_one
from shlepa.queue.store import requeue
from shlepa.records.request import Status, load_request, parse_request
from shlepa.records.suite import DataSource

from support.gitboard import GIT_ENV, PROJECT, clone, git, publish_requests

FAST = ["--data", "bundled", "--backend", "dummy", "--benchmark", "arc", "--limit", "1"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _repo(path: Path) -> GitRepo:
    return GitRepo(path, attempts=8, backoff_s=0.0, sleep=lambda s: None)


def _opts(runner: str = "gpu-test", **kw) -> RunnerOptions:
    eval_opts = EvalOptions(source=DataSource.bundled, backend="dummy", benchmarks=["arc"], limit=1)
    return RunnerOptions(
        eval=eval_opts,
        runner=runner,
        run_url="https://ci.example/runs/1",
        log_url="https://ci.example/runs/1#artifacts",
        **kw,
    )


def remote_request(remote: Path, rel: Path):
    return parse_request(load_yaml_text(git(remote, "show", f"main:{rel}"), str(rel)), rel)


def remote_files(remote: Path, under: str) -> list[str]:
    return [f for f in git(remote, "ls-tree", "-r", "--name-only", "main", "--", under).split() if f]


def remote_results(remote: Path) -> list[dict]:
    return [
        json.loads(git(remote, "show", f"main:{f}")) for f in remote_files(remote, "results") if f.endswith(".json")
    ]


@pytest.mark.slow
def test_concurrent_workers_lose_nothing_duplicate_nothing_and_keep_history_linear(git_board, tmp_path):
    remote, seed = git_board
    rels = publish_requests(seed, 6)
    env = {
        **os.environ,
        **GIT_ENV,
        "PYTHONPATH": str(PROJECT / "src"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    procs = []
    for i in range(3):
        work = clone(remote, tmp_path / f"runner{i}")
        cmd = [
            sys.executable,
            "-m",
            "shlepa",
            "evaluate",
            "--next",
            "--commit",
            "--push",
            *FAST,
            "--runner",
            f"runner{i}",
            "--root",
            str(work),
        ]
        procs.append(
            subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]

    handled = [line.split("\t")[1] for out, _ in outputs for line in out.splitlines() if line.startswith("FINISHED")]
    assert sorted(handled) == sorted(str(r) for r in rels)  # each request evaluated by exactly one worker

    finals = [remote_request(remote, r) for r in rels]
    assert all(r.status == Status.finished for r in finals)
    for req in finals:  # exactly one claim and one final state each
        statuses = [h.status for h in req.history]
        assert statuses == [Status.pending, Status.running, Status.finished]
    results = remote_results(remote)
    keys = Counter(f"{r['request']['model']}@{r['request']['revision']}" for r in results)
    assert len(keys) == len(rels) and set(keys.values()) == {1}  # none lost, none duplicated
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""
    # one claim commit and one results commit per request, on top of the two setup commits
    assert len(git(remote, "log", "--format=%H", "main").split()) == 2 + 2 * len(rels)
    # the results commit carries results, details and the FINISHED request together, and the
    # shared details texts the first evaluation of each task version added (once, never twice)
    shared_added: list[str] = []
    for line in git(remote, "log", "--format=%H %s", "main").splitlines():
        sha, subject = line.split(" ", 1)
        if subject.startswith("evaluate: results for"):
            names = git(remote, "show", "--name-only", "--format=", sha).split()
            own = [n for n in names if not n.startswith("details/shared/")]
            assert len(own) == 3 and any(n.startswith("requests/") for n in own)
            shared_added += [n for n in names if n.startswith("details/shared/")]
    assert shared_added and len(shared_added) == len(set(shared_added))


def test_evaluation_that_raises_mid_run_ends_failed_on_the_remote_with_its_log(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 1)

    def explode(*args, **kwargs):
        evaluation.log.info("halfway through the suite")
        raise RuntimeError("CUDA out of memory. Tried to allocate 80.00 GiB")

    monkeypatch.setattr(evaluation, "run_lm_eval", explode)
    work = clone(remote, tmp_path / "w")
    outcomes = drain(_repo(work), work, _opts(log_dir=tmp_path / "logs"))
    assert [o.status for o in outcomes] == [Status.failed]

    req = remote_request(remote, rels[0])
    assert req.status == Status.failed
    assert req.failure.error_class == "RuntimeError"
    assert "out of memory" in req.failure.message
    assert "halfway through the suite" in req.failure.log_tail
    assert req.failure.log_url == "https://ci.example/runs/1#artifacts"
    assert remote_files(remote, "results") == []
    log_file = next((tmp_path / "logs").iterdir())
    assert "halfway through the suite" in log_file.read_text()


def test_disk_full_while_writing_results_leaves_nothing_half_written(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 1)

    real = atomic.write_bytes

    def disk_full(path, data):
        if Path(path).name.startswith("results_"):  # after the details were written
            raise atomic.WriteError("No space left on device", path=path, errno=errno.ENOSPC)
        real(path, data)

    monkeypatch.setattr("shlepa.records.results.atomic.write_bytes", disk_full)
    work = clone(remote, tmp_path / "w")
    drain(_repo(work), work, _opts())
    req = remote_request(remote, rels[0])
    assert req.status == Status.failed and "No space left" in req.failure.message
    assert remote_files(remote, "results") == []
    leftovers = [p for p in (work / "results").rglob("*") if p.is_file()] if (work / "results").exists() else []
    assert leftovers == []  # the details file written before the failure was removed too
    assert git(work, "status", "--porcelain").strip() == ""


def test_killed_evaluation_process_is_recorded_as_failed(git_board, tmp_path):
    remote, seed = git_board
    rels = publish_requests(seed, 1)
    killer = [
        sys.executable,
        "-c",
        "import os, signal; print('loading model', flush=True); os.kill(os.getpid(), signal.SIGKILL)",
    ]
    work = clone(remote, tmp_path / "w")
    drain(_repo(work), work, _opts(launcher=killer, log_dir=tmp_path / "logs"))
    req = remote_request(remote, rels[0])
    assert req.status == Status.failed
    assert req.failure.error_class == "EvaluationProcessDied"
    assert "-9" in req.failure.message and "loading model" in req.failure.log_tail


def test_rerun_is_idempotent_and_requeue_evaluates_again(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    repo = _repo(work)
    assert [o.status for o in drain(repo, work, _opts())] == [Status.finished]
    assert len(remote_results(remote)) == 1

    # A FINISHED request is not evaluated again by a rerun of the same request.
    out = evaluate_one(repo, work, rels[0], _opts())
    assert out.status == Status.finished and "requeue" in out.note
    assert drain(repo, work, _opts()) == []
    assert len(remote_results(remote)) == 1

    # Requeued (the rerun button): evaluated again, a second results file lands.
    requeue(work, rels[0], "new lm-eval", repo=repo)
    assert [o.status for o in drain(repo, work, _opts())] == [Status.finished]
    assert len(remote_results(remote)) == 2
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""


def test_pending_request_whose_results_already_exist_is_not_evaluated_twice(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    repo = _repo(work)
    drain(repo, work, _opts())
    # Someone hand-edits the request back to PENDING without requeueing through shlepa, using an old timestamp.
    req = load_request(work / rels[0])
    history = [h for h in req.history if h.status == Status.pending]
    from shlepa.records.request import save_request

    save_request(req.model_copy(update={"status": Status.pending, "history": history}), work)
    git(work, "commit", "-qam", "hand edit")
    git(work, "push", "-q", "origin", "HEAD:main")

    monkeypatch.setattr(evaluation, "run_lm_eval", lambda *a, **k: pytest.fail("evaluated twice"))
    outcomes = drain(repo, work, _opts())
    assert [o.status for o in outcomes] == [Status.finished]
    assert "not evaluated again" in remote_request(remote, rels[0]).history[-1].reason
    assert len(remote_results(remote)) == 1


def test_cli_runner_step_exits_nonzero_when_a_request_failed(git_board, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from shlepa.cli import app

    remote, seed = git_board
    publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    monkeypatch.setattr(evaluation, "run_lm_eval", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad task")))
    result = CliRunner().invoke(app, ["evaluate", "--next", "--commit", "--push", *FAST, "--root", str(work)])
    assert result.exit_code == 3
    assert any(line.startswith("FAILED\t") for line in result.output.splitlines())
