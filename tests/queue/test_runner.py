"""The runner loop as the workflow runs it, against a real bare remote.

Workers are separate processes running ``python -m shlepa evaluate --next --commit
--push`` with lm-eval's ``dummy`` backend on the bundled suite (one benchmark, one
item), so the git machinery is what is under test, with a real lm-eval run.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import huggingface_hub.constants
import pytest

from shlepa.details import sha256_hex
from shlepa.evaluation import run as evaluation
from shlepa.evaluation.options import EvalOptions
from shlepa.io import atomic
from shlepa.io.yaml import load_yaml_text
from shlepa.queue.git import GitRepo
from shlepa.queue.runner import RunnerOptions, _child_command, child_options, drain, evaluate_one
from shlepa.queue.store import requeue
from shlepa.records.keys import details_key
from shlepa.records.request import Status, load_request, parse_request
from shlepa.records.suite import DataSource

from support.gitboard import GIT_ENV, PROJECT, RULESET, clone, git, install_hook, publish_requests
from support.stores import BACKENDS, store_for

#: The in-process time limit of these tests: many times one dummy evaluation (about a second) on a busy CPU.
LIMIT_S = 10.0

FAST = ["--data", "bundled", "--backend", "dummy", "--benchmark", "arc", "--limit", "1"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # huggingface_hub read the variable when it was imported (at collection): tell it too, so the
    # dummy backend's tokenizer lookup fails at once instead of retrying a Hub it cannot reach.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


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
    # the results commit carries the results and the FINISHED request together, and the shared
    # details texts the first evaluation of each task version added (once, never twice); the
    # per-model details went to the configured store (the default: the `details` branch)
    shared_added: list[str] = []
    for line in git(remote, "log", "--format=%H %s", "main").splitlines():
        sha, subject = line.split(" ", 1)
        if subject.startswith("evaluate: results for"):
            names = git(remote, "show", "--name-only", "--format=", sha).split()
            own = [n for n in names if not n.startswith("details/shared/")]
            assert len(own) == 2 and any(n.startswith("requests/") for n in own)
            shared_added += [n for n in names if n.startswith("details/shared/")]
    assert shared_added and len(shared_added) == len(set(shared_added))
    stored = set(git(remote, "ls-tree", "-r", "--name-only", "details").split())
    assert {details_key(r["details_sha256"]) for r in results} <= stored  # every result's details, by hash


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


def test_isolate_child_gets_every_evaluation_option(board_root, tmp_path):
    """--isolate/launcher: the child's CLI rebuilds exactly the parent's options record, every field of it.

    The child command once listed its flags by hand and dropped --allow-code-eval,
    --backend-arg, --memorization-data and --wandb. Every field below differs from its
    default, so a new EvalOptions field that is not set here (and carried) fails.
    """
    full = EvalOptions(
        source=DataSource.bundled,
        benchmarks=["arc", "humaneval"],
        model_path=Path("/models/org/model"),
        backend="hf",
        backend_args={"max_batch_tokens": 16384, "trust": True},
        batch_size=8,
        device="cuda:1",
        limit=0.5,
        cache_dir=Path("/cache/lm_eval"),
        force=True,
        runner="from-the-options",
        run_url="https://ci.example/runs/9",
        confirm_run_unsafe_code=True,
        claimed=True,
        log_url="https://ci.example/runs/9#artifacts",
        memorization_data=Path("/data/sample.jsonl"),
        wandb_project="board",
    )
    defaults = EvalOptions()
    unset = [f.name for f in dataclasses.fields(EvalOptions) if getattr(full, f.name) == getattr(defaults, f.name)]
    assert unset == [], f"give these fields a non-default value in this test: {unset}"

    captured = tmp_path / "child_saw.json"
    child = tmp_path / "child.py"  # the real `shlepa evaluate` CLI, with the evaluation itself replaced
    child.write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from shlepa.cli import app\n"
        "from shlepa.cli import evaluate as cli\n"
        "def capture(request_file, root, opts, progress=None):\n"
        f"    Path({str(captured)!r}).write_text(json.dumps(opts.to_json()))\n"
        "cli.evaluate_request = capture\n"
        "cli.require_sandbox = lambda: None  # option transport only (the sandbox has its own tests)\n"
        "app(sys.argv[sys.argv.index('shlepa') + 1:], prog_name='shlepa')\n"
    )
    opts = RunnerOptions(
        eval=full,
        runner="gpu-7",
        run_url="https://ci.example/runs/10",
        log_url="https://ci.example/runs/10#log",
        launcher=[sys.executable, str(child)],
        isolate=True,
    )
    rel = Path("requests/org/model/0123456_float16.yaml")
    cmd = _child_command(rel, board_root, opts, tmp_path / "options.json")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run(cmd, cwd=board_root, env=env, check=True, capture_output=True, timeout=300)

    expected = child_options(opts)
    assert (expected.runner, expected.run_url, expected.log_url, expected.claimed) == (
        "gpu-7",
        "https://ci.example/runs/10",
        "https://ci.example/runs/10#log",
        True,
    )
    assert EvalOptions.from_json(json.loads(captured.read_text())) == expected


@pytest.mark.parametrize("how", ["flag", "leaderboard.yaml"])
def test_allow_code_eval_without_a_sandbox_stops_before_claiming(git_board, tmp_path, monkeypatch, how):
    """No bubblewrap on the runner: the drain refuses at once and the request stays PENDING for a runner that has
    it, whether the command asked for the code benchmarks or leaderboard.yaml does (runner.allow_code_eval)."""
    from typer.testing import CliRunner

    from shlepa.cli import app
    from shlepa.evaluation import sandbox

    remote, seed = git_board
    rels = publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    flag = ["--allow-code-eval"]
    if how == "leaderboard.yaml":
        (work / "leaderboard.yaml").write_text("runner:\n  allow_code_eval: true\n")
        flag = []
    sandbox._probe.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        args = ["evaluate", "--next", "--commit", "--push", *flag, *FAST, "--root", str(work)]
        result = CliRunner().invoke(app, args)
    finally:
        sandbox._probe.cache_clear()
    assert result.exit_code != 0
    assert "bubblewrap" in result.output and "never run unsandboxed" in result.output
    assert remote_request(remote, rels[0]).status == Status.pending


# -- one request cannot hold the queue (#15 item 4) ------------------------------------
def test_request_past_the_time_limit_ends_failed_and_the_next_request_is_evaluated(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    real = evaluation.run_lm_eval
    calls: list[float] = []

    def hangs_first(*args, **kwargs):  # a chat template rendering for hours, on the first request only
        calls.append(time.monotonic())
        if len(calls) == 1:
            evaluation.log.info("rendering the chat template")
            time.sleep(3600)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "run_lm_eval", hangs_first)
    work = clone(remote, tmp_path / "w")
    started = time.monotonic()
    outcomes = drain(_repo(work), work, _opts(log_dir=tmp_path / "logs", request_timeout_s=LIMIT_S))
    assert [o.status for o in outcomes] == [Status.failed, Status.finished]
    assert time.monotonic() - started < 3600  # it did not wait for the hang
    stuck = remote_request(remote, rels[0])
    assert stuck.failure.error_class == "EvaluationTimeout"
    assert f"evaluation exceeded {LIMIT_S:g} seconds" in stuck.failure.message
    assert "rendering the chat template" in stuck.failure.log_tail
    assert remote_request(remote, rels[1]).status == Status.finished
    assert len(remote_results(remote)) == 1


def test_a_time_limit_swallowed_once_is_sent_again_until_the_run_stops(monkeypatch):
    """A library that catches BaseException and goes on drops the first signal; the next one ends the run."""
    from shlepa.queue import runner as runner_module
    from shlepa.queue.runner import EvaluationTimeout, deadline

    monkeypatch.setattr(runner_module, "RESEND_S", 0.2)
    swallowed: list[BaseException] = []
    started = time.monotonic()
    with pytest.raises(EvaluationTimeout, match="exceeded"), deadline(0.3):
        try:
            time.sleep(30)
        except BaseException as exc:
            swallowed.append(exc)
        time.sleep(30)
    assert [type(e) for e in swallowed] == [EvaluationTimeout]
    assert time.monotonic() - started < 20
    with deadline(0.3):  # a block that ends in time gets no signal, then or later
        time.sleep(0.05)
    time.sleep(0.8)


def test_a_time_limit_a_library_turns_into_its_own_error_still_says_time_limit():
    """The datasets library, interrupted while opening a file, reports it as not found: the
    block still ends with the time limit (its error chained), not with a missing file."""
    from shlepa.queue.runner import EvaluationTimeout, deadline

    with pytest.raises(EvaluationTimeout, match="exceeded") as caught, deadline(0.3):
        try:
            time.sleep(30)
        except BaseException as exc:
            raise FileNotFoundError("Unable to find 'eval/data/mmlu/dev.jsonl'") from exc
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    with pytest.raises(FileNotFoundError), deadline(30):  # an error before the limit stays itself
        raise FileNotFoundError("missing.jsonl")


HANG = """
import os, subprocess, sys, time
if sys.argv[1:4] != ["-m", "shlepa", "evaluate"]:
    raise SystemExit("unexpected command line")
# A grandchild in the same process group: it must die with the child.
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(os.environ["HANG_PIDS"], "a") as f:
    f.write(f"{os.getpid()} {helper.pid}\\n")
print("rendering the chat template", flush=True)
time.sleep(3600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped


def test_isolated_request_past_the_time_limit_has_its_process_group_killed(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    monkeypatch.setenv("HANG_PIDS", str(tmp_path / "pids"))
    monkeypatch.setattr("shlepa.queue.runner.KILL_GRACE_S", 1.0)
    work = clone(remote, tmp_path / "w")
    opts = _opts(launcher=[sys.executable, str(script)], log_dir=tmp_path / "logs", request_timeout_s=2)
    outcomes = drain(_repo(work), work, opts)
    assert [o.status for o in outcomes] == [Status.failed, Status.failed]  # the drain went on to the next one
    for rel in rels:
        req = remote_request(remote, rel)
        assert req.failure.error_class == "EvaluationTimeout"
        assert (
            "evaluation exceeded 2 seconds" in req.failure.message and "process group was killed" in req.failure.message
        )
        assert "rendering the chat template" in req.failure.log_tail
    pids = [int(p) for line in (tmp_path / "pids").read_text().splitlines() for p in line.split()]
    assert len(pids) == 4 and not any(_alive(p) for p in pids)


# -- a result cannot be lost at the push (#15 item 5) ----------------------------------
def test_results_refused_by_a_ruleset_are_kept_on_a_side_branch_and_the_request_fails_with_gits_message(
    git_board, tmp_path
):
    remote, seed = git_board
    rels = publish_requests(seed, 2)
    install_hook(remote, RULESET)
    work = clone(remote, tmp_path / "w")
    outcomes = drain(_repo(work), work, _opts(log_dir=tmp_path / "logs"))
    assert [o.status for o in outcomes] == [Status.failed, Status.failed]  # never left RUNNING; the drain went on

    req = remote_request(remote, rels[0])
    assert req.status == Status.failed and req.failure.error_class == "PushRejected"
    assert "push rejected" in req.failure.message and "GH013: Repository rule violations" in req.failure.message
    assert "Changes to results/ must come from the publish job" in req.failure.message
    assert remote_files(remote, "results") == []

    # The results are on a side branch named after the request, with the FINISHED request, for the owners to merge.
    branches = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/shlepa/unpublished/").split()
    assert len(branches) == 2 and any("org0-model-0-000000000000-float32-open_llm_v1-" in b for b in branches)
    branch = next(b for b in branches if "model-0" in b)
    assert branch in req.failure.message
    kept = git(remote, "ls-tree", "-r", "--name-only", branch, "--", "results").split()
    assert any(f.endswith(".json") for f in kept) and any(f.endswith(".jsonl.gz") for f in kept)
    on_branch = parse_request(load_yaml_text(git(remote, "show", f"{branch}:{rels[0]}"), str(rels[0])), rels[0])
    assert on_branch.status == Status.finished
    assert git(remote, "rev-parse", f"{branch}^").strip() in git(remote, "rev-list", "main").split()

    # ... and in the folder uploaded with the logs, with git's message.
    folder = tmp_path / "logs" / "unpublished" / branch.rsplit("/", 1)[1]
    assert [p.name for p in (folder / "results").rglob("results_*.json")]
    assert "GH013" in (folder / "push-error.txt").read_text()
    assert git(work, "status", "--porcelain").strip() == ""


def test_a_remote_refusing_everything_still_keeps_the_results_in_the_folder(git_board, tmp_path):
    remote, seed = git_board
    rels = publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    repo = _repo(work)
    from shlepa.queue.store import claim

    assert claim(repo, work, rels[0], "gpu-test", None)
    install_hook(remote, "#!/bin/sh\necho 'repository is read-only for maintenance' >&2\nexit 1\n")
    from shlepa.queue.runner import process_claimed

    out = process_claimed(repo, work, rels[0], _opts(log_dir=tmp_path / "logs"))
    assert out.status == Status.failed
    assert "refused too" in out.note and "read-only for maintenance" in out.note
    (folder,) = (tmp_path / "logs" / "unpublished").iterdir()
    assert (
        list(folder.rglob("results_*.json")) and "read-only for maintenance" in (folder / "push-error.txt").read_text()
    )
    kept = parse_request(load_yaml_text((folder / rels[0]).read_text(), str(rels[0])), rels[0])
    assert kept.status == Status.finished


def test_a_502_at_the_results_push_is_retried_and_the_result_lands(git_board, tmp_path):
    from support.flaky_git_http import flaky_git_server

    remote, seed = git_board
    rels = publish_requests(seed, 2)
    # Push 0 is the first claim; pushes 1 and 2 (the first results) get a 502, then all goes through.
    with flaky_git_server(remote.parent, fail_pushes={1, 2}) as (url, answered):
        git(tmp_path, "clone", "--quiet", f"{url}/{remote.name}", "w")
        work = tmp_path / "w"
        outcomes = drain(_repo(work), work, _opts())
        assert answered == [2]
    assert [o.status for o in outcomes] == [Status.finished, Status.finished]
    assert all(remote_request(remote, r).status == Status.finished for r in rels)
    assert len(remote_results(remote)) == 2


def test_a_commit_force_pushed_off_main_during_the_evaluation_is_not_pushed_back(git_board, tmp_path, monkeypatch):
    remote, seed = git_board
    rels = publish_requests(seed, 1)
    atomic.write_text(seed / "secret.txt", "must not be published\n")
    git(seed, "add", "secret.txt")
    git(seed, "commit", "-qm", "bad commit")
    git(seed, "push", "-q", "origin", "HEAD:main")
    real = evaluation.run_lm_eval

    def owners_rewrite_main_meanwhile(*args, **kwargs):
        # The runner claimed on top of the bad commit; the owners now drop it and force-push main.
        git(seed, "fetch", "-q", "origin")
        git(seed, "reset", "-q", "--hard", "origin/main")
        git(seed, "rebase", "-q", "--onto", "HEAD~2", "HEAD~1")  # main without "bad commit", the claim kept
        git(seed, "push", "-q", "--force", "origin", "HEAD:main")
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "run_lm_eval", owners_rewrite_main_meanwhile)
    work = clone(remote, tmp_path / "w")
    assert [o.status for o in drain(_repo(work), work, _opts())] == [Status.finished]
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert "bad commit" not in subjects and subjects[0].startswith("evaluate: results for")
    assert "secret.txt" not in remote_files(remote, ".")
    assert remote_request(remote, rels[0]).status == Status.finished and len(remote_results(remote)) == 1
    # Only the runner's own files are in its commit.
    names = git(remote, "show", "--name-only", "--format=", "main").split()
    own = [n for n in names if not n.startswith("details/shared/")]  # the shared texts it added first
    assert len(own) == 3 and all(n.startswith(("requests/", "results/")) for n in own)


# -- details go to the store before the results are committed (#14 item 3) -------------------
@pytest.fixture(params=BACKENDS)
def runner_store(request: pytest.FixtureRequest, git_board, tmp_path: Path):
    """(remote, work clone, a store of this backend for it, a function that makes the store refuse)."""
    remote, seed = git_board
    publish_requests(seed, 1)
    work = clone(remote, tmp_path / "w")
    store, break_it = store_for(request.param, request, work, remote)
    return remote, work, store, break_it


@pytest.mark.slow
def test_details_are_uploaded_and_main_gets_results_naming_them_by_hash(runner_store, monkeypatch):
    remote, work, store, _break = runner_store
    # The evaluation runs offline, but the hf store's upload goes to the (fake) Hub on 127.0.0.1.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    outcomes = drain(_repo(work), work, _opts(store=store))
    assert [o.status for o in outcomes] == [Status.finished]
    assert not [f for f in remote_files(remote, "results") if f.endswith(".jsonl.gz")], "details landed on main"
    (res,) = remote_results(remote)
    data = store.get(details_key(res["details_sha256"]))
    assert sha256_hex(data) == res["details_sha256"]
    assert atomic.gzip.decompress(data).count(b"\n") >= 1  # the rows the evaluation wrote
    assert not list((work / "results").rglob("details_*")), "the uploaded file lingers in the work tree"


@pytest.mark.slow
def test_a_store_that_refuses_leaves_the_request_failed_and_nothing_committed(runner_store):
    remote, work, store, break_it = runner_store
    break_it()
    outcomes = drain(_repo(work), work, _opts(store=store))
    assert [o.status for o in outcomes] == [Status.failed]
    (rel,) = [o.request for o in outcomes]
    req = remote_request(remote, rel)
    assert req.status == Status.failed
    assert req.failure.error_class == "DetailsStoreError"
    assert store.describe() in req.failure.message
    assert remote_files(remote, "results") == []
