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

import pytest

from support.workflow_policy import (
    ACTION_DIR,
    WF_DIR,
    load_actions,
    load_all,
    reachable_from_prs,
    violations,
)


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
