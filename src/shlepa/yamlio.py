"""Safe YAML reading: no tags that build Python objects, no silently repeated keys."""

from __future__ import annotations

import errno
import os
import stat
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


_STR_TAG = "tag:yaml.org,2002:str"


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        # Plain string keys (all of them in practice) are compared as written, without
        # building each key twice: this check was half the time of loading 10,000 requests.
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
            key = key_node.value
        else:
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


def _refuse_tag(loader: _StrictLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag!r} is not allowed", node.start_mark)


# Text files only: no binary blobs (pydantic would quietly decode them into strings) and no sets.
for _tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
    _StrictLoader.add_constructor(_tag, _refuse_tag)

MAX_YAML_BYTES = 64 * 1024


MAX_FLOW_DEPTH = 100


def flow_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside quoted scalars (quotes tracked roughly).

    libyaml takes time quadratic in the nesting depth: 20,000 ``[`` (40 KB) cost
    seconds per file, so a hostile PR could stall the validator. No request needs
    more than a few levels. A quote only opens where a YAML scalar can start.
    """
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0
    depth = deepest = 0
    quote = ""
    prev = "\n"
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                if quote == "'" and i + 1 < n and text[i + 1] == "'":
                    i += 1
                else:
                    quote = ""
        elif c in "'\"" and prev in " \t\n:,[{-?":
            quote = c
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
        prev = c
        i += 1
    return deepest


def load_yaml_text(text: str, source: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise YamlError(f"{source}: file is larger than {MAX_YAML_BYTES} bytes")
    if flow_depth(text) > MAX_FLOW_DEPTH:
        raise YamlError(f"{source}: invalid YAML: nested deeper than {MAX_FLOW_DEPTH} levels")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"{source}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise YamlError(f"{source}: invalid YAML: nesting too deep") from None


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a regular file that is not a symbolic link.

    A request file in a pull request is hostile input: as a symlink it could make the
    validator read (and echo back in its error messages) a file outside the repository,
    as a FIFO it could hang it, as a huge file exhaust its memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        if Path(path).is_symlink():
            raise YamlError(f"{path}: is a symbolic link; request files must be regular files")
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise YamlError(f"{path}: is a symbolic link; request files must be regular files") from None
        raise YamlError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise YamlError(f"{path}: not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise YamlError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def load_yaml(path: Path) -> Any:
    path = Path(path)
    raw = read_regular_file(path, MAX_YAML_BYTES)
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
