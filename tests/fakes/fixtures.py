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
