"""Runners under load and dying: concurrent pushes and SIGKILL at random moments, on a real bare remote.

Workers are real processes running ``python -m shlepa evaluate --next --commit
--push`` with lm-eval's ``dummy`` backend on the bundled suite (one benchmark, one
item): the queue and git machinery is what is under test, with a real lm-eval run
and lm-eval's real sqlite request cache. Figures are printed with the test output.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from shlepa.io.yaml import load_yaml_text
from shlepa.queue.git import GitRepo
from shlepa.queue.store import sweep
from shlepa.records.keys import details_key
from shlepa.records.request import Status, parse_request
from shlepa.records.results import load_results

from support.gitboard import GIT_ENV, PROJECT, clone, git, publish_requests

FAST = ["--data", "bundled", "--backend", "dummy", "--benchmark", "arc", "--limit", "1"]
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {
        **os.environ,
        **GIT_ENV,
        "PYTHONPATH": str(PROJECT / "src"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _worker(work: Path, runner: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "shlepa",
        "evaluate",
        "--next",
        "--commit",
        "--push",
        *FAST,
        "--runner",
        runner,
        "--root",
        str(work),
        *extra,
    ]


def remote_state(remote: Path, rels: list[Path]) -> tuple[dict[Path, object], list[str], list[str]]:
    """(request -> parsed request on main, results json files on main, keys on the details branch).

    The runners' default details store is the ``details`` branch: no details file lands on main."""
    requests = {r: parse_request(load_yaml_text(git(remote, "show", f"main:{r}"), str(r)), r) for r in rels}
    files = git(remote, "ls-tree", "-r", "--name-only", "main", "--", "results").split()
    assert not [f for f in files if f.endswith(".jsonl.gz")], "details landed on main"
    has_branch = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "details"], cwd=remote).returncode == 0
    details = git(remote, "ls-tree", "-r", "--name-only", "details").split() if has_branch else []
    return (requests, [f for f in files if f.endswith(".json")], details)


def check_results_on_main(remote: Path, tmp: Path, results: list[str], details: list[str]) -> Counter:
    """Every results file on main is complete (parses, its details on the details branch); returns keys counted."""
    export = tmp / "export"
    export.mkdir(exist_ok=True)
    keys: Counter = Counter()
    for f in results:
        path = export / f
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            subprocess.run(["git", "show", f"main:{f}"], cwd=remote, capture_output=True, check=True).stdout
        )
        res = load_results(path)  # raises on a partial or broken file
        keys[res.key] += 1
        assert res.details_sha256 and details_key(res.details_sha256) in details, f"{f}: its details are missing"
    return keys


def test_four_workers_push_sixteen_results_concurrently(git_board, tmp_path, capsys):
    remote, seed = git_board
    rels = publish_requests(seed, 16)
    t0 = time.perf_counter()
    procs = []
    for i in range(4):
        work = clone(remote, tmp_path / f"runner{i}")
        procs.append(
            subprocess.Popen(
                _worker(work, f"runner{i}"),
                cwd=work,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=900) for p in procs]
    wall = time.perf_counter() - t0
    for p, (_out, err) in zip(procs, outputs, strict=False):
        assert p.returncode == 0, err[-3000:]

    per_worker = [sum(line.startswith("FINISHED\t") for line in out.splitlines()) for out, _ in outputs]
    requests, results, details = remote_state(remote, rels)
    keys = check_results_on_main(remote, tmp_path, results, details)
    finals = Counter(r.status for r in requests.values())
    assert finals == Counter({Status.finished: 16})
    assert sum(per_worker) == 16
    assert len(keys) == 16 and set(keys.values()) == {1}  # zero lost, zero duplicated
    for req in requests.values():  # exactly one claim and one final state each
        assert [h.status for h in req.history] == [Status.pending, Status.running, Status.finished]
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""
    with capsys.disabled():
        print(
            f"\n[hardening] concurrency: 4 workers, 16 requests: results on main {len(results)}, lost 0, "
            f"duplicated 0, final FINISHED {finals[Status.finished]}/16, per worker {per_worker}, "
            f"wall {wall:.1f} s"
        )


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        try:
            return con.execute("select count(*) from unnamed").fetchone()[0]
        except sqlite3.Error:
            return 0


def _wait_for_cache_rows(proc: subprocess.Popen, cache: Path, timeout: float) -> float:
    """Seconds until some cache database of this run gained rows (0 when the run ends first)."""
    before = {p.name: _rows(p) for p in cache.glob("*.db")} if cache.exists() else {}
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout and proc.poll() is None:
        if cache.exists() and any(_rows(p) > before.get(p.name, 0) for p in cache.glob("*.db")):
            return 0.001
        time.sleep(0.2)
    return 0.001 if proc.poll() is None else 0.0


def _cache_hits(log_text: str) -> int:
    return sum(int(n) for n in re.findall(r"Cached requests: (\d+)", log_text))


def test_twenty_evaluations_killed_with_sigkill_then_sweep_and_rerun(git_board, tmp_path, capsys):
    remote, seed = git_board
    # More requests than kills: on a fast machine some runs end before their kill time
    # and take a request with them; the sweep and the rerun drain the rest.
    rels = publish_requests(seed, 32)
    rng = random.Random(8)
    cache = tmp_path / "cache"  # the runner's lm-eval cache lives outside the checkout and survives a kill
    kills: list[float] = []
    finished_before_kill = 0
    attempts = 0
    t0 = time.perf_counter()
    while len(kills) < 20 and attempts < 60:
        attempts += 1
        # Each job gets a fresh checkout, as actions/checkout gives a self-hosted runner.
        work = clone(remote, tmp_path / f"job{attempts}")
        cmd = _worker(
            work,
            f"doomed{attempts}",
            "--max-requests",
            "1",
            "--cache-dir",
            str(cache),
            "--log-dir",
            str(tmp_path / "logs-killed"),
        )
        proc = subprocess.Popen(
            cmd, cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        if attempts % 4 == 0:
            # Every fourth job dies mid-evaluation, once its cache holds rows, whatever the
            # machine's load: the rerun must then answer those rows from the cache.
            delay = _wait_for_cache_rows(proc, cache, timeout=240.0)
        else:
            delay = rng.uniform(0.3, 6.0)
        try:
            proc.wait(timeout=delay)
            finished_before_kill += 1
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole job: worker and any git child
            proc.wait()
            kills.append(delay)
    assert len(kills) == 20
    requests, _, _ = remote_state(remote, rels)
    stuck = [r for r, req in requests.items() if req.status == Status.running]
    cached_before = {p.name: _rows(p) for p in cache.glob("*.db")} if cache.exists() else {}

    # The sweep (stale timeout 0: every RUNNING request's runner is dead) and one rerun that drains the queue.
    sweeper = clone(remote, tmp_path / "sweeper")
    swept = sweep(sweeper, timedelta(0), repo=GitRepo(sweeper, backoff_s=0.0, sleep=lambda s: None))
    assert sorted(map(str, swept)) == sorted(map(str, stuck))
    work = clone(remote, tmp_path / "rerun")
    rerun = subprocess.run(
        _worker(work, "survivor", "--cache-dir", str(cache), "--log-dir", str(tmp_path / "logs-rerun")),
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    wall = time.perf_counter() - t0

    requests, results, details = remote_state(remote, rels)
    finals = Counter(r.status for r in requests.values())
    assert set(finals) <= {Status.finished, Status.failed}, finals
    keys = check_results_on_main(remote, tmp_path, results, details)  # no partial results file on main
    finished = {req.key for req in requests.values() if req.status == Status.finished}
    assert set(keys) == finished and set(keys.values()) == {1}
    assert git(remote, "log", "--merges", "--format=%H", "main").strip() == ""

    # Resumed runs reuse the cache: a killed request whose cache had rows was answered from it on the rerun.
    reused = 0
    for rel in stuck:
        req = requests[rel]
        rows = cached_before.get(f"{req.org}__{req.name}__{req.revision}__{req.precision.value}_rank0.db", 0)
        log = next((tmp_path / "logs-rerun").glob(f"{req.org}__{req.name}__*.log"), None)
        if rows and req.status == Status.finished:
            assert log is not None and _cache_hits(log.read_text()) >= rows, f"{rel}: rerun ignored its cache"
            reused += 1
    assert reused > 0, "no killed run had written its cache: the kills came too early"
    with capsys.disabled():
        print(
            f"\n[hardening] SIGKILL: {len(kills)} evaluations killed at random moments "
            f"({min(kills):.1f}-{max(kills):.1f} s after start; {finished_before_kill} other runs finished before "
            f"their kill time), {len(stuck)} left RUNNING, swept {len(swept)}, one rerun drained the rest"
        )
        print(
            f"[hardening] SIGKILL: final FINISHED {finals[Status.finished]}, FAILED {finals[Status.failed]}, "
            f"other 0 of {len(rels)}; results on main {len(results)} (all complete, none partial, none duplicated); "
            f"killed runs resumed from their lm-eval cache {reused} (of {sum(1 for n in cached_before.values() if n)}"
            f" caches with rows); wall {wall:.0f} s"
        )
