"""No credential on a GPU machine, and every job that writes runs on a GitHub-hosted runner.

The GPU machine runs untrusted artifacts (weights, tokenizer, chat template, generated
code), so its jobs must hold nothing worth stealing: no write permission, no secret, no
token. The check runs over the real workflows, over mutated copies (each mutation is
caught), and over a modelled workflow a PR adds (``fixtures/pr_added_gpu.yml``).

What this test cannot do: a workflow added by a PR runs from the PR's merge commit, so no
check in this repository stops it from running. The real defence is on GitHub's side and
is documented in SECURITY.md: the GPU runners sit in a runner group limited to
"selected workflows: .github/workflows/evaluate.yml@refs/heads/main", and they are
ephemeral (one job, then the machine is gone), so even a job that got on one would find
no credential and leave nothing behind for the next.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from support.workflow_policy import credential_violations, load_all, load_workflow, violations

FIXTURE = Path(__file__).parent / "fixtures" / "pr_added_gpu.yml"


def test_the_real_workflows_hold_no_credential_on_gpu_machines():
    workflows = load_all()
    assert credential_violations(workflows) == []
    gpu_jobs = [
        (f, n) for f, wf in workflows.items() for n, j in wf["jobs"].items() if "gpu" in str(j.get("runs-on", ""))
    ]
    assert sorted(gpu_jobs) == [("evaluate.yml", "evaluate"), ("evaluate.yml", "split")]
    for file, name in gpu_jobs:
        assert workflows[file]["jobs"][name]["permissions"] == {"contents": "read"}


def test_the_modelled_pr_added_workflow_is_flagged_for_everything_it_tries():
    workflows = {**load_all(), "pr_added_gpu.yml": load_workflow(FIXTURE)}
    found = credential_violations(workflows) + violations(workflows)
    flagged = [f for f in found if f.startswith("pr_added_gpu.yml")]
    assert "pr_added_gpu.yml: job lint on a self-hosted runner may write contents" in flagged
    assert "pr_added_gpu.yml: job lint on a self-hosted runner references secrets." in flagged
    assert "pr_added_gpu.yml: job poison on a self-hosted runner may write all scopes" in flagged
    assert any("job lint runs on ['gpu', 'self-hosted'] and is reachable from a pull request" in f for f in flagged)
    assert any("job poison runs on ['gpu'] and is reachable from a pull request" in f for f in flagged)
    assert not [f for f in found if not f.startswith("pr_added_gpu.yml")]  # the real ones stay clean


MUTATIONS = {
    "GPU job may push": lambda w: w["evaluate.yml"]["jobs"]["evaluate"].update({"permissions": {"contents": "write"}}),
    "GPU job gets the push token": lambda w: w["evaluate.yml"]["jobs"]["evaluate"]["steps"][2]["env"].update(
        {"SHLEPA_GIT_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    ),
    "GPU job gets a Hub key": lambda w: w["evaluate.yml"]["jobs"]["split"]["steps"][2]["env"].update(
        {"HF_TOKEN": "${{ secrets.HF_WRITE_TOKEN }}"}
    ),
    "GPU job reads github.token": lambda w: w["evaluate.yml"]["jobs"]["evaluate"]["steps"][0]["with"].update(
        {"token": "${{ github.token }}"}
    ),
    "GPU job inherits the repository's default permissions": lambda w: (
        w["evaluate.yml"].pop("permissions"),
        w["evaluate.yml"]["jobs"]["split"].pop("permissions"),
    ),
    "the ingest job moves to the GPU": lambda w: w["evaluate.yml"]["jobs"]["ingest"].update(
        {"runs-on": ["self-hosted", "gpu"]}
    ),
    "a writing job on another hosted image": lambda w: w["evaluate.yml"]["jobs"]["plan"].update(
        {"runs-on": "windows-latest"}
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_the_credential_check_catches_each_mutation(name):
    workflows = copy.deepcopy(load_all())
    MUTATIONS[name](workflows)
    assert credential_violations(workflows), f"{name} was not caught"
