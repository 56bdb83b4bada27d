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


def public_base(settings: DetailsSettings) -> str:
    """The URL the site's details browser reads a key under (``base + key``), without opening the
    store (the build needs no credentials): site-relative ``details/`` for the branch store,
    whose files the build copies into the site; absolute for hf and s3."""
    if settings.store == "hf":
        from shlepa.details.hf import hf_base_url

        assert settings.hf.repo is not None
        return hf_base_url(settings.hf.endpoint or environment().hf_endpoint, settings.hf.repo, settings.hf.revision)
    if settings.store == "s3":
        assert settings.s3.public_url is not None
        return settings.s3.public_url + settings.s3.prefix
    from shlepa.details.branch import SITE_FOLDER

    return SITE_FOLDER
