"""leaderboard.yaml: defaults when absent, errors naming file and field."""

import pytest

from shlepa.config import SettingsError, load_settings


def test_defaults_when_missing(tmp_path):
    v = load_settings(tmp_path).validation
    assert v.min_card_chars == 200 and v.license_is_open("Apache-2.0") and not v.license_is_open("other")


def test_values_and_errors(tmp_path):
    (tmp_path / "leaderboard.yaml").write_text("validation:\n  max_params_b: 10\n  optout_orgs: [Big]\n")
    v = load_settings(tmp_path).validation
    assert v.max_params_b == 10 and v.is_opted_out("big/model")
    (tmp_path / "leaderboard.yaml").write_text("validaton:\n  max_params_b: 10\n")  # a typo is not ignored
    with pytest.raises(SettingsError, match=r"leaderboard.yaml: field 'validaton': Extra inputs"):
        load_settings(tmp_path)
    (tmp_path / "leaderboard.yaml").write_text("validation:\n  max_params_b: -1\n")
    with pytest.raises(SettingsError, match=r"leaderboard.yaml: field 'validation.max_params_b'"):
        load_settings(tmp_path)


def test_runner_time_limit_and_attempts_default_and_name_the_bad_field(tmp_path):
    runner = load_settings(tmp_path).runner
    assert (runner.request_timeout_minutes, runner.max_attempts) == (360, 3)
    (tmp_path / "leaderboard.yaml").write_text("runner:\n  request_timeout_minutes: 0\n")
    with pytest.raises(SettingsError, match=r"leaderboard.yaml: field 'runner.request_timeout_minutes'"):
        load_settings(tmp_path)
    (tmp_path / "leaderboard.yaml").write_text("runner:\n  max_attempts: many\n")
    with pytest.raises(SettingsError, match=r"leaderboard.yaml: field 'runner.max_attempts'"):
        load_settings(tmp_path)


def test_the_repositorys_time_limit_ends_a_request_before_its_gpu_job_times_out():
    from pathlib import Path

    from shlepa.config import gpu_job_timeouts

    project = Path(__file__).resolve().parents[1]
    timeouts = gpu_job_timeouts(project)
    assert timeouts and load_settings(project).runner.request_timeout_minutes < min(timeouts.values())
