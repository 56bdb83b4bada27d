"""Workflow rules a hostile pull request must not be able to get around, checked on every workflow.

* no ``${{ }}`` expression at all inside ``run:`` (values go through ``env:``) or a
  github-script ``script:``, in the workflows and in the composite actions they use;
* no job on a self-hosted runner is reachable from ``pull_request`` /
  ``pull_request_target``, directly, through a reusable workflow (``uses:
  ./.github/workflows/...``) or through a ``workflow_run`` chain;
* ``pull_request_target`` is used only by the merge gate (``gate.yml``), which never
  checks out another ref or repository and uses no action from a checkout;
* actionlint and zizmor report nothing.

The checker is also run on mutated copies of the real workflows, so the test
shows it catches each kind of change it guards against.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WF_DIR = ROOT / ".github" / "workflows"
ACTION_DIR = ROOT / ".github" / "actions"
SELF_HOSTED_LABELS = {
    "self-hosted",
    *yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"]["labels"],
}
PR_TRIGGERS = {"pull_request", "pull_request_target"}
#: The one workflow allowed pull_request_target: the gate, which reads the PR only through the API.
TRUSTED_PR_TARGET = {"gate.yml"}


def load_all() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(WF_DIR.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text())
        data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on` as True
        out[path.name] = data
    return out


def load_actions() -> dict[str, dict[str, Any]]:
    return {str(p.relative_to(ROOT)): yaml.safe_load(p.read_text()) for p in sorted(ACTION_DIR.glob("*/action.y*ml"))}


def _triggers(wf: dict[str, Any]) -> set[str]:
    on = wf.get("on") or {}
    return {on} if isinstance(on, str) else set(on)


def reachable_from_prs(workflows: dict[str, dict[str, Any]]) -> set[str]:
    """Workflows a pull request can start: PR triggers, then workflow_run and workflow_call chains."""
    names = {wf.get("name", file): file for file, wf in workflows.items()}
    reached = {file for file, wf in workflows.items() if _triggers(wf) & PR_TRIGGERS}
    changed = True
    while changed:
        changed = False
        for file, wf in workflows.items():
            if file in reached:
                continue
            on = wf.get("on") or {}
            run = on.get("workflow_run") if isinstance(on, dict) else None
            if run and any(names.get(n) in reached for n in run.get("workflows", [])):
                reached.add(file)
                changed = True
        for file in list(reached):
            for job in workflows[file].get("jobs", {}).values():
                uses = str(job.get("uses", ""))
                if uses.startswith(("./.github/workflows/", "$/.github/workflows/")):
                    called = Path(uses).name
                    if called in workflows and called not in reached:
                        reached.add(called)
                        changed = True
    return reached


def _pr_target_violations(file: str, wf: dict[str, Any]) -> list[str]:
    """pull_request_target runs with the base's workflow and a write-capable token: never near PR code."""
    if file not in TRUSTED_PR_TARGET:
        return [f"{file}: uses pull_request_target"]
    found = []
    for name, job in wf.get("jobs", {}).items():
        for i, step in enumerate(job.get("steps", [])):
            uses = str(step.get("uses", ""))
            if uses.startswith("actions/checkout") and {"ref", "repository"} & set(step.get("with") or {}):
                found.append(f"{file}: job {name} step {i}: checks out another ref or repository")
            if uses.startswith("./"):
                found.append(f"{file}: job {name} step {i}: runs an action from a checkout ({uses})")
    return found


def violations(workflows: dict[str, dict[str, Any]], actions: dict[str, dict[str, Any]] | None = None) -> list[str]:
    found = []
    for file, action in (actions or {}).items():
        for i, step in enumerate((action.get("runs") or {}).get("steps", [])):
            if "${{" in str(step.get("run", "")):
                found.append(f"{file}: step {i}: expression inside run:")
    pr_reachable = reachable_from_prs(workflows)
    for file, wf in workflows.items():
        if "pull_request_target" in _triggers(wf):
            found += _pr_target_violations(file, wf)
        for name, job in wf.get("jobs", {}).items():
            runs_on = job.get("runs-on", [])
            labels = (
                {runs_on}
                if isinstance(runs_on, str)
                else set(map(str, runs_on if isinstance(runs_on, list) else runs_on.get("labels", [])))
            )
            if file in pr_reachable and (labels & SELF_HOSTED_LABELS or any("${{" in lab for lab in labels)):
                found.append(f"{file}: job {name} runs on {sorted(labels)} and is reachable from a pull request")
            for i, step in enumerate(job.get("steps", [])):
                if "${{" in str(step.get("run", "")):
                    found.append(f"{file}: job {name} step {i}: expression inside run:")
                if str(step.get("uses", "")).startswith("actions/github-script") and "${{" in str(
                    step.get("with", {}).get("script", "")
                ):
                    found.append(f"{file}: job {name} step {i}: expression inside a github-script script")
    return found


def test_real_workflows_follow_every_rule(capsys):
    workflows = load_all()
    assert set(workflows) >= {"validate.yml", "comment.yml", "evaluate.yml", "publish.yml", "ci.yml", "gate.yml"}
    assert load_actions() and violations(workflows, load_actions()) == []
    reach = reachable_from_prs(workflows)
    assert reach == {"validate.yml", "comment.yml", "ci.yml", "gate.yml"}
    runs = sum(1 for wf in workflows.values() for j in wf["jobs"].values() for s in j.get("steps", []) if "run" in s)
    with capsys.disabled():
        print(
            f"\n[hardening] workflows: {len(workflows)} files, {runs} run: steps, expressions inside run: 0; "
            f"reachable from pull requests: {sorted(reach)}, self-hosted jobs among them 0"
        )


MUTATIONS = {
    "expression in run": lambda w: w["validate.yml"]["jobs"]["validate"]["steps"].append(
        {"run": "echo ${{ github.event.pull_request.title }}"}
    ),
    "PR trigger on the GPU workflow": lambda w: w["evaluate.yml"]["on"].update({"pull_request": None}),
    "pull_request_target": lambda w: w["ci.yml"]["on"].update({"pull_request_target": None}),
    "the gate checks out the PR head": lambda w: w["gate.yml"]["jobs"]["gate"]["steps"][0]["with"].update(
        {"ref": "${{ github.event.pull_request.head.sha }}"}
    ),
    "the gate checks out the fork": lambda w: w["gate.yml"]["jobs"]["gate"]["steps"][0]["with"].update(
        {"repository": "${{ github.event.pull_request.head.repo.full_name }}"}
    ),
    "the gate runs an action from a checkout": lambda w: w["gate.yml"]["jobs"]["gate"]["steps"].append(
        {"uses": "./.github/actions/setup"}
    ),
    "self-hosted job in a PR workflow": lambda w: w["ci.yml"]["jobs"]["test"].update(
        {"runs-on": ["self-hosted", "gpu"]}
    ),
    "GPU label only": lambda w: w["validate.yml"]["jobs"]["validate"].update({"runs-on": "gpu"}),
    "runner from an expression": lambda w: w["ci.yml"]["jobs"]["test"].update({"runs-on": "${{ github.head_ref }}"}),
    "PR workflow calls the GPU workflow": lambda w: w["ci.yml"]["jobs"].update(
        {"chain": {"uses": "./.github/workflows/evaluate.yml"}}
    ),
    "workflow_run chain from validation": lambda w: w["evaluate.yml"]["on"].update(
        {"workflow_run": {"workflows": ["Validate submission"], "types": ["completed"]}}
    ),
    "github-script injection": lambda w: w["comment.yml"]["jobs"]["comment"]["steps"].append(
        {
            "uses": "actions/github-script@v7",
            "with": {"script": "core.info('${{ github.event.workflow_run.head_branch }}')"},
        }
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_the_checker_catches_each_dangerous_change(name):
    workflows = copy.deepcopy(load_all())
    MUTATIONS[name](workflows)
    assert violations(workflows), f"{name} was not caught"


def test_the_checker_catches_an_expression_in_the_setup_actions_run():
    actions = copy.deepcopy(load_actions())
    actions[".github/actions/setup/action.yml"]["runs"]["steps"].append(
        {"shell": "bash", "run": "pip install ./${{ inputs.path }}"}
    )
    assert violations(load_all(), actions)


def test_the_checker_follows_self_repository_calls():
    workflows = copy.deepcopy(load_all())
    workflows["ci.yml"]["jobs"]["chain"] = {"uses": "$/.github/workflows/evaluate.yml"}
    assert violations(workflows)


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is not installed (pip install -e '.[dev]')"
    return found


def test_actionlint_and_zizmor_are_clean(capsys):
    files = sorted(str(p) for p in WF_DIR.glob("*.y*ml"))
    lint = subprocess.run([_tool("actionlint"), *files], capture_output=True, text=True)
    ziz = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(WF_DIR), str(ACTION_DIR)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert ziz.returncode == 0, ziz.stdout + ziz.stderr
    with capsys.disabled():
        print(f"\n[hardening] workflows: actionlint findings 0, zizmor findings 0 ({len(files)} files)")
