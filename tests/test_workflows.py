"""Every workflow under .github/workflows passes actionlint and zizmor, and follows our safety rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
UNTRUSTED = re.compile(r"\$\{\{[^}]*(github\.event|github\.head_ref|inputs\.|env\.)[^}]*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is not installed (pip install -e '.[dev]')"
    return found


def _load(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # BaseLoader keeps 'on' a string key
    assert isinstance(data, dict), path
    return data


def test_there_are_workflows():
    assert WORKFLOWS


def test_actionlint_reports_nothing():
    proc = subprocess.run([_tool("actionlint"), *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_nothing():
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(ROOT / ".github" / "workflows")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_untrusted_expression_inside_run(path):
    for job_name, job in _load(path).get("jobs", {}).items():
        for step in job.get("steps", []):
            run = step.get("run", "")
            assert not UNTRUSTED.search(run), f"{path.name}: job {job_name}: pass values to run: through env:"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_top_level_permissions_are_set(path):
    assert "permissions" in _load(path), f"{path.name}: set top-level permissions"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_sha_and_checkouts_drop_credentials(path):
    for job in _load(path).get("jobs", {}).values():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert PINNED.match(uses), f"{path.name}: pin {uses} by commit sha"
            if uses and uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") == "false", path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_pr_triggered_jobs_never_run_on_self_hosted_runners(path):
    data = _load(path)
    on = data.get("on", {})
    triggers = {on} if isinstance(on, str) else set(on)
    if not triggers & {"pull_request", "pull_request_target"}:
        return
    for job_name, job in data.get("jobs", {}).items():
        assert "self-hosted" not in str(job.get("runs-on", "")), f"{path.name}: job {job_name} runs PR input on a self-hosted runner"


def test_validation_workflow_reads_pr_files_only_as_data():
    data = _load(ROOT / ".github/workflows/validate.yml")
    assert data["permissions"] == {"contents": "read"}
    assert "${{ secrets." not in (ROOT / ".github/workflows/validate.yml").read_text()
    steps = data["jobs"]["validate"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "./base" in runs and "./pr" not in runs and "pip install --quiet --no-deps ./base" in runs
    assert "--root pr --config base" in runs


def test_comment_workflow_never_checks_out_pr_code():
    data = _load(ROOT / ".github/workflows/comment.yml")
    assert set(data["on"]) == {"workflow_run"} and data["permissions"] == {}
    for job in data["jobs"].values():
        assert job["permissions"]["pull-requests"] == "write"
        assert "write" not in {v for k, v in job["permissions"].items() if k != "pull-requests"}
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert "ref" not in step.get("with", {}), "the comment workflow must check out the default branch only"
