"""Request files for a local model folder (its content hash plays the commit sha)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shlepa.records.request import new_request, save_request


def model_sha(model_dir: Path) -> str:
    return hashlib.sha1((model_dir / "model.safetensors").read_bytes()).hexdigest()


def submit(root: Path, model_dir: Path, model: str = "acme/tiny-llama") -> Path:
    return save_request(new_request(model, model_sha(model_dir), "float32", "pretrained", "mit", "alice"), root)


def evaluate_args(root: Path, request: Path, model_dir: Path, batch_size: int, *extra: str) -> list[str]:
    """``shlepa evaluate`` of a local model folder, offline on the bundled data, plain ``hf`` on CPU."""
    return [
        "evaluate",
        str(request),
        "--root",
        str(root),
        "--data",
        "bundled",
        "--model-path",
        str(model_dir),
        "--batch-size",
        str(batch_size),
        "--device",
        "cpu",
        "--backend",
        "hf",
        *extra,
    ]
