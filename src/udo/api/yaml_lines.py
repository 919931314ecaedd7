"""YAML text as submitted: where a location is written, and whether it is safe to load.

`line_of` walks the YAML node tree (``yaml.compose``, which keeps positions) along a
dotted location such as ``tables.orders.fields.total.min``. `shape_problem` refuses,
before anything loads or walks it, a document nested deeper than any spec or standing for
more nodes than any spec once aliases are expanded (a "billion laughs" of a few hundred
bytes).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 100
"""A spec nests about 8 levels; deeper documents are refused without recursing further."""


class TooDeep(yaml.YAMLError):
    """The document nests deeper than `MAX_DEPTH`."""


class _DepthLimitedLoader(yaml.SafeLoader):
    """A safe loader that stops composing past `MAX_DEPTH` instead of exhausting the stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
            node: Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1


def _compose(text: str) -> Node | None:
    loader = _DepthLimitedLoader(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def compose(text: str) -> Node | None:
    """The node tree of `text`, or None if it is not (safe) YAML, or empty."""
    try:
        return _compose(text)
    except (yaml.YAMLError, RecursionError):
        return None


def shape_problem(text: str, max_nodes: int) -> str | None:
    """Why `text` must not be loaded (too deep, too many nodes), or None."""
    try:
        root = _compose(text)
    except TooDeep:
        return f"the spec nests deeper than {MAX_DEPTH} levels"
    except (yaml.YAMLError, RecursionError):
        return None  # loading it reports the syntax error with its line
    if root is not None and expanded_nodes(root, max_nodes) > max_nodes:
        return f"the spec expands to more than {max_nodes:,} YAML nodes"
    return None


def line_of(text: str, loc: str) -> int | None:
    """1-based line where `loc` is written in `text`.

    When the location does not exist (a required field that is missing), the line of the
    deepest part that does exist is returned; None if not even the first part is found.
    """
    node = compose(text)
    if node is None or not loc:
        return None
    line: int | None = None
    for part in loc.split("."):
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and _same_key(key.value, part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, SequenceNode):
            if not part.isdigit() or int(part) >= len(node.value):
                return line
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _same_key(written: str, part: str) -> bool:
    if written == part:
        return True
    # YAML booleans are keys like `true:`, located by pydantic as "True"
    return written.lower() in ("true", "false") and written.lower() == part.lower()


def expanded_nodes(root: Node, limit: int) -> int:
    """Nodes under `root` with aliases expanded, counted up to just past `limit`."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, SequenceNode):
            children: list[Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        sizes[id(node)] = min(total, limit + 1)
        return sizes[id(node)]

    return size(root)
