"""Step 2, evaluate: run a request's suite with lm-eval and build its results file."""

from shlepa.errors import ShlepaError


class EvaluationError(ShlepaError, RuntimeError):
    """An evaluation failed; the request was marked FAILED (when it got that far)."""
