"""The ``shlepa`` command: thin typer wrappers over the library functions.

Each area registers its commands from its own module, so commands stay small and
the library stays usable without the CLI.
"""

from __future__ import annotations

from shlepa.cli._app import app, console, fail

# Importing the modules registers their commands on ``app``.
from shlepa.cli import evaluate as _evaluate  # noqa: E402,F401
from shlepa.cli import site as _site  # noqa: E402,F401
from shlepa.cli import queue as _queue  # noqa: E402,F401
from shlepa.cli import validate as _validate  # noqa: E402,F401
from shlepa.cli import submit as _submit  # noqa: E402,F401
from shlepa.cli import demo as _demo  # noqa: E402,F401
from shlepa.cli import split as _split  # noqa: E402,F401
from shlepa.cli import analysis as _analysis  # noqa: E402,F401

__all__ = ["app", "console", "fail"]
