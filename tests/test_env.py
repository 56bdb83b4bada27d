"""Environment variables are read in one place (shlepa.env), at call time."""

from __future__ import annotations

import ast
from pathlib import Path

from shlepa.env import Environment, environment

ROOT = Path(__file__).resolve().parents[1]
# Saving a variable's old value to restore it after setting it for lm-eval is not a setting.
RESTORES = {("src/shlepa/evaluation/run.py", "HF_ALLOW_CODE_EVAL")}


def _is_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _reads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if (f.attr == "get" and _is_environ(f.value)) or (
                f.attr == "getenv" and isinstance(f.value, ast.Name) and f.value.id == "os"
            ):
                arg = node.args[0] if node.args else None
                found.append((node.lineno, arg.value if isinstance(arg, ast.Constant) else "?"))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            found.append((node.lineno, getattr(node.slice, "value", "?")))
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            found.append((node.lineno, getattr(node.left, "value", "?")))
    return found


def test_src_reads_environment_variables_only_through_shlepa_env():
    stray = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel == "src/shlepa/env.py":
            continue
        for line, name in _reads(ast.parse(path.read_text())):
            if (rel, name) not in RESTORES:
                stray.append(f"{rel}:{line} reads {name}")
    assert not stray, "read these through shlepa.env.environment(): " + "; ".join(stray)


def test_settings_are_read_at_call_time_and_empty_means_unset(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t1")
    monkeypatch.setenv("RANK", "")
    monkeypatch.delenv("RUNNER_NAME", raising=False)
    env = environment()
    assert env.github_token == "t1" and env.rank == 0 and env.runner_name is None
    monkeypatch.setenv("GITHUB_TOKEN", "t2")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("SHLEPA_GIT_TOKEN", "")
    env = environment()
    assert env.github_token == "t2" and env.rank == 3 and env.shlepa_git_token is None


def test_names_are_exact_and_tokens_stay_out_of_reprs(monkeypatch):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.setenv("github_repository", "lower/case")
    monkeypatch.setenv("GITHUB_TOKEN", "secret-value")
    env = Environment()
    assert env.github_repository is None
    assert "secret-value" not in repr(env)


def test_the_run_url_and_runner_name_follow_the_actions_variables(monkeypatch):
    from shlepa.queue.runner import github_run_url, runner_name

    for key, value in {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "7",
        "GITHUB_RUN_ATTEMPT": "2",
        "RUNNER_NAME": "gpu-1",
    }.items():
        monkeypatch.setenv(key, value)
    assert github_run_url() == "https://github.com/o/r/actions/runs/7/attempts/2" and runner_name() == "gpu-1"
    monkeypatch.setenv("GITHUB_RUN_ID", "")
    monkeypatch.delenv("RUNNER_NAME")
    assert github_run_url() is None and runner_name()
