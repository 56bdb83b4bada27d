"""pass@k for HumanEval/MBPP: the unbiased estimator, the sandboxed run, and the bundled task's metric.

The attack tests run a "completion" that tries what model-written code did to the
runner (#15 item 6) and score it twice through the code-eval path: once against a
test that passes only when the attack succeeded, once against one that passes only
when it was blocked. Blocked reads ``[[False], [True]]``: the program ran to its end
in the sandbox and the attack failed; the unsandboxed scorer gave ``[[True], [False]]``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from shlepa.evaluation import sandbox
from shlepa.evaluation.codeeval import (
    CodeEvalDisabled,
    SandboxedCodeEval,
    SandboxUnavailable,
    compute_code_eval,
    estimate_pass_at_k,
    route_hf_code_eval,
)

REPO = Path(__file__).resolve().parents[2]
BOTH_WAYS = ["assert attack()", "assert attack() is False"]  # succeeded / blocked


@pytest.fixture
def allowed(monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")


def attack_outcome(candidate: str) -> list[list[bool]]:
    """Score a completion defining ``attack() -> bool`` (True: it got through) against both tests."""
    _, outcome = compute_code_eval(BOTH_WAYS, [[candidate], [candidate]], k=[1], timeout=10.0)
    return outcome


BLOCKED = [[False], [True]]


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 3, 1, 0.3),  # pass@1 = c / n
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 1, 10, 1.0),  # one correct among all 10 draws
        (10, 0, 10, 0.0),
        (20, 4, 10, 1 - 8008 / 184756),  # 1 - C(16,10)/C(20,10)
    ],
)
def test_unbiased_pass_at_k_matches_hand_values(n, c, k, expected):
    assert estimate_pass_at_k(n, c, k) == pytest.approx(expected)


def test_code_runs_only_when_allowed(monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeEvalDisabled, match="--allow-code-eval"):
        compute_code_eval(["assert True"], [["pass"]])


def test_pass_at_k_on_hand_made_candidates(monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    refs = ["assert add(2, 3) == 5", "assert sq(3) == 9"]
    preds = [
        ["def add(a, b): return a + b", "def add(a, b): return a * b"],  # 1 of 2 right
        ["def sq(x):\n    while True: pass", "import os\ndef sq(x): return x*x"],  # timeout, right
    ]
    scores, outcome = compute_code_eval(refs, preds, k=[1, 2], timeout=2.0)
    assert outcome == [[True, False], [False, True]]
    assert scores == {"pass@1": pytest.approx(0.5), "pass@2": pytest.approx(1.0)}


def test_programs_run_isolated_from_the_caller(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("SECRET_TOKEN", "x")
    refs = ["import os\nassert 'SECRET_TOKEN' not in os.environ\nassert os.listdir('.') == []"]
    scores, _ = compute_code_eval(refs, [["pass"]], k=[1])
    assert scores["pass@1"] == 1.0


def test_bundled_humaneval_scores_the_canonical_solution(monkeypatch):
    """The lm-eval task's own pipeline: build_predictions filter, then pass@1 on one real problem."""
    from lm_eval.tasks import TaskManager

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    task = TaskManager(include_path=str(REPO / "eval/tasks"), include_defaults=False).load(["shlepa_humaneval"])[
        "tasks"
    ]["shlepa_humaneval"]
    doc = json.loads((REPO / "eval/data/humaneval/test.jsonl").read_text().splitlines()[0])
    import sys
    from importlib import import_module

    sys.path.insert(0, str(REPO / "eval/tasks/humaneval"))
    try:
        utils = import_module("utils")
        good = utils.build_predictions([[doc["canonical_solution"]]], [doc])[0]
        bad = utils.build_predictions([["    return not True\n"]], [doc])[0]
    finally:
        sys.path.remove(str(REPO / "eval/tasks/humaneval"))
        sys.modules.pop("utils", None)
    assert task.process_results(doc, [good]) == {"pass@1": 1.0}
    assert task.process_results(doc, [bad]) == {"pass@1": 0.0}


def test_parent_environment_is_not_readable_through_proc(tmp_path):
    """A runner started with a token in its environment: the completion reads /proc/<ppid>/environ and every other."""
    candidate = textwrap.dedent(
        """
        import os
        def attack():
            seen = repr(dict(os.environ))
            for pid in {str(os.getppid()), *(p for p in os.listdir("/proc") if p.isdigit())}:
                try:
                    seen += open(f"/proc/{pid}/environ", "rb").read().decode()
                except OSError:
                    pass
            return "ghp_fake_write_token" in seen
        """
    )
    runner = (
        "import json, sys\n"
        "from shlepa.evaluation.codeeval import compute_code_eval\n"
        f"print(json.dumps(compute_code_eval({BOTH_WAYS!r}, [[sys.argv[1]], [sys.argv[1]]], k=[1])[1]))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO / "src"),
        "HF_ALLOW_CODE_EVAL": "1",
        "SECRET_TOKEN": "ghp_fake_write_token",
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", runner, candidate], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.splitlines()[-1]) == BLOCKED


def test_home_credentials_are_not_readable(allowed, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[http]\n\textraheader = "AUTHORIZATION: basic c2VjcmV0"\n')
    (home / ".git-credentials").write_text("https://x-access-token:ghp_fake_push@github.com\n")
    monkeypatch.setenv("HOME", str(home))
    candidate = textwrap.dedent(
        f"""
        import os
        def attack():
            found = ""
            for folder in ({str(home)!r}, os.path.expanduser("~"), "/root", "/home"):
                for name in (".gitconfig", ".git-credentials"):
                    try:
                        found += open(os.path.join(folder, name)).read()
                    except OSError:
                        pass
            return "c2VjcmV0" in found or "ghp_fake_push" in found
        """
    )
    assert attack_outcome(candidate) == BLOCKED


def test_checkout_results_folder_is_not_writable(allowed, tmp_path):
    results = tmp_path / "checkout" / "results" / "org" / "model"
    results.mkdir(parents=True)
    target = results / "results_2099-01-01T00-00-00.json"
    planted = repr(str(target))
    candidate = f"import os\nos.makedirs(os.path.dirname({planted}), exist_ok=True)\nopen({planted}, 'w').write('{{}}')"
    scores, _ = compute_code_eval(["pass"], [[candidate]], k=[1])
    assert scores == {"pass@1": 1.0}  # it ran and "wrote"; inside, that folder is an empty private /tmp
    assert list(results.iterdir()) == []


def test_no_network_not_even_the_hosts_loopback(allowed):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    port = listener.getsockname()[1]
    got: list[bytes] = []

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(conn.recv(100))

    thread = threading.Thread(target=accept)
    thread.start()
    candidate = textwrap.dedent(
        f"""
        import socket
        def attack():
            try:
                with socket.create_connection(("127.0.0.1", {port}), timeout=2) as s:
                    s.sendall(b"stolen")
                return True
            except OSError:
                return False
        """
    )
    try:
        assert attack_outcome(candidate) == BLOCKED
    finally:
        with socket.create_connection(("127.0.0.1", port)) as own:  # the listener was there all along
            own.sendall(b"host")
        thread.join()
        listener.close()
    assert got == [b"host"]


def _daemon_program(marker: str, then: str) -> str:
    """Double-fork a daemon (setsid) whose command line carries ``marker``, wait until it runs, then ``then``."""
    return (
        textwrap.dedent(
            f"""
        import os, sys, time
        r, w = os.pipe()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.write(w, b"x")
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {marker!r}])
            os._exit(0)
        os.read(r, 1)  # the grandchild is alive
        time.sleep(0.3)
        """
        )
        + then
    )


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.parametrize(
    ("then", "passes"),
    [("", True), ("while True:\n    pass\n", False)],
    ids=["exits-at-once", "runs-past-the-limit"],
)
def test_a_double_forked_daemon_dies_with_the_program(allowed, then, passes):
    marker = f"shlepa-daemon-{uuid.uuid4().hex}"
    scores, _ = compute_code_eval(["pass"], [[_daemon_program(marker, then)]], k=[1], timeout=3.0)
    assert scores == {"pass@1": 1.0 if passes else 0.0}
    deadline = time.monotonic() + 2
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []


def test_honest_code_scores_as_before(allowed):
    """All 100 bundled HumanEval problems: the canonical solution passes; a wrong body fails (first 20)."""
    docs = [json.loads(line) for line in (REPO / "eval/data/humaneval/test.jsonl").read_text().splitlines()]
    refs = [d["test"] + f"\ncheck({d['entry_point']})" for d in docs]
    good = [[d["prompt"] + d["canonical_solution"]] for d in docs]
    wrong = [[d["prompt"] + "    return None\n"] for d in docs[:20]]
    assert compute_code_eval(refs, good, k=[1])[0] == {"pass@1": 1.0}
    assert compute_code_eval(refs[:20], wrong, k=[1])[0] == {"pass@1": 0.0}


def test_the_program_is_run_as_given_under_limits(allowed):
    refs = ["pass", "pass", "pass"]
    preds = [
        ["from __future__ import annotations\ndef f(x: int) -> int: return x"],  # must stay the first line
        ["open('/tmp/big', 'wb').write(b'x' * (2 << 20))"],  # over the 1 MiB file limit
        ["x = bytearray(2 << 30)"],  # over the 1 GiB address space
    ]
    assert compute_code_eval(refs, preds, k=[1])[1] == [[True], [False], [False]]


@pytest.fixture
def no_probe_cache():
    sandbox._probe.cache_clear()
    yield
    sandbox._probe.cache_clear()


def test_fails_closed_without_bwrap(allowed, no_probe_cache, monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    planted = tmp_path / "ran"
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        compute_code_eval(["pass"], [[f"open({str(planted)!r}, 'w')"]], k=[1])
    assert not planted.exists()


def test_fails_closed_when_bwrap_cannot_make_namespaces(allowed, no_probe_cache, monkeypatch, tmp_path):
    """Ubuntu 24.04's AppArmor default: bwrap exists but cannot write its uid map."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: str(fake))
    with pytest.raises(SandboxUnavailable, match=r"uid map: Permission denied.*AppArmor"):
        compute_code_eval(["pass"], [["pass"]], k=[1])


def _load_stock_utils(task: str):
    from shlepa.evaluation import lm_eval_api

    path = lm_eval_api.stock_tasks_dir() / task / "utils.py"
    spec = importlib.util.spec_from_file_location(f"stock_{task}_utils", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # what lm-eval's `!function utils.pass_at_k` does
    return module


def test_stock_hub_humaneval_and_mbpp_score_through_the_same_sandbox(allowed, monkeypatch, tmp_path):
    """lm-eval's own humaneval/mbpp utils call evaluate.load("code_eval"): routed here, never the Hub metric."""
    (tmp_path / ".git-credentials").write_text("https://x:ghp_fake_push@github.com\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    route_hf_code_eval()
    humaneval, mbpp = _load_stock_utils("humaneval"), _load_stock_utils("mbpp")
    assert isinstance(humaneval.compute_, SandboxedCodeEval)
    assert isinstance(mbpp.pass_at_k, SandboxedCodeEval)
    steal = f"def attack():\n    try:\n        return 'ghp' in open({str(tmp_path / '.git-credentials')!r}).read()\n"
    steal += "    except OSError:\n        return False\n"
    assert humaneval.pass_at_k(BOTH_WAYS[:1], [[steal]], k=[1]) == {"pass@1": 0.0}
    assert humaneval.pass_at_k(BOTH_WAYS[1:], [[steal]], k=[1]) == {"pass@1": 1.0}
    assert mbpp.pass_at_1(BOTH_WAYS[0], [steal]) == 0.0
    assert mbpp.pass_at_1(BOTH_WAYS[1], [steal]) == 1.0
    import evaluate

    route_hf_code_eval()  # again, evaluate already imported: idempotent, every spelling routed
    assert all(isinstance(evaluate.load(n), SandboxedCodeEval) for n in ("code_eval", "evaluate-metric/code_eval"))
