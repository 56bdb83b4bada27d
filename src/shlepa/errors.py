"""The one base class of every error the project raises on purpose.

An error names what is wrong where: ``path`` (a file, or a request/results
path relative to the repository) and ``field`` (a dotted field inside it) are
attributes, so code that needs them reads them instead of parsing the message,
and ``str(error)`` is the one line the CLI prints: ``path: field 'f': message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import ValidationError


class ShlepaError(Exception):
    """Base of all project errors; the CLI prints any of them as one clean line."""

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(f"{self.path}:")
        if self.field is not None:
            parts.append(f"field '{self.field}':")
        return " ".join([*parts, self.message])

    @classmethod
    def from_error(cls, other: ShlepaError) -> Self:
        """The same place and message as another project error, as this kind."""
        return cls(other.message, path=other.path, field=other.field)

    @classmethod
    def from_validation(cls, path: str | Path, exc: ValidationError, prefix: str = "") -> Self:
        """pydantic's first error as ours: the dotted location becomes ``field``."""
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "entry"
        return cls(err["msg"], path=path, field=f"{prefix}{loc}")

    def __reduce__(self):  # keep path and field across processes (forked readers, pools)
        return (_rebuild, (type(self), self.message, self.path, self.field, self.__dict__))


def _rebuild(cls: type[ShlepaError], message: str, path: str | None, field: str | None, state: dict) -> ShlepaError:
    err = cls.__new__(cls)
    ShlepaError.__init__(err, message, path=path, field=field)
    err.__dict__.update(state)
    return err
