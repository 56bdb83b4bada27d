"""Suites name the lm-eval release their scores are comparable under."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from shlepa.records.suite import SuiteError, available_suites, load_suite

ROOT = Path(__file__).resolve().parents[2]


def _pinned_lm_eval() -> str:
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [r for r in optional["eval"] if r.startswith("lm-eval")]
    return pin.split("==")[1]


@pytest.mark.parametrize("name", available_suites(ROOT))
def test_every_suite_pins_the_lm_eval_release_pyproject_installs(name: str) -> None:
    assert load_suite(name, ROOT).lm_eval_version == _pinned_lm_eval()


def test_a_malformed_release_is_refused_naming_the_field(tmp_path: Path) -> None:
    text = (ROOT / "eval" / "suites" / "open_llm_v1.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(re.sub(r"(?m)^lm_eval_version: .*$", 'lm_eval_version: "latest"', text))
    with pytest.raises(SuiteError, match="lm_eval_version"):
        load_suite(bad, ROOT)
