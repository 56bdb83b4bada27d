"""The store leaderboard.yaml chooses, opened with the credentials of the environment."""

from __future__ import annotations

from pathlib import Path

from shlepa.config import DetailsSettings
from shlepa.details.store import DetailsStore
from shlepa.env import environment


def open_store(settings: DetailsSettings, root: Path) -> DetailsStore:
    """The store leaderboard.yaml chooses; credentials come from the environment (``shlepa.env``)."""
    env = environment()
    if settings.store == "hf":
        from shlepa.details.hf import HfStore

        assert settings.hf.repo is not None  # DetailsSettings checks it
        return HfStore(
            settings.hf.repo,
            revision=settings.hf.revision,
            endpoint=settings.hf.endpoint or env.hf_endpoint,
            token=env.hf_token,
        )
    if settings.store == "s3":
        from shlepa.details.s3 import S3Store

        s3 = settings.s3
        assert s3.bucket is not None and s3.public_url is not None
        return S3Store(
            s3.bucket,
            public_url=s3.public_url,
            prefix=s3.prefix,
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key_id=env.aws_access_key_id,
            secret_access_key=env.aws_secret_access_key,
            session_token=env.aws_session_token,
        )
    from shlepa.details.branch import BranchStore

    return BranchStore(
        Path(root), branch=settings.branch.name, remote=settings.branch.remote, token=env.shlepa_git_token
    )
