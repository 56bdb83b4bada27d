"""Model arguments for lm-eval, built as a dict from a validated request.

Arguments are never assembled into lm-eval's ``key=value,...`` string from request
fields, so a revision such as ``main,trust_remote_code=<anything>`` cannot add an
argument; the request model has already rejected it, and this module adds a
second check. ``trust_remote_code`` is always False and only safetensors load.
"""

from __future__ import annotations

from shlepa.errors import ShlepaError

import importlib.util
import re
from pathlib import Path
from typing import Any

from shlepa.records.request import MODEL_ID_RE, SHA_RE, Precision, Request, WeightType

_DTYPES = {
    Precision.float16: "float16",
    Precision.bfloat16: "bfloat16",
    Precision.float32: "float32",
    # Quantized weights compute in float16, as the Open LLM Leaderboard did.
    Precision.int8: "float16",
    Precision.int4: "float16",
}

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._/:@+-]*$")


class ModelArgsError(ShlepaError, ValueError):
    pass


def _check_value(name: str, value: str) -> str:
    if not _SAFE_VALUE.match(value) or "," in value or "=" in value:
        raise ModelArgsError(f"model argument {name!r}: unsafe value {value!r}")
    return value


def model_args_for(
    request: Request, *, model_path: Path | None = None, device: str | None = None
) -> dict[str, Any]:
    """The keyword arguments lm-eval's HF model gets for this request."""
    if not MODEL_ID_RE.match(request.model) or not SHA_RE.match(request.revision):
        raise ModelArgsError(f"{request.model}@{request.revision}: invalid model id or revision")
    args: dict[str, Any] = {}
    local = model_path is not None
    if request.weight_type == WeightType.original:
        args["pretrained"] = str(model_path) if local else _check_value("pretrained", request.model)
        if not local:
            args["revision"] = _check_value("revision", request.revision)
    else:
        assert request.base_model is not None
        args["pretrained"] = _check_value("pretrained", request.base_model)
        key = "peft" if request.weight_type == WeightType.adapter else "delta"
        args[key] = str(model_path) if local else _check_value(key, request.model)
        if not local:
            args["revision"] = _check_value("revision", request.revision)
    args["dtype"] = _DTYPES[request.precision]
    if request.precision in (Precision.int8, Precision.int4):
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ModelArgsError(
                f"precision {request.precision.value} needs bitsandbytes; "
                "install it with: pip install 'shlepa[quant]'"
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
