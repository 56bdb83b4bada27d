"""Safe YAML reading: no tags that build Python objects, no silently repeated keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class YamlError(ValueError):
    """The file is not valid YAML for us; the message names the file and the line."""


# libyaml's C parser when available: the site build reads every request (10,000+),
# and the pure-Python parser takes milliseconds per file.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys (a second ``status:`` would hide the first)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark
            ) from exc
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

MAX_YAML_BYTES = 64 * 1024


def load_yaml_text(text: str, source: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise YamlError(f"{source}: file is larger than {MAX_YAML_BYTES} bytes")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"{source}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise YamlError(f"{source}: invalid YAML: nesting too deep") from None


def load_yaml(path: Path) -> Any:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    if len(raw) > MAX_YAML_BYTES:
        raise YamlError(f"{path}: file is larger than {MAX_YAML_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return load_yaml_text(text, str(path))


def validation_message(source: object, exc: ValidationError, prefix: str = "") -> str:
    """pydantic's first error as our one line: ``file: field 'a.b': cause``."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "entry"
    return f"{source}: field '{prefix}{loc}': {err['msg']}"


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
