"""Safe YAML reading: no tags that build Python objects, no silently repeated keys."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from shlepa.errors import ShlepaError


class YamlError(ShlepaError, ValueError):
    """The file is not valid YAML for us; the message names the file and the line."""


# libyaml's C parser when available: the site build reads every request (10,000+),
# and the pure-Python parser takes milliseconds per file.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys (a second ``status:`` would hide the first)."""


_STR_TAG = "tag:yaml.org,2002:str"


def _new_key(loader: _StrictLoader, key_node: yaml.Node, seen: set[Any], deep: bool = True) -> Any:
    """A mapping key, refused when unhashable or already in ``seen`` (then added to it)."""
    # Plain string keys (all of them in practice) are compared as written, without
    # building each key twice: this check was half the time of loading 10,000 requests.
    if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
        key = key_node.value
    else:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(None, None, f"unhashable key {key!r}", key_node.start_mark) from exc
    if key in seen:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    seen.add(key)
    return key


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        _new_key(loader, key_node, seen, deep)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


def _construct(loader: _StrictLoader, node: yaml.Node, memo: dict[int, Any], active: set[int]) -> Any:
    """Python objects from a composed node tree, like ``loader.construct_document`` but faster.

    PyYAML's generic constructor costs ~0.2 ms per small file in bookkeeping, and the site
    build reads every request. Plain strings, lists and maps are built here; every other
    tag goes through the strict loader (so refused tags and duplicate keys still fail).
    An alias is built once (``memo``: alias bombs stay linear); a node that contains
    itself is an error, not an endless loop.
    """
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR_TAG else loader.construct_object(node, deep=True)
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise yaml.constructor.ConstructorError(
            None, None, "a node that contains itself (recursive alias)", node.start_mark
        )
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
        active.add(key)
        value: Any = [_construct(loader, child, memo, active) for child in node.value]
    elif isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
        active.add(key)
        loader.flatten_mapping(node)  # merge keys (<<) first, as SafeLoader does
        value = {}
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            k = _new_key(loader, key_node, seen)
            value[k] = _construct(loader, value_node, memo, active)
    else:  # !!set, !!omap, custom tags...: the strict loader refuses or builds them
        return loader.construct_object(node, deep=True)
    active.discard(key)
    memo[key] = value
    return value


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
        raise YamlError(f"file is larger than {MAX_YAML_BYTES} bytes", path=source)
    if flow_depth(text) > MAX_FLOW_DEPTH:
        raise YamlError(f"invalid YAML: nested deeper than {MAX_FLOW_DEPTH} levels", path=source)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _construct(loader, node, {}, set())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"invalid YAML{where}: {problem}", path=source) from None
    except RecursionError:
        raise YamlError("invalid YAML: nesting too deep", path=source) from None
    finally:
        loader.dispose()


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a regular file that is not a symbolic link.

    A request file in a pull request is hostile input: as a symlink it could make the
    validator read (and echo back in its error messages) a file outside the repository,
    as a FIFO it could hang it, as a huge file exhaust its memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        if Path(path).is_symlink():
            raise YamlError("is a symbolic link; request files must be regular files", path=path)
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise YamlError("is a symbolic link; request files must be regular files", path=path) from None
        raise YamlError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise YamlError("not a regular file", path=path)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise YamlError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    finally:
        os.close(fd)


def load_yaml(path: Path) -> Any:
    path = Path(path)
    raw = read_regular_file(path, MAX_YAML_BYTES)
    if len(raw) > MAX_YAML_BYTES:
        raise YamlError(f"file is larger than {MAX_YAML_BYTES} bytes", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    return load_yaml_text(text, str(path))


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
