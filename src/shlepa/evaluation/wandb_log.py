"""Optional: log one evaluation to Weights & Biases through lm-eval's own ``WandbLogger``.

Off unless the evaluation is started with ``--wandb`` (extra ``shlepa[wandb]``). The run
is named after the model and revision and carries the checkpoint step, so the runs of a
checkpoint series line up in W&B too. ``WANDB_MODE=offline`` writes the run locally.
"""

from __future__ import annotations

from typing import Any

from shlepa.errors import ShlepaError
from shlepa.records.keys import short_sha


class WandbUnavailable(ShlepaError, RuntimeError):
    """``--wandb`` was asked for but the wandb package is not installed."""


def init_args(project: str, request: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``wandb.init`` arguments for one evaluation (the step is the checkpoint's training step)."""
    ckpt = getattr(request, "checkpoint", None)
    args: dict[str, Any] = {
        "project": project,
        "job_type": "eval",
        "name": f"{request.model}@{short_sha(request.revision)}" + (f"-step{ckpt.step}" if ckpt else ""),
        "group": (ckpt.series if ckpt else request.model).replace("/", "__"),
        "config": {
            "model": request.model,
            "revision": request.revision,
            "precision": request.precision.value,
            "suite": request.suite,
            "checkpoint_step": ckpt.step if ckpt else None,
        },
        "reinit": "finish_previous",
    }
    args.update(extra or {})
    return args


def log_evaluation(raw: dict[str, Any], wandb_init: dict[str, Any], samples: bool = True) -> str | None:
    """Log lm-eval's output ``raw`` (from ``simple_evaluate``); returns the run's local folder."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise WandbUnavailable("--wandb needs the wandb package: pip install 'shlepa[wandb]'") from None
    from shlepa.evaluation import lm_eval_api

    logger = lm_eval_api.wandb_logger(dict(wandb_init))
    try:
        logger.post_init(raw)
        logger.log_eval_result()
        if samples and raw.get("samples"):
            logger.log_eval_samples(raw["samples"])
        return str(logger.run.dir)
    finally:
        logger.run.finish()
