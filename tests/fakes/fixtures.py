"""pytest fixtures for the fakes: a running fake Hub / fake GitHub and an empty leaderboard repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_github import FakeGitHub
from .fake_hub import FakeHub
from .hub_models import populate


@pytest.fixture(scope="session")
def _fake_hub_server() -> Iterator[FakeHub]:
    hub = FakeHub()
    populate(hub)
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture
def fake_hub(_fake_hub_server: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake Hub with no outage, and a private HF cache so tests never share files."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_ENDPOINT", _fake_hub_server.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    _fake_hub_server.set_outage(None)
    _fake_hub_server.requests.clear()
    _fake_hub_server.ranges.clear()
    yield _fake_hub_server
    _fake_hub_server.set_outage(None)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    gh = FakeGitHub().start()
    yield gh
    gh.stop()


@pytest.fixture
def board(tmp_path: Path) -> Path:
    """An empty leaderboard repository (eval/suites + requests)."""
    root = tmp_path / "board"
    (root / "eval" / "suites").mkdir(parents=True)
    (root / "requests").mkdir()
    return root


class FakeS3:
    """moto's S3 server on 127.0.0.1 (a real HTTP S3 API), with a bucket made for the test."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False


@pytest.fixture
def fake_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeS3]:
    """A local S3 server with bucket ``details``; credentials set as a workflow would (env)."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    s3 = FakeS3()
    boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1").create_bucket(Bucket="details")
    yield s3
    s3.stop()
