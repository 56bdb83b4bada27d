"""Dependabot keeps the pinned stack current: GitHub Actions (by commit sha) and pip (the locks)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".github" / "dependabot.yml"


def _updates() -> dict[str, dict]:
    data = yaml.safe_load(CONFIG.read_text())
    assert data["version"] == 2
    by_ecosystem = {u["package-ecosystem"]: u for u in data["updates"]}
    assert len(by_ecosystem) == len(data["updates"]), "one entry per ecosystem"
    return by_ecosystem


def test_the_config_covers_github_actions_and_pip_weekly() -> None:
    updates = _updates()
    assert set(updates) == {"github-actions", "pip"}
    for entry in updates.values():
        assert entry["schedule"]["interval"] in {"daily", "weekly"}


def test_the_actions_entry_scans_the_workflows_and_the_shared_setup_action() -> None:
    actions = _updates()["github-actions"]
    folders = actions.get("directories") or [actions["directory"]]
    assert "/" in folders  # .github/workflows
    setup = ROOT / ".github" / "actions" / "setup"
    assert any(Path(ROOT, f.lstrip("/")) == setup or f == "/.github/actions/*" for f in folders)


def test_the_pip_entry_reads_the_folder_of_pyproject_and_the_locks() -> None:
    pip = _updates()["pip"]
    assert pip["directory"] == "/"
    assert (ROOT / "pyproject.toml").is_file()
    ignored = {i["dependency-name"] for i in pip.get("ignore", [])}
    # torch (the CPU build of a separate index) and lm-eval (scores move) are bumped by hand.
    assert ignored == {"torch", "lm-eval"}
