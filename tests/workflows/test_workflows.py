"""Every workflow under .github/workflows (and the setup action under .github/actions) passes actionlint
and zizmor, and follows our safety rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.y*ml"))
UNTRUSTED = re.compile(r"\$\{\{[^}]*(github\.event|github\.head_ref|inputs\.|env\.)[^}]*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# This repository's own actions and reusable workflows: $/ (the running commit), ./ (the
# checkout) or ./base/ (validate.yml's base-branch checkout); never the PR's ./pr/.
LOCAL = re.compile(r"^(\$/|\./|\./base/)\.github/(actions/[\w-]+|workflows/[\w-]+\.ya?ml)$")
SETUP = ".github/actions/setup"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Extras that pull torch/lm-eval: never installed by a job that handles PR data.
HEAVY_EXTRAS = {"eval", "dev", "vllm", "quant", "wandb"}
# Workflows whose jobs read a pull request's files or artifacts.
PR_DATA = ("validate.yml", "comment.yml", "gate.yml")


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is not installed (pip install -e '.[dev]')"
    return found


def _load(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # BaseLoader keeps 'on' a string key
    assert isinstance(data, dict), path
    return data


def _setup_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).endswith(SETUP)]


def _extras(step: dict[str, Any]) -> set[str]:
    return {e.strip() for e in step.get("with", {}).get("extras", "").split(",") if e.strip()}


def test_there_are_workflows():
    assert WORKFLOWS
    assert [p.parent.name for p in ACTIONS] == ["setup"]


def test_actionlint_reports_nothing():
    proc = subprocess.run([_tool("actionlint"), *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_nothing():
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            str(ROOT / ".github" / "workflows"),
            str(ROOT / ".github" / "actions"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_untrusted_expression_inside_run(path):
    for job_name, job in _load(path).get("jobs", {}).items():
        for step in job.get("steps", []):
            run = step.get("run", "")
            assert not UNTRUSTED.search(run), f"{path.name}: job {job_name}: pass values to run: through env:"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_no_expression_at_all_inside_the_actions_run(path):
    for step in _load(path)["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"{path}: pass inputs to run: through env:"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_top_level_permissions_are_set(path):
    assert "permissions" in _load(path), f"{path.name}: set top-level permissions"


def _all_steps(path: Path) -> list[dict[str, Any]]:
    data = _load(path)
    if "runs" in data:  # a composite action
        return list(data["runs"].get("steps", []))
    return [step for job in data.get("jobs", {}).values() for step in job.get("steps", [])]


@pytest.mark.parametrize(
    "path", WORKFLOWS + ACTIONS, ids=lambda p: p.name if p.parent.name == "workflows" else p.parent.name
)
def test_actions_are_pinned_by_sha_and_checkouts_drop_credentials(path):
    for step in _all_steps(path):
        uses = step.get("uses")
        if uses and uses.startswith(("./", "$/")):
            assert LOCAL.match(uses), f"{path.name}: {uses} is not one of this repository's actions"
        elif uses:
            assert PINNED.match(uses), f"{path.name}: pin {uses} by commit sha"
        if uses and uses.startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") == "false", path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_install_only_through_the_setup_action(path):
    """One install recipe: no hand-written pip list, no setup-python of its own."""
    inputs = set(_load(ACTIONS[0])["inputs"])
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for name, job in _load(path).get("jobs", {}).items():
        steps = job.get("steps", [])
        for step in steps:
            assert "pip install" not in step.get("run", ""), f"{path.name}: job {name}: install through {SETUP}"
            assert not str(step.get("uses", "")).startswith("actions/setup-python@"), f"{path.name}: job {name}"
        for step in _setup_steps(job):
            assert set(step.get("with", {})) <= inputs, f"{path.name}: job {name}: unknown input"
            assert _extras(step) <= extras, f"{path.name}: job {name}: no such extra in pyproject.toml"
        if any(re.search(r"(^|\s)shlepa\s", step.get("run", "")) for step in steps):
            assert len(_setup_steps(job)) == 1, f"{path.name}: job {name} runs shlepa without installing it"
        self_hosted = "self-hosted" in str(job.get("runs-on", ""))
        for step in _setup_steps(job):  # GPU runners reuse their CUDA torch; hosted ones get setup-python
            assert (step.get("with", {}).get("runner-python") == "true") == self_hosted, f"{path.name}: job {name}"


@pytest.mark.parametrize("name", PR_DATA)
def test_jobs_that_handle_pr_data_install_the_core_only(name):
    for job_name, job in _load(ROOT / ".github/workflows" / name)["jobs"].items():
        setup = _setup_steps(job)
        assert len(setup) == 1, f"{name}: job {job_name}"
        assert not _extras(setup[0]) & HEAVY_EXTRAS, f"{name}: job {job_name} installs {_extras(setup[0])}"
        assert setup[0].get("with", {}).get("cpu-torch", "false") == "false", f"{name}: job {job_name} installs torch"
        assert setup[0]["with"]["path"] == "base", f"{name}: job {job_name} must install the trusted checkout"


def test_the_setup_action_pins_python_and_installs_the_named_checkout():
    action = _load(ACTIONS[0])
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    setup_python = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert len(setup_python) == 1 and setup_python[0]["with"]["python-version"] == "3.11"
    install = [s for s in steps if "pip install" in s.get("run", "")]
    assert len(install) == 1 and install[0]["env"]["EXTRAS"] == "${{ inputs.extras }}"
    assert install[0]["env"]["SRC"] == "${{ inputs.path }}"
    assert action["inputs"]["extras"]["default"] == "" and action["inputs"]["path"]["default"] == "."


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_pr_triggered_jobs_never_run_on_self_hosted_runners(path):
    data = _load(path)
    on = data.get("on", {})
    triggers = {on} if isinstance(on, str) else set(on)
    if not triggers & {"pull_request", "pull_request_target"}:
        return
    for job_name, job in data.get("jobs", {}).items():
        assert "self-hosted" not in str(job.get("runs-on", "")), (
            f"{path.name}: job {job_name} runs PR input on a self-hosted runner"
        )


def test_validation_workflow_reads_pr_files_only_as_data():
    data = _load(ROOT / ".github/workflows/validate.yml")
    assert data["permissions"] == {"contents": "read"}
    assert "${{ secrets." not in (ROOT / ".github/workflows/validate.yml").read_text()
    steps = data["jobs"]["validate"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "./pr" not in runs and "pip" not in runs
    assert "--root pr --config base" in runs
    # The installer and what it installs both come from the base branch's checkout.
    assert [s["uses"] for s in _setup_steps(data["jobs"]["validate"])] == ["./base/.github/actions/setup"]
    assert not any("pr/" in s.get("uses", "") for s in steps)


def test_comment_workflow_never_checks_out_pr_code():
    data = _load(ROOT / ".github/workflows/comment.yml")
    assert set(data["on"]) == {"workflow_run"} and data["permissions"] == {}
    # Only the gate's own runs: a PR can add a workflow named "Merge gate", but not one that
    # runs as pull_request_target from .github/workflows/gate.yml (that is always the base's file).
    assert data["on"]["workflow_run"]["workflows"] == ["Merge gate"]
    condition = data["jobs"]["comment"]["if"]
    assert "github.event.workflow_run.event == 'pull_request_target'" in condition
    assert "github.event.workflow_run.path == '.github/workflows/gate.yml'" in condition
    for job in data["jobs"].values():
        assert job["permissions"]["pull-requests"] == "write"
        assert "write" not in {v for k, v in job["permissions"].items() if k != "pull-requests"}
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert "ref" not in step.get("with", {}), "the comment workflow must check out the default branch only"


@pytest.mark.parametrize("name", ["comment.yml", "gate.yml"])
def test_the_pr_facing_writers_are_clean_under_zizmors_pedantic_persona(name):
    """Documented permissions and a concurrency group: zizmor --persona pedantic has nothing to say."""
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            "--persona",
            "pedantic",
            str(ROOT / ".github/workflows" / name),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_gate_reads_the_pr_only_through_the_api_and_may_only_post_statuses():
    data = _load(ROOT / ".github/workflows/gate.yml")
    assert set(data["on"]) == {"pull_request_target"} and data["permissions"] == {}
    job = data["jobs"]["gate"]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["permissions"] == {"contents": "read", "pull-requests": "read", "statuses": "write"}
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert not {"ref", "repository"} & set(step["with"]), "the gate checks out main only"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'shlepa gate --root base --repo "$REPO" --pr "$PR_NUMBER"' in runs
    assert [s["uses"] for s in _setup_steps(job)] == ["$/.github/actions/setup"]
