"""Shared fixtures: tiny causal LMs built once per test session, offline.

Other test modules use ``tiny_model_dir`` / ``tiny_gpt2_dir`` wherever a real
Hugging Face model directory is needed (lm-eval runs, request validation, the
demo), without network access or a Hub cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shlepa.demo.tinymodels import make_tiny_model

from support.gitboard import GIT_ENV, PROJECT, git

# The fake Hub and fake GitHub servers live in tests/fakes.
pytest_plugins = ["fakes.fixtures"]

#: Training steps of the shared fixtures: enough to beat a random model, a second or two on CPU.
FIXTURE_TRAIN_STEPS = 20


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained tiny Llama model directory (safetensors, config, tokenizer)."""
    out = tmp_path_factory.mktemp("tiny-llama")
    return make_tiny_model(out, arch="llama", seed=0, train_steps=FIXTURE_TRAIN_STEPS)


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained tiny GPT-2 model directory (a second, differently shaped architecture)."""
    out = tmp_path_factory.mktemp("tiny-gpt2")
    return make_tiny_model(out, arch="gpt2", seed=0, train_steps=FIXTURE_TRAIN_STEPS)


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def board_root(tmp_path: Path) -> Path:
    """An empty leaderboard repository that shares this repository's suites and bundled tasks."""
    root = tmp_path / "board"
    root.mkdir()
    (root / "eval").symlink_to(REPO / "eval", target_is_directory=True)
    (root / "requests").mkdir()
    (root / "results").mkdir()
    return root


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("GITHUB_RUN_ID", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "RUNNER_NAME", "SHLEPA_GIT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return GIT_ENV


@pytest.fixture
def git_board(tmp_path: Path, git_env: dict[str, str]) -> tuple[Path, Path]:
    """(remote, seed clone): a leaderboard repo with the bundled suite and no requests yet."""
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copytree(PROJECT / "eval", seed / "eval")
    git(seed, "init", "--quiet", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "leaderboard")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(seed), str(remote))
    git(seed, "remote", "remove", "origin") if "origin" in git(seed, "remote") else None
    git(seed, "remote", "add", "origin", str(remote))
    git(seed, "fetch", "--quiet", "origin")
    git(seed, "branch", "--quiet", "--set-upstream-to=origin/main", "main")
    return remote, seed
