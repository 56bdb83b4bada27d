"""Creating the model: lm-eval backends, their settings, and the request's model arguments as a dict.

``shlepa-hf`` (transformers, scoring all answer choices from one pass over their
shared context; see :mod:`shlepa.backends`) is the default and takes ``hf``'s
arguments; ``hf`` is plain lm-eval. ``vllm`` is an optional extra
(``pip install 'shlepa[vllm]'``), fast at generation; its prefix cache does not speed up
log-likelihood scoring (vLLM ignores it for requests that ask for prompt log-probabilities,
which is how lm-eval scores multiple choice). ``shlepa-hybrid`` sends log-likelihood to
``shlepa-hf`` and generation to vLLM (or HF without it). ``dummy`` is lm-eval's random-number
model, for tests of the queue machinery only.

Arguments are never assembled into lm-eval's ``key=value,...`` string from request
fields, so a revision such as ``main,trust_remote_code=<anything>`` cannot add an
argument; the request model has already rejected it, and this module adds a
second check. Every backend keeps ``trust_remote_code`` off and loads safetensors only.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shlepa.env import environment
from shlepa.errors import ShlepaError
from shlepa.evaluation import lm_eval_api
from shlepa.records.request import MODEL_ID_RE, SHA_RE, Precision, Request, WeightType

BACKENDS = ("shlepa-hf", "hf", "vllm", "shlepa-hybrid", "dummy")

#: Where shlepa-hybrid sends generation: vllm, hf (a second, plain HF model), same (the scorer's own
#: HF generation, one model in memory), or auto (vllm when installed, else same).
GENERATORS = ("auto", "vllm", "hf", "same")


#: Settings each backend runs with unless the caller overrides them; recorded in the results.
BACKEND_DEFAULTS: dict[str, dict[str, Any]] = {
    "shlepa-hf": {"max_batch_tokens": 8192, "share_prefix": True, "min_shared_prefix": 16},
    # log-likelihood through shlepa-hf (its settings), generation through `generator`
    "shlepa-hybrid": {"max_batch_tokens": 8192, "share_prefix": True, "min_shared_prefix": 16, "generator": "auto"},
    # Prefix caching reuses shared prompts in generation only: vLLM skips its cache for requests
    # that ask for prompt log-probabilities (lm-eval's log-likelihood), so multiple choice gains nothing.
    "vllm": {"enable_prefix_caching": True},
}

_DTYPES = {
    Precision.float16: "float16",
    Precision.bfloat16: "bfloat16",
    Precision.float32: "float32",
    # Quantized weights compute in float16, as the Open LLM Leaderboard did.
    Precision.int8: "float16",
    Precision.int4: "float16",
}

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._/:@+-]*$")


class BackendError(ShlepaError, ValueError):
    """The backend cannot run this request here (not installed, unsupported precision, ...)."""


class ModelArgsError(ShlepaError, ValueError):
    pass


# -- the request's model arguments ------------------------------------------------
def _check_value(name: str, value: str) -> str:
    if not _SAFE_VALUE.match(value) or "," in value or "=" in value:
        raise ModelArgsError(f"model argument {name!r}: unsafe value {value!r}")
    return value


def fetch_weights(model: str, revision: str) -> Path:
    """An adapter's or delta's files at its own commit, from the Hub cache (safetensors, JSON, tokenizer; never
    pickles or code)."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "tokenizer.model", "*.txt", "*.jinja"]
    return Path(snapshot_download(model, revision=revision, allow_patterns=patterns))


def model_args_for(
    request: Request,
    *,
    model_path: Path | None = None,
    device: str | None = None,
    fetch: Callable[[str, str], Path] | None = None,
) -> dict[str, Any]:
    """The keyword arguments lm-eval's HF model gets for this request.

    An adapter or delta needs ``model_path`` or fetches its files with ``fetch`` (default
    :func:`fetch_weights`) at its own commit, so the base model loads at ``base_revision``.
    """
    if not MODEL_ID_RE.match(request.model) or not SHA_RE.match(request.revision):
        raise ModelArgsError("invalid model id or revision", path=f"{request.model}@{request.revision}")
    args: dict[str, Any] = {}
    local = model_path is not None
    if request.weight_type == WeightType.original:
        args["pretrained"] = str(model_path) if local else _check_value("pretrained", request.model)
        if not local:
            args["revision"] = _check_value("revision", request.revision)
    else:
        assert request.base_model is not None
        if request.base_revision is None:
            raise ModelArgsError(
                f"a {request.weight_type.value} request must pin its base model's commit (base_revision)",
                path=f"{request.model}@{request.revision}",
            )
        args["pretrained"] = _check_value("pretrained", request.base_model)
        # lm-eval passes one `revision` to the base and to the adapter/delta: it is the BASE's own
        # commit, and the adapter is handed over as a folder fetched at the adapter's commit.
        args["revision"] = _check_value("revision", request.base_revision)
        key = "peft" if request.weight_type == WeightType.adapter else "delta"
        args[key] = str(model_path if local else (fetch or fetch_weights)(request.model, request.revision))
    args["dtype"] = _DTYPES[request.precision]
    if request.precision in (Precision.int8, Precision.int4):
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ModelArgsError(
                f"precision {request.precision.value} needs bitsandbytes; install it with: pip install 'shlepa[quant]'"
            )
        args["load_in_8bit" if request.precision == Precision.int8 else "load_in_4bit"] = True
    args["trust_remote_code"] = False
    args["use_safetensors"] = True
    if device:
        args["device"] = device
    return args


def model_args_string(args: dict[str, Any]) -> str:
    """lm-eval's CLI form, for the reproduction command only (values were checked)."""
    parts = []
    for key, value in args.items():
        if key == "device":
            continue
        text = str(value)
        if "," in text or "=" in text:
            raise ModelArgsError(f"model argument {key!r} cannot be written for the CLI: {text!r}")
        parts.append(f"{key}={text}")
    return ",".join(parts)


# -- backends --------------------------------------------------------------------
def require_backend(backend: str) -> None:
    """Fail early, with the install command, when the backend's package is missing here."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise BackendError("backend 'vllm' needs the vllm package; install it with: pip install 'shlepa[vllm]'")


def backend_model_args(backend: str, hf_args: dict[str, Any]) -> dict[str, Any]:
    """Translate the HF model arguments (see :func:`model_args_for`) for ``backend``.

    Pure translation, so the reproduction command of a vLLM result can be written on
    a machine without vLLM; :func:`require_backend` checks the install.
    """
    if backend in ("hf", "shlepa-hf", "shlepa-hybrid"):
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


_ARG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ARG_VALUE = re.compile(r"^[A-Za-z0-9._/:@+-]*$")


def parse_backend_args(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (CLI ``--backend-arg``) as a dict; ints, floats and booleans typed."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not _ARG_KEY.match(key) or not _ARG_VALUE.match(text):
            raise BackendError("expected KEY=VALUE with a plain key and value", path=f"--backend-arg {item!r}")
        value: Any = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(text)
                    break
                except ValueError:
                    pass
        out[key] = value
    return out


def effective_backend_args(backend: str, backend_args: dict[str, Any]) -> dict[str, Any]:
    """The backend's default settings overridden by the caller's: what the run really uses."""
    return {**BACKEND_DEFAULTS.get(backend, {}), **backend_args}


def lm_args_for(backend: str, model_args: dict[str, Any], backend_args: dict[str, Any]) -> dict[str, Any]:
    """Everything the backend is created with: its model arguments plus its effective settings."""
    return {**backend_model_args(backend, model_args), **effective_backend_args(backend, backend_args)}


# -- the model -------------------------------------------------------------------
def create_lm(backend: str, model_args: dict[str, Any], batch_size: str | int, device: str | None) -> Any:
    """Load the model ONCE through lm-eval's registry (args as a dict, never a string)."""
    import shlepa.backends  # noqa: F401  (registers shlepa-hf with lm-eval)

    require_backend(backend)
    if backend == "shlepa-hybrid":
        return _create_hybrid(model_args, batch_size, device)

    args = {k: v for k, v in model_args.items() if k != "device"}
    return lm_eval_api.get_model(backend).create_from_arg_obj(
        args, {"batch_size": batch_size, "device": device or model_args.get("device") or "cpu"}
    )


def generation_backend(generator: str) -> str:
    """The engine shlepa-hybrid generates with for a ``generator`` setting (auto: vllm if installed)."""
    if generator not in GENERATORS:
        raise BackendError(f"unknown generator {generator!r}; choose one of: {', '.join(GENERATORS)}")
    if generator == "auto":
        return "vllm" if importlib.util.find_spec("vllm") is not None else "same"
    if generator != "same":
        require_backend(generator)
    return generator


def _create_hybrid(lm_args: dict[str, Any], batch_size: str | int, device: str | None) -> Any:
    """shlepa-hybrid: a shlepa-hf scorer and, unless generation shares it, a generator of its own."""
    import inspect

    from shlepa.backends.hybrid import HybridLM
    from shlepa.backends.shared_context import SharedContextHFLM

    args = dict(lm_args)
    engine = generation_backend(str(args.pop("generator", "auto")))
    scorer = create_lm("shlepa-hf", args, batch_size, device)
    if engine == "same":
        return HybridLM(scorer, scorer, "hf")
    own = {n for n, p in inspect.signature(SharedContextHFLM.__init__).parameters.items() if p.kind == p.KEYWORD_ONLY}
    hf_args = {k: v for k, v in args.items() if k not in own}
    generator = create_lm(engine, lm_args_for(engine, hf_args, {}), batch_size, device)
    return HybridLM(scorer, generator, engine)


def model_info(lm: Any) -> dict[str, Any]:
    """What the loaded model is: architecture, parameter count, experts (for the site's filters)."""
    model = getattr(lm, "model", None)
    config = getattr(model, "config", None)
    if config is None:
        return {}
    info: dict[str, Any] = {
        "architecture": (getattr(config, "architectures", None) or [None])[0],
        "model_type": getattr(config, "model_type", None),
    }
    try:
        info["num_parameters"] = int(sum(p.numel() for p in model.parameters()))  # type: ignore[union-attr]
    except (AttributeError, TypeError, RuntimeError):
        pass
    experts = getattr(config, "num_local_experts", None) or getattr(config, "num_experts", None)
    if experts:
        info["num_experts"] = int(experts)
    return info
