"""The workflow policy as functions, shared by the workflow tests.

``violations``: no expression inside ``run:``, no self-hosted job reachable from a pull
request, ``pull_request_target`` only in the gate and never near PR code.
``credential_violations``: no job on a self-hosted runner holds a write permission or
references a secret or the token, and every job that can write runs on a GitHub-hosted
runner. Both take parsed workflows, so the tests also run them on mutated copies and
on a modelled workflow a PR adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def load_workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on` as True
    return data


def runner_labels(job: dict[str, Any]) -> set[str]:
    runs_on = job.get("runs-on", [])
    if isinstance(runs_on, str):
        return {runs_on}
    return set(map(str, runs_on if isinstance(runs_on, list) else runs_on.get("labels", [])))


def is_self_hosted(job: dict[str, Any]) -> bool:
    labels = runner_labels(job)
    return bool(labels & SELF_HOSTED_LABELS) or any("${{" in lab for lab in labels)


def _writes(permissions: Any) -> list[str]:
    if permissions in ("write-all", "read-all"):
        return ["all scopes"] if permissions == "write-all" else []
    if not isinstance(permissions, dict):
        return []
    return sorted(k for k, v in permissions.items() if v == "write")


CREDENTIAL_WORDS = ("secrets.", "github.token", "GITHUB_TOKEN", "SHLEPA_GIT_TOKEN")
HOSTED = "ubuntu-latest"


def credential_violations(workflows: dict[str, dict[str, Any]]) -> list[str]:
    """What a GPU machine must never hold, and where anything that writes must run."""
    found = []
    for file, wf in workflows.items():
        top = wf.get("permissions")
        for name, job in (wf.get("jobs") or {}).items():
            if "uses" in job and "steps" not in job:
                continue  # a reusable workflow: its own jobs are checked in its file
            perms = job.get("permissions", top)
            text = yaml.safe_dump(job)
            if is_self_hosted(job):
                if perms is None:
                    found.append(
                        f"{file}: job {name} on a self-hosted runner sets no permissions (the default may write)"
                    )
                for scope in _writes(perms):
                    found.append(f"{file}: job {name} on a self-hosted runner may write {scope}")
                for word in CREDENTIAL_WORDS:
                    if word in text:
                        found.append(f"{file}: job {name} on a self-hosted runner references {word}")
                continue
            writes = _writes(perms) or [w for w in CREDENTIAL_WORDS[2:] if w in text]
            if writes and runner_labels(job) != {HOSTED}:
                found.append(
                    f"{file}: job {name} can write ({', '.join(writes)}) but runs on {sorted(runner_labels(job))}"
                )
    return found
