"""The package's shape: imports go only downwards (docs/architecture.md), and never round in a circle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]


def test_imports_follow_the_layers_of_the_pipeline() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(lint), "--config", str(REPO / ".importlinter"), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_no_module_imports_itself_through_others() -> None:
    # Annotations-only imports (under TYPE_CHECKING) never run, so they cannot loop.
    graph = grimp.build_graph("shlepa", cache_dir=None, exclude_type_checking_imports=True)
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert not cycles, f"import cycles (module -> a module that leads back to it): {cycles}"


def test_at_most_six_modules_at_the_package_root() -> None:
    root = REPO / "src" / "shlepa"
    modules = sorted(p.name for p in root.glob("*.py"))
    assert len(modules) <= 6, modules
