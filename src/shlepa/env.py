"""Every environment variable shlepa reads, in one model.

Read through :func:`environment` at call time (never cached at import), so a test's
``monkeypatch.setenv`` or a workflow's ``env:`` is seen by the next call. Empty values
count as unset, as the ``os.environ.get(...) or None`` reads this replaces did.
Variables only *set* for child processes (``HF_ALLOW_CODE_EVAL`` around lm-eval,
``GIT_*`` for git) are written where they are used.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(BaseSettings):
    """The process environment shlepa reads; names are the exact variable names."""

    # Case-sensitive, no prefix, no .env file: only the variables named here, as spelled.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    # GitHub Actions sets these on every runner; they name the run in request files.
    github_server_url: str | None = Field(None, validation_alias="GITHUB_SERVER_URL")
    github_repository: str | None = Field(None, validation_alias="GITHUB_REPOSITORY")
    github_run_id: str | None = Field(None, validation_alias="GITHUB_RUN_ID")
    github_run_attempt: str | None = Field(None, validation_alias="GITHUB_RUN_ATTEMPT")
    runner_name: str | None = Field(None, validation_alias="RUNNER_NAME")
    # Tokens: the comment/PR commands use GITHUB_TOKEN; pushes use SHLEPA_GIT_TOKEN.
    github_token: str | None = Field(None, validation_alias="GITHUB_TOKEN", repr=False)
    shlepa_git_token: str | None = Field(None, validation_alias="SHLEPA_GIT_TOKEN", repr=False)
    # The Hub endpoint huggingface_hub also honours (tests point it at a fake Hub).
    hf_endpoint: str | None = Field(None, validation_alias="HF_ENDPOINT")
    # Details store credentials (leaderboard.yaml `details:` names the store, never a secret).
    # HF_TOKEN is huggingface_hub's own variable; the S3 keys are boto3's standard names.
    hf_token: str | None = Field(None, validation_alias="HF_TOKEN", repr=False)
    aws_access_key_id: str | None = Field(None, validation_alias="AWS_ACCESS_KEY_ID", repr=False)
    aws_secret_access_key: str | None = Field(None, validation_alias="AWS_SECRET_ACCESS_KEY", repr=False)
    aws_session_token: str | None = Field(None, validation_alias="AWS_SESSION_TOKEN", repr=False)
    # lm-eval's opt-in for running generated code; codeeval refuses without it.
    hf_allow_code_eval: str | None = Field(None, validation_alias="HF_ALLOW_CODE_EVAL")
    # The lock file (requirements/*.txt) this environment was installed from: the Makefile
    # and the setup action set it; each results file records its hash (evaluation.versions.lock).
    shlepa_lock: str | None = Field(None, validation_alias="SHLEPA_LOCK")
    # Process rank under `accelerate launch`/torchrun; only rank 0 writes files.
    rank: int = Field(0, validation_alias="RANK")


def environment() -> Environment:
    """The environment as it is now (a fresh read on every call)."""
    return Environment()


__all__ = ["Environment", "environment"]
