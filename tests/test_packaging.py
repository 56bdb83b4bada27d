"""pyproject.toml declares what src/ imports, ships files that exist, and keeps the CLI light.

The PR-triggered workflows install the core dependencies only, so the CLI must start
without torch, lm-eval or transformers (they are imported inside evaluation code).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Import name -> distribution name, where the two differ beyond "_" vs "-".
DISTRIBUTION = {
    "yaml": "pyyaml",
    "github": "pygithub",
    "material": "mkdocs-material",
}
# Never imported when the CLI starts (extras, or heavy): importing any of them at
# module level of a CLI path would break the core-only installs of the PR workflows.
HEAVY = {
    "torch",
    "lm_eval",
    "transformers",
    "tokenizers",
    "safetensors",
    "accelerate",
    "pandas",
    "mkdocs",
    "wandb",
    "vllm",
    "bitsandbytes",
}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared() -> dict[str, set[str]]:
    """Distribution name -> the groups declaring it ("core" or an extra's name)."""
    project = PYPROJECT["project"]
    groups = {"core": project["dependencies"], **project.get("optional-dependencies", {})}
    out: dict[str, set[str]] = {}
    for group, reqs in groups.items():
        for req in reqs:
            out.setdefault(_name(req), set()).add(group)
    return out


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module name -> files importing it (also lazily, inside functions)."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "shlepa" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared():
    declared = _declared()
    imports = _third_party_imports()
    assert {"pydantic", "yaml", "httpx2", "lm_eval", "torch"} <= set(imports)  # the walk sees lazy imports too
    missing = {
        mod: sorted(files) for mod, files in imports.items() if _name(DISTRIBUTION.get(mod, mod)) not in declared
    }
    assert not missing, f"imported by src/ but not declared in pyproject.toml: {missing}"


def test_the_core_needs_no_evaluation_stack():
    declared = _declared()
    for dist in ("torch", "lm-eval", "accelerate", "mkdocs", "mkdocs-material"):
        assert "core" not in declared.get(dist, set()), f"{dist} belongs in an extra, not the core"
    assert {"eval", "site"} <= set(PYPROJECT["project"]["optional-dependencies"])


def test_lm_eval_is_pinned_and_majors_are_bounded():
    reqs = [
        r
        for group in (PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"].values())
        for r in group
    ]
    by_name = {_name(r): r.replace(" ", "") for r in reqs}
    assert re.fullmatch(r"lm-eval==\d+(\.\d+)+", by_name["lm-eval"]), by_name["lm-eval"]
    assert "<" in by_name["transformers"] and "<2" in by_name["mkdocs"]


def test_package_data_names_only_files_that_exist():
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert package_data
    for package, patterns in package_data.items():
        base = SRC.joinpath(*package.split("."))
        for pattern in patterns:
            assert [p for p in base.glob(pattern) if p.is_file()], (
                f"package-data {package}: {pattern!r} matches no file"
            )
    templates = SRC / "shlepa" / "site" / "templates"
    shipped = {p for pattern in package_data["shlepa"] for p in (SRC / "shlepa").glob(pattern)}
    assert set(templates.glob("*.j2")) <= shipped  # every template is in the wheel


# Blocks the heavy modules as if they were not installed, then starts the CLI.
_PROBE = """
import importlib.abc, sys
HEAVY = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
import shlepa.cli
loaded = sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
assert not loaded, loaded
sys.argv = ["shlepa", *sys.argv[2:]]
try:
    shlepa.cli.app()
except SystemExit as exc:
    sys.exit(exc.code)
"""


@pytest.mark.parametrize(
    "command",
    [[], ["validate", "--help"], ["build", "--help"], ["pr-comment", "--help"], ["sweep", "--help"]],
    ids=lambda c: " ".join(c) or "import",
)
def test_the_cli_starts_without_the_heavy_libraries(command):
    args = command or ["--help"]
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(sorted(HEAVY)), *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Usage" in proc.stdout
