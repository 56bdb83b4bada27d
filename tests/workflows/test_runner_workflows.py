"""evaluate.yml / publish.yml: triggers, permissions, pins, and steps that are plain shlepa commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.config import SettingsError, load_settings

from support.gitboard import PROJECT, publish_requests

WF = PROJECT / ".github" / "workflows"


def _load(name: str) -> dict:
    data = yaml.safe_load((WF / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_evaluate_never_runs_for_pull_requests_and_drains_without_cancelling():
    wf = _load("evaluate.yml")
    assert set(wf["on"]) == {"push", "workflow_dispatch", "schedule"}
    assert wf["on"]["push"]["paths"] == ["requests/**"]
    assert wf["permissions"] == {}
    assert wf["concurrency"]["cancel-in-progress"] is False
    gpu = wf["jobs"]["evaluate"]
    assert gpu["runs-on"] == ["self-hosted", "gpu"] and gpu["permissions"] == {"contents": "read"}
    assert all("timeout-minutes" in job for job in wf["jobs"].values() if "steps" in job)


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_hosted_jobs_claim_and_publish_and_the_gpu_job_only_hands_over_files():
    """plan claims (hosted) -> evaluate --out (GPU, no token) -> artifact -> ingest (hosted) checks and commits."""
    jobs = _load("evaluate.yml")["jobs"]
    plan, gpu, ingest = jobs["plan"], jobs["evaluate"], jobs["ingest"]
    assert plan["runs-on"] == ingest["runs-on"] == "ubuntu-latest"
    assert 'shlepa plan-claims --wanted "$WANTED" >> "$GITHUB_OUTPUT"' in _runs(plan)
    assert gpu["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.claimed) }}"
    assert ingest["strategy"]["matrix"]["include"] == gpu["strategy"]["matrix"]["include"]
    assert '--out "$RUNNER_TEMP/handoff" --claim "$CLAIM"' in _runs(gpu)
    assert "--commit" not in _runs(gpu) and "--push" not in _runs(gpu) and "git " not in _runs(gpu)
    uploads = [s for s in gpu["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    downloads = [s for s in ingest["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert uploads[0]["with"]["name"] == downloads[0]["with"]["name"] == "handoff-${{ matrix.index }}"
    assert 'shlepa ingest "$RUNNER_TEMP/handoff" --request "$REQUEST" --claim "$CLAIM"' in _runs(ingest)
    # The claim the ingest job checks comes from the plan job's output, never from the artifact.
    env = next(s["env"] for s in ingest["steps"] if "shlepa ingest" in s.get("run", ""))
    assert env["CLAIM"] == "${{ matrix.claim }}" and ingest["needs"] == ["plan", "evaluate"]
    assert ingest["if"].startswith("always()")  # a failed GPU job still ends its request FAILED
    assert [s["uses"] for s in ingest["steps"] if "setup" in s.get("uses", "")] == ["$/.github/actions/setup"]


#: What the GPU job spends outside the request's own time limit: checkout, installing the eval
#: extras (torch), the isolated child's 10 s kill grace, writing and uploading the hand-off.
GPU_JOB_OVERHEAD_MINUTES = 30


def test_the_gpu_job_has_a_hard_request_limit_inside_its_timeout_and_below_the_sweep():
    """The request's limit fires first (FAILED with the reason), then the job's, then the sweep's."""
    gpu = _load("evaluate.yml")["jobs"]["evaluate"]
    command = next(s["run"] for s in gpu["steps"] if "shlepa evaluate" in s.get("run", ""))
    assert "--isolate" in command.split()  # a hard limit: the child's process group is killed
    runner = load_settings(PROJECT).runner
    job = gpu["timeout-minutes"]
    assert runner.request_timeout_minutes + GPU_JOB_OVERHEAD_MINUTES <= job < runner.stale_after_minutes


def test_the_ingest_job_uploads_results_main_refused():
    ingest = _load("evaluate.yml")["jobs"]["ingest"]
    assert '--log-dir "$RUNNER_TEMP/shlepa-logs"' in _runs(ingest)
    upload = next(s for s in ingest["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "${{ runner.temp }}/shlepa-logs"


def test_gpu_caches_are_per_job_under_runner_temp_never_home():
    jobs = _load("evaluate.yml")["jobs"]
    for name in ("evaluate", "split"):
        job = jobs[name]
        text = _runs(job)
        assert "$HOME" not in text and "~/" not in text, name
        assert '--cache-dir "$RUNNER_TEMP/lm-eval-cache"' in text, name
        step = next(s for s in job["steps"] if "shlepa evaluate" in s.get("run", ""))
        assert step["env"]["HF_HOME"] == "${{ runner.temp }}/hf-home", name
        assert step["env"]["XDG_CACHE_HOME"] == "${{ runner.temp }}/cache", name
        assert job["env"]["PIP_NO_CACHE_DIR"] == "1", name


def test_publish_has_only_the_pages_permissions():
    wf = _load("publish.yml")
    assert "workflow_call" in wf["on"] and "pull_request" not in wf["on"]
    assert wf["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write", "contents": "read"}
    assert wf["jobs"]["build"]["permissions"] == {"contents": "read"}


def test_publish_builds_the_site_in_memory_and_uploads_the_folder_it_built(tmp_path):
    """/dev/shm where the runner has it (creating ~26,000 folders on disk is most of a 10,000-model
    build), the runner's temp otherwise; the artifact step packs whichever folder the build used."""
    steps = _load("publish.yml")["jobs"]["build"]["steps"]
    build = next(s for s in steps if "shlepa build" in s.get("run", ""))
    assert 'out="/dev/shm/shlepa-site"' in build["run"] and 'out="$RUNNER_TEMP/site"' in build["run"]
    # The step's script as the runner runs it, with a `shlepa` that records its arguments.
    stub = tmp_path / "bin" / "shlepa"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$RUNNER_TEMP/args"\n')
    stub.chmod(0o755)
    env = {"PATH": f"{stub.parent}:/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path), "PAGES_URL": "https://o.github.io/n/"}
    env["GITHUB_OUTPUT"] = str(tmp_path / "output")
    subprocess.run(["bash", "-e", "-c", build["run"]], env=env, check=True)
    expected = "/dev/shm/shlepa-site" if os.access("/dev/shm", os.W_OK) else f"{tmp_path}/site"
    args = (tmp_path / "args").read_text().splitlines()
    assert args == ["build", "--out", expected, "--site-url", "https://o.github.io/n/"]
    assert (tmp_path / "output").read_text() == f"dir={expected}\n"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "${{ steps." + build["id"] + ".outputs.dir }}"


@pytest.mark.parametrize("name", ["evaluate.yml", "publish.yml", "ci.yml"])
def test_actions_are_pinned_by_sha_and_checkouts_keep_no_credentials(name):
    wf = _load(name)
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            if step.get("uses", "").endswith("/.github/actions/setup"):  # this repository's action
                assert step["uses"] in {"$/.github/actions/setup", "./.github/actions/setup"}, step["uses"]
            elif "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), f"{name}: expression inside run: {step['run']}"


# actionlint and zizmor run over every workflow in tests/test_workflows.py.


def test_matrix_plan_is_empty_without_pending_and_capped_by_settings(git_board):
    _, seed = git_board
    result = CliRunner().invoke(app, ["matrix-plan", "--root", str(seed)])
    assert result.output.strip() == "runners=[]"
    publish_requests(seed, 5)
    (seed / "leaderboard.yaml").write_text("runner:\n  max_runners: 3\n")
    assert CliRunner().invoke(app, ["matrix-plan", "--root", str(seed)]).output.strip() == "runners=[0,1,2]"
    assert (
        CliRunner().invoke(app, ["matrix-plan", "--wanted", "2", "--root", str(seed)]).output.strip() == "runners=[0,1]"
    )


def test_runner_settings_default_without_file_and_name_the_bad_field(tmp_path):
    assert load_settings(tmp_path).runner.stale_after_minutes == 720
    (tmp_path / "leaderboard.yaml").write_text("runner:\n  stale_after_minutes: soon\n")
    with pytest.raises(SettingsError, match=r"leaderboard.yaml: field 'runner.stale_after_minutes'"):
        load_settings(tmp_path)


def test_the_sweep_threshold_is_above_every_gpu_job_timeout():
    from shlepa.config import RunnerSettings, check_stale_after, gpu_job_timeouts

    timeouts = gpu_job_timeouts(PROJECT)
    assert set(timeouts) == {"evaluate", "split"}
    assert load_settings(PROJECT).runner.stale_after_minutes > max(timeouts.values())
    check_stale_after(PROJECT)  # the repository's own settings pass
    with pytest.raises(
        SettingsError,
        match=r"field 'runner.stale_after_minutes': 600 must be above the "
        r"'evaluate' job's timeout-minutes \(600",
    ):
        check_stale_after(PROJECT, RunnerSettings(stale_after_minutes=600))


def test_sweep_refuses_a_threshold_that_could_requeue_a_live_job(tmp_path: Path):
    (tmp_path / "eval" / "suites").mkdir(parents=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WF / "evaluate.yml", tmp_path / ".github" / "workflows" / "evaluate.yml")
    (tmp_path / "leaderboard.yaml").write_text("runner:\n  stale_after_minutes: 300\n")
    result = CliRunner().invoke(app, ["sweep", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "leaderboard.yaml: field 'runner.stale_after_minutes': 300 must be above" in result.output
    ok = CliRunner().invoke(app, ["sweep", "--root", str(tmp_path), "--stale-after-minutes", "601"])
    assert ok.exit_code == 0, ok.output


def test_the_split_path_evaluates_on_gpus_and_merges_without_a_gpu():
    wf = _load("evaluate.yml")
    assert "split" in wf["on"]["workflow_dispatch"]["inputs"]
    split, merge = wf["jobs"]["split"], wf["jobs"]["merge"]
    assert split["runs-on"] == ["self-hosted", "gpu"] and split["permissions"] == {"contents": "read"}
    assert merge["runs-on"] == "ubuntu-latest" and merge["permissions"] == {"contents": "write"}
    assert merge["needs"] == ["plan", "split"]
    runs = "\n".join(step.get("run", "") for job in (split, merge) for step in job["steps"])
    assert '--split "$PART/$SPLIT"' in runs and "shlepa merge-split" in runs
    assert '--claim "$CLAIM"' in runs  # the merge publishes only what this run's plan job claimed
    assert "${{" not in runs
    assert "merge" in wf["jobs"]["publish"]["needs"]
