"""Safe YAML reading that remembers where every key came from (file and line).

Scenario errors must name the file, the line and the key path. PyYAML's composed node tree
carries line marks; this module loads a document with ``yaml.SafeLoader`` (no object
construction, no expression evaluation), refuses duplicate keys, and returns the plain data
with a map from key path (a tuple) to ``(file, line)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError

Loc = tuple[str, int | None]
Locs = dict[tuple, Loc]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one node; a value PyYAML cannot build (``2025-02-30``, ``!!bool maybe``) is a YAML error."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({type(exc).__name__}: {exc})", node.start_mark
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer, refused beyond the float range (no scenario number is that large)."""
        value = super().construct_yaml_int(node)
        if abs(value) >= 2**1024:
            raise yaml.constructor.ConstructorError(None, None, "integer too large for a number", node.start_mark)
        return value


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _index(loader: _Loader, node: yaml.Node, path: tuple, file: str, locs: Locs, seen: set | None = None) -> None:
    locs[path] = (file, node.start_mark.line + 1)
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias of a node indexed already: once is enough (no "billion laughs" walk)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            locs[path + (key,)] = (file, key_node.start_mark.line + 1)
            _index(loader, value_node, path + (key,), file, locs, seen)
            locs[path + (key,)] = (file, key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(loader, item, path + (i,), file, locs, seen)


def read_text(path: Path) -> str:
    """Read a scenario file as UTF-8 text, turning every OS problem into a ScenarioError."""
    shown = str(path)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as exc:  # e.g. a file name too long for the OS
        raise ScenarioError(f"cannot be read ({getattr(exc, 'strerror', None) or exc})", file=shown) from None
    if not exists:
        raise ScenarioError("file not found", file=shown)
    if is_dir:
        raise ScenarioError("is a directory, expected a YAML file", file=shown)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot be read ({exc.strerror})", file=shown) from None
    if b"\x00" in raw:
        raise ScenarioError("is not a text file (contains NUL bytes)", file=shown)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"is not UTF-8 text (byte {exc.start} cannot be decoded)", file=shown) from None


def load_yaml(path: Path, text: str | None = None) -> tuple[Any, Locs]:
    """Parse one YAML document safely.

    Args:
        path: The file (used for reading when ``text`` is None, and in messages).
        text: The document text, if already read.

    Returns:
        ``(data, locs)``: the plain Python data and the key-path → (file, line) map.

    Raises:
        ScenarioError: unreadable file, YAML syntax error, duplicate key, empty document.
    """
    shown = str(path)
    if text is None:
        text = read_text(path)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader checks the whole text first
        line = text.count("\n", 0, exc.position) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        problem = f"invalid YAML: unacceptable character {what} ({exc.reason})"
        raise ScenarioError(problem, file=shown, line=line) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError("the file is empty; expected a YAML mapping of scenario keys", file=shown)
        data = loader.construct_document(node)
        locs: Locs = {}
        _index(loader, node, (), shown, locs)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        if exc.context and "duplicate" not in what:
            what = f"{exc.context}, {what}"
        raise ScenarioError(f"invalid YAML: {what}", file=shown, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", file=shown) from None
    except RecursionError:
        raise ScenarioError("invalid YAML: nesting is too deep", file=shown) from None
    finally:
        loader.dispose()
    return data, locs


def parse_scalar(text: str) -> Any:
    """Parse a ``--set`` value as a YAML scalar or flow collection (``0.7``, ``true``, ``[1, 2]``)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return text
