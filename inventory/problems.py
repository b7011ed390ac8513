"""Problems found in the inventory, worded so a person can act on them:
`file:line: entry: field: rule broken`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    entry: str
    field: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return ": ".join(part for part in (where, self.entry, self.field, self.rule) if part)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "entry": self.entry,
            "field": self.field,
            "rule": self.rule,
        }


class InventoryError(Exception):
    """The inventory is not valid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem], skipped: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.skipped = list(skipped)
        super().__init__(self.summary())

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(f"{len(self.problems)} problem(s) in the inventory")
        return "\n".join(lines)


def format_field(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_name(kind: str, name: str, known: list[str]) -> str:
    """'unknown town 'inaa' (did you mean 'ina'?)': a reference to nothing, with the nearest name."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"unknown {kind} '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
