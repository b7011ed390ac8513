"""Reading inventory YAML files, and pointing back into them.

The loader reads YAML 1.2-style scalars: `17:15` stays a string (YAML 1.1 reads it as the number
1035), `no`/`on` stay strings (1.1 reads them as booleans), and a key given twice in one mapping is
an error instead of the last one silently winning. Line numbers are found only when a problem needs
one, by composing the node tree on demand: loading stays fast for big inventories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from .problems import Loc, Problem, format_field

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InventoryLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int) and key in seen:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"key {key!r} is given twice (first on line {seen[key].start_mark.line + 1})",
                        key_node.start_mark,
                    )
                if isinstance(key, str | int):
                    seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
InventoryLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
InventoryLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
InventoryLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))

# What one entry of a top-level list is called in messages.
ENTRY_NAMES = {
    "towns": "town",
    "systems": "system",
    "datacenters": "data center",
    "edges": "carrier edge",
    "calendars": "calendar",
    "tiers": "tier",
    "maintenance_windows": "maintenance window",
    "penalty_bands": "penalty band",
    "servers": "server",
    "networks": "network",
    "server_tiers": "server tier",
    "items": "cost item",
    "flows": "flow",
    "services": "service",
    "externals": "external target",
    "town_segments": "segment",
    "regions": "region",
}


@dataclass
class SourceFile:
    path: Path
    display: str  # the path as the user should read it (relative to the repo when possible)
    data: Any = None
    _text: str = field(default="", repr=False)
    _root: Node | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: Path, display: str) -> tuple[SourceFile, Problem | None]:
        """Parse `path`; on a syntax error return the problem (with line and column) instead."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            return cls(path, display), Problem(display, None, "", "", f"cannot read the file: {err.strerror}")
        except UnicodeDecodeError as err:
            return cls(path, display), Problem(display, None, "", "", f"not UTF-8 text: {err.reason}")
        source = cls(path, display, _text=text)
        try:
            source.data = yaml.load(text, Loader=InventoryLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            column = f"column {mark.column + 1}: " if mark else ""
            what = " ".join(str(x) for x in (err.context, err.problem) if x)
            return source, Problem(display, line, "", "", f"YAML syntax error at {column}{what}")
        except yaml.YAMLError as err:
            return source, Problem(display, None, "", "", f"YAML error: {err}")
        return source, None

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest node along `loc` that exists in the file."""
        if self._root is None:
            try:
                self._root = yaml.compose(self._text, Loader=InventoryLoader)
            except yaml.YAMLError:
                return None
        node = self._root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            child = None
            if isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        child, line = value_node, key_node.start_mark.line + 1
                        break
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line

    def value_at(self, loc: Loc) -> Any:
        node = self.data
        for part in loc:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                node = node[part]
            else:
                return None
        return node

    def problem(self, loc: Loc, rule: str) -> Problem:
        """A problem at `loc`, named by the entry it is in (e.g. town 'ina') and the field under it."""
        entry, field_parts = "", list(loc)
        for i, part in enumerate(loc):
            if isinstance(part, int) and i > 0:
                owner = str(loc[i - 1])
                item = self.value_at(loc[: i + 1])
                ident = item.get("id") or item.get("name") if isinstance(item, dict) else None
                name = ENTRY_NAMES.get(owner, owner)
                prefix = format_field(loc[: i - 1])
                entry = f"{prefix + '.' if prefix else ''}{name} {ident!r}" if ident else f"{name} #{part + 1}"
                field_parts = list(loc[i + 1 :])
                break
        return Problem(self.display, self.line_of(loc), entry, format_field(field_parts), rule)
