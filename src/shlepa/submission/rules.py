"""The submission checks' names and messages, defined once for ``shlepa validate`` and the Submit form.

``shlepa validate`` words every Hub check it shares with the site's Submit form from
:data:`CHECKS`, and :func:`form_rules` exports the same table (with the leaderboard's
rules from ``leaderboard.yaml``) into ``data/submit.json``, where the form fills in the
same templates. A template holds plain ``{field}`` placeholders only, filled with
strings that both sides format the same way (:func:`fmt_billions`, :func:`fmt_params`,
:func:`fmt_limit`), so the two cannot word a check differently (a browser test compares
them for the same models).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from shlepa.config import ValidationSettings
from shlepa.records.request import STORED_DTYPE_PRECISION, Precision

#: Prefix of every check run on an adapter's or delta's base model.
BASE_PREFIX = "base model: "
#: Weight files that can run code when loaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: The one weights file of a PEFT adapter that is not a pickle (peft's SAFETENSORS_WEIGHTS_NAME): an
#: adapter passes only with it, whatever other .safetensors files its repository holds.
ADAPTER_SAFETENSORS = "adapter_model.safetensors"
BF16_AS_FP16_HINT = " (loading bfloat16 weights in float16 can overflow and give NaNs)"


@dataclass(frozen=True)
class Rule:
    """One outcome of one check: its checklist name, status and message/fix templates."""

    name: str
    status: str  # an Outcome value: pass | fail | warn
    message: str
    fix: str = ""

    def fields(self) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", self.message + self.fix))


CHECKS: dict[str, Rule] = {
    "model_gated": Rule(
        "model is public",
        "fail",
        "{model} is gated",
        "remove the gating (Settings > Access requests) so the evaluator can download it",
    ),
    "model_missing": Rule(
        "model on the Hub",
        "fail",
        "{model} does not exist or is private",
        "check the spelling of the model id and make the repository public",
    ),
    "model_ok": Rule("model on the Hub", "pass", "{model} exists and is public"),
    "revision_missing": Rule(
        "revision",
        "fail",
        "revision {revision} does not exist in {model}",
        "push the commit to the Hub, or use a sha from the model's history",
    ),
    "revision_ok": Rule("revision", "pass", "commit {short} exists"),
    "safetensors_ok": Rule("safetensors", "pass", "weights are stored as safetensors"),
    "safetensors_pickle": Rule(
        "safetensors",
        "fail",
        "weights are only stored as pickle files (.bin/.pt), which can run code when loaded",
        "convert them: model.save_pretrained(dir, safe_serialization=True) and push model.safetensors",
    ),
    "safetensors_none": Rule(
        "safetensors", "fail", "no weights found in the repository", "push the model weights as safetensors"
    ),
    "adapter_missing": Rule(
        "adapter",
        "fail",
        "weight_type is adapter but there is no adapter_config.json",
        "push the PEFT adapter files, or set weight_type correctly",
    ),
    "license_none": Rule(
        "license", "fail", "the model card declares no license", "add 'license: <id>' to the YAML header of README.md"
    ),
    "license_closed": Rule(
        "license",
        "fail",
        "license '{license}' is not on the open-license list",
        "only openly licensed models are evaluated; see leaderboard.yaml for the list",
    ),
    "license_ok": Rule("license", "pass", "open license {license}"),
    "params_too_big": Rule(
        "parameters", "fail", "{billions}B parameters is above the limit of {limit}B", "submit a smaller model"
    ),
    "params_ok": Rule("parameters", "pass", "{params} parameters (limit {limit}B)"),
    "precision_mismatch": Rule(
        "precision",
        "warn",
        "weights are stored as {stored} but the request asks for {want}{hint}",
        "set precision: {stored}",
    ),
    "precision_ok": Rule("precision", "pass", "weights are stored as {want}"),
    "opt_out": Rule(
        "opt-out",
        "fail",
        "the organisation '{org}' asked for its models not to be submitted",
        "contact the maintainers if you are a member of that organisation",
    ),
}


def render(key: str, prefix: str = "", **values: str) -> tuple[str, str, str, str]:
    """(name, status, message, fix) of one outcome, the templates filled with ``values``."""
    rule = CHECKS[key]
    return prefix + rule.name, rule.status, rule.message.format(**values), rule.fix.format(**values)


def fmt_billions(n: int) -> str:
    """A parameter count in billions, one decimal (the limit message)."""
    return f"{n / 1e9:.1f}"


def fmt_params(n: int) -> str:
    """A parameter count as the checklist shows it: ``7.24B``, or ``1,024`` below 100M."""
    return f"{n / 1e9:.2f}B" if n >= 1e8 else f"{n:,}"


def fmt_limit(billions: float) -> str:
    """The size limit as written in messages (``140``, ``0.5``)."""
    return f"{billions:g}"


def form_rules(settings: ValidationSettings) -> dict[str, Any]:
    """The checks the Submit form runs in the browser, with the rules they apply (JSON-ready)."""
    return {
        "checks": {key: asdict(rule) for key, rule in CHECKS.items()},
        "base_prefix": BASE_PREFIX,
        "pickle_suffixes": list(PICKLE_SUFFIXES),
        "adapter_safetensors": ADAPTER_SAFETENSORS,
        "bf16_as_fp16": {
            "stored": Precision.bfloat16.value,
            "want": Precision.float16.value,
            "hint": BF16_AS_FP16_HINT,
        },
        "stored_dtype_precision": {k: v.value for k, v in STORED_DTYPE_PRECISION.items()},
        "open_licenses": sorted({x.strip().lower() for x in settings.open_licenses}),
        "optout_orgs": sorted({x.lower() for x in settings.optout_orgs}),
        "max_params_b": settings.max_params_b,
        "limit": fmt_limit(settings.max_params_b),
        "max_open_requests_per_submitter": settings.max_open_requests_per_submitter,
        "min_card_chars": settings.min_card_chars,
    }


__all__ = [
    "ADAPTER_SAFETENSORS",
    "BASE_PREFIX",
    "CHECKS",
    "PICKLE_SUFFIXES",
    "Rule",
    "fmt_billions",
    "fmt_limit",
    "fmt_params",
    "form_rules",
    "render",
]
