"""Evaluation backends registered with lm-eval's model registry.

Importing this package registers ``shlepa-hf`` (see :mod:`.shared_context`), so it
can be named as ``model=`` / ``--model`` like any lm-eval backend.
"""

from shlepa.backends.hybrid import HybridLM
from shlepa.backends.shared_context import SharedContextHFLM

__all__ = ["HybridLM", "SharedContextHFLM"]
