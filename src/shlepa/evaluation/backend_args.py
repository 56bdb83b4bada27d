"""lm-eval model backends: which arguments each one gets, as a dict, for one request.

``shlepa-hf`` (transformers, scoring all answer choices from one pass over their
shared context; see :mod:`shlepa.backends`) is the default and takes ``hf``'s
arguments; ``hf`` is plain lm-eval. ``vllm`` is an optional extra
(``pip install 'shlepa[vllm]'``) for throughput, with prefix caching on, which the
few-shot prompts of a suite share heavily. ``dummy`` is lm-eval's random-number
model, for tests of the queue machinery only. Every backend keeps
``trust_remote_code`` off and loads safetensors only.
"""

from __future__ import annotations

from shlepa.errors import ShlepaError

import importlib.util
from typing import Any

from shlepa.env import environment

BACKENDS = ("shlepa-hf", "hf", "vllm", "dummy")


class BackendError(ShlepaError, ValueError):
    """The backend cannot run this request here (not installed, unsupported precision, ...)."""


def require_backend(backend: str) -> None:
    """Fail early, with the install command, when the backend's package is missing here."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise BackendError("backend 'vllm' needs the vllm package; install it with: pip install 'shlepa[vllm]'")


def backend_model_args(backend: str, hf_args: dict[str, Any]) -> dict[str, Any]:
    """Translate the HF model arguments (see :mod:`shlepa.evaluation.modelargs`) for ``backend``.

    Pure translation, so the reproduction command of a vLLM result can be written on
    a machine without vLLM; :func:`require_backend` checks the install.
    """
    if backend in ("hf", "shlepa-hf"):
        return dict(hf_args)
    if backend == "dummy":
        return {}
    if backend == "vllm":
        if hf_args.get("load_in_8bit") or hf_args.get("load_in_4bit"):
            raise BackendError("backend 'vllm' does not run 8bit/4bit requests here; use --backend hf")
        if "peft" in hf_args or "delta" in hf_args:
            raise BackendError("backend 'vllm' does not run adapter/delta requests here; use --backend hf")
        args: dict[str, Any] = {
            "pretrained": hf_args["pretrained"],
            "dtype": hf_args["dtype"],
            "trust_remote_code": False,
            "load_format": "safetensors",
        }
        if "revision" in hf_args:
            args["revision"] = hf_args["revision"]
        return args
    raise BackendError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")


def is_main_process() -> bool:
    """Rank 0 of an ``accelerate launch`` (or the only process): the one that writes files."""
    return environment().rank == 0
