"""Leaderboard settings from the committed ``leaderboard.yaml`` at the repository root.

One top-level :class:`Settings` with a sub-model per area, so other parts of the
project can add their own section without touching this one. A missing file means
every default; an unknown key or a bad value is an error naming the file and field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .runner_settings import SETTINGS_FILE, RunnerSettings
from .yamlio import YamlError, load_yaml, validation_message


DEFAULT_OPEN_LICENSES = [
    "apache-2.0",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc0-1.0",
    "openrail",
    "openrail++",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "gemma",
    "mpl-2.0",
    "gpl-3.0",
    "lgpl-3.0",
    "agpl-3.0",
    "afl-3.0",
    "artistic-2.0",
    "unlicense",
    "wtfpl",
    "odc-by",
]


class HubRetry(BaseModel):
    """How hard to try the Hub before saying "could not verify"."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(4, ge=1, le=20)
    base_delay_s: float = Field(1.0, ge=0, le=60)
    max_delay_s: float = Field(20.0, ge=0, le=600)
    timeout_s: float = Field(20.0, gt=0, le=600)


class ValidationSettings(BaseModel):
    """Rules a submission must follow (the Open LLM Leaderboard's, made configurable)."""

    model_config = ConfigDict(extra="forbid")

    open_licenses: list[str] = Field(default_factory=lambda: list(DEFAULT_OPEN_LICENSES))
    max_params_b: float = Field(140.0, gt=0)
    optout_orgs: list[str] = Field(default_factory=list)
    max_open_requests_per_submitter: int = Field(5, ge=1)
    min_card_chars: int = Field(200, ge=0)
    max_tokenizer_mb: float = Field(50.0, gt=0, description="largest config or tokenizer file parsed")
    hub_retry: HubRetry = Field(default_factory=HubRetry)

    def license_is_open(self, license: str) -> bool:
        return license.strip().lower() in {x.lower() for x in self.open_licenses}

    def is_opted_out(self, model_id: str) -> bool:
        org = model_id.split("/", 1)[0].lower()
        return org in {x.lower() for x in self.optout_orgs}


class Settings(BaseModel):
    """The whole ``leaderboard.yaml``; each area owns one section."""

    model_config = ConfigDict(extra="forbid")

    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)


class SettingsError(ValueError):
    """``leaderboard.yaml`` is unusable; the message names file, field and cause."""


def load_settings(root: Path) -> Settings:
    """Settings of the leaderboard at ``root``; defaults when the file is absent."""
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise SettingsError(str(exc)) from None
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(validation_message(path, exc)) from None


__all__ = ["HubRetry", "Settings", "SettingsError", "ValidationSettings", "load_settings"]
