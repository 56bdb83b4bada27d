"""The ``shlepa`` command: thin typer wrappers over the library functions.

Each area registers its commands from its own module, so commands stay small and
the library stays usable without the CLI.
"""

from __future__ import annotations

from shlepa.cli import analysis as _analysis  # noqa: F401
from shlepa.cli import demo as _demo  # noqa: F401
from shlepa.cli import details as _details  # noqa: F401

# Importing the modules registers their commands on ``app``.
from shlepa.cli import evaluate as _evaluate  # noqa: F401
from shlepa.cli import handoff as _handoff  # noqa: F401
from shlepa.cli import migrate as _migrate  # noqa: F401
from shlepa.cli import queue as _queue  # noqa: F401
from shlepa.cli import reproduce as _reproduce  # noqa: F401
from shlepa.cli import site as _site  # noqa: F401
from shlepa.cli import split as _split  # noqa: F401
from shlepa.cli import submit as _submit  # noqa: F401
from shlepa.cli import validate as _validate  # noqa: F401
from shlepa.cli._app import app, console, fail

__all__ = ["app", "console", "fail"]
