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
