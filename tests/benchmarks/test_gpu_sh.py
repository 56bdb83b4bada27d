"""``benchmarks/gpu.sh``'s arguments, checked on CPU with ``--dry-run`` (the GPU figures need a GPU machine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.sh"


def gpu_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_a_dry_run_prints_one_evaluation_per_backend_and_writes_nothing(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("figures\n")
    out = gpu_sh("--dry-run", "--limit", "5", "--device", "cuda:1", "--readme", str(readme))
    assert out.returncode == 0, out.stderr
    commands = [line for line in out.stdout.splitlines() if " -m shlepa evaluate " in line]
    assert [c.split("--backend ")[1].split()[0] for c in commands] == ["hf", "shlepa-hf", "vllm", "shlepa-hybrid"]
    assert all("--limit 5" in c and "--device cuda:1" in c and "--data bundled" in c for c in commands)
    assert readme.read_text() == "figures\n"


def test_bad_arguments_are_refused_with_the_reason() -> None:
    cases = {
        ("--limit", "0"): "--limit must be a positive whole number, got '0'",
        ("--limit", "5;rm"): "--limit must be a positive whole number",
        ("--backends", "hf tpu"): "unknown backend 'tpu'",
        ("--device", "cuda:0 --force"): "--device must look like cuda:0 or cpu",
        ("--fast",): "unknown option '--fast'",
    }
    for args, message in cases.items():
        out = gpu_sh("--dry-run", *args)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    assert gpu_sh("--limit").returncode == 2  # an option without its value
