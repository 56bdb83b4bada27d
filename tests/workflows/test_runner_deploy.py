"""Ephemeral GPU runners: the actions-runner-controller values and the one-box JIT script.

The script runs for real against the fake GitHub API, with ``docker`` replaced by a stub
that records how it was called: one single-use JIT configuration per job, a fresh
``--rm`` container that gets only that configuration, and the runner-admin token never
on a command line or inside the container.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu-runner-jit.sh"
VALUES = ROOT / "deploy" / "arc" / "values.yaml"


def test_the_scale_set_is_ephemeral_scales_to_zero_and_shares_no_cache():
    values = yaml.safe_load(VALUES.read_text())
    assert values["minRunners"] == 0 and values["maxRunners"] >= 1
    assert values["runnerScaleSetName"] == "gpu" and values["runnerGroup"]
    spec = values["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert all(set(v) == {"name", "emptyDir"} for v in spec["volumes"]), "no volume outlives the pod"
    (runner,) = spec["containers"]
    assert not runner.get("env"), "no credential or shared cache path in the runner's environment"
    assert runner["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_jit_script_is_shellcheck_clean():
    proc = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def stub_docker(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.json"
    (bin_dir / "docker").write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"open({str(log)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], "
        "'jit': os.environ.get('ACTIONS_RUNNER_INPUT_JITCONFIG')}))\n"
    )
    (bin_dir / "docker").chmod(0o755)
    return bin_dir


def test_one_job_gets_a_fresh_container_with_a_single_use_config_and_no_token(fake_github, stub_docker, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-admin-token\n")
    env = {
        "PATH": f"{stub_docker}{os.pathsep}{os.environ['PATH']}",
        "SHLEPA_REPO": fake_github.repo,
        "SHLEPA_TOKEN_FILE": str(token_file),
        "SHLEPA_RUNNER_GROUP": "7",
        "SHLEPA_ONCE": "1",
        "GITHUB_API": fake_github.base_url,
    }
    proc = subprocess.run([shutil.which("bash") or "bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (request,) = fake_github.jit_requests
    assert request["runner_group_id"] == 7 and request["labels"] == ["gpu"]
    assert request["authorization"] == "Bearer s3cret-admin-token"
    docker = json.loads((tmp_path / "docker.json").read_text())
    argv = docker["argv"]
    assert argv[:2] == ["run", "--rm"] and "--cap-drop" in argv
    assert docker["jit"] == "aml0LTE="  # base64 of the fake's "jit-1": the container's only credential
    assert not any("s3cret" in a or "aml0LTE=" in a for a in argv), "nothing secret on docker's command line"


def test_the_jit_script_refuses_bad_settings(tmp_path):
    env = {"PATH": os.environ["PATH"], "SHLEPA_REPO": "no-slash", "SHLEPA_TOKEN_FILE": str(tmp_path / "t")}
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "SHLEPA_REPO must be owner/name" in proc.stderr
