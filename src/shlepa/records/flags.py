"""Flags: models the owners marked (contamination, wrong metadata, gone from the Hub).

``flags.yaml`` at the repository root is a committed list maintained by the owners;
each entry names a model (optionally one revision), a reason and the discussion
that flagged it. ``kind: unavailable`` marks a model that is no longer available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

from shlepa.errors import ShlepaError
from shlepa.io.yaml import YamlError, load_yaml
from shlepa.records.request import MODEL_ID_RE, SHA_RE

FLAGS_FILE = "flags.yaml"


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, StringConstraints(pattern=MODEL_ID_RE.pattern)]
    revision: Annotated[str, StringConstraints(pattern=SHA_RE.pattern)] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    url: Annotated[str, StringConstraints(max_length=500)]
    kind: Literal["flagged", "unavailable"] = "flagged"

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        # Only http(s): a javascript: or data: link in a flag would run in visitors' browsers.
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    def matches(self, model: str, revision: str) -> bool:
        return self.model == model and (self.revision is None or self.revision == revision)


class FlagsError(ShlepaError, ValueError):
    """flags.yaml is unusable; the message names the file, the entry and the field."""


def load_flags(root: Path) -> list[Flag]:
    """The committed flags (none when the file does not exist)."""
    path = Path(root) / FLAGS_FILE
    if not path.exists():
        return []
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise FlagsError.from_error(exc) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise FlagsError(f"expected a list of flags, got {type(data).__name__}", path=path)
    flags = []
    for i, entry in enumerate(data):
        try:
            flags.append(Flag.model_validate(entry))
        except ValidationError as exc:
            raise FlagsError.from_validation(path, exc, prefix=f"entry {i + 1}.") from None
    return flags
