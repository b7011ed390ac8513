"""Cross-file rules: each a small function registered with a rule set's decorator. The inventory's
own rules are in this package; a domain may add rules that need its own engine (the costs' check
runs the allocation) and the command that checks the inventory composes them (`inventory.check`).

A rule says which files it needs; it runs only when all of them validated against their models (a
rule over a broken file would report nonsense), and the check says which rules it had to skip.
When only some entries of a list failed (one bad town), the rules run over the others, except the
rules that need that file complete (a control total, references into it).
A rule yields findings: (file key, location inside that file, what is broken).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..loader import LoadedFiles
from ..problems import Loc, Problem

Finding = tuple[str, Loc, str]
RuleFunction = Callable[[LoadedFiles], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    needs: tuple[str, ...]
    complete: tuple[str, ...]
    check: RuleFunction


class RuleSet:
    """An ordered set of rules; `@rules.rule("towns", ...)` adds the function below it."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def rule(self, *needs: str, complete: tuple[str, ...] = ()) -> Callable[[RuleFunction], RuleFunction]:
        def register(check: RuleFunction) -> RuleFunction:
            self.rules.append(Rule(check.__name__, needs, complete, check))
            return check

        return register


INVENTORY_RULES = RuleSet()  # the inventory's own rules, registered by the modules of this package


def run_rules(files: LoadedFiles, rules: Iterable[Rule]) -> tuple[list[Problem], list[str]]:
    problems: list[Problem] = []
    skipped: list[str] = []
    for r in rules:
        missing = [n for n in r.needs if n not in files.models and n != "environments"]
        missing += [n for n in r.complete if n in files.partial]
        if missing:
            skipped.append(f"{r.name} (needs {', '.join(missing)})")
            continue
        for file_key, loc, message in r.check(files):
            problems.append(files.sources[file_key].problem(_original_loc(files, file_key, loc), message))
    return problems, skipped


def _original_loc(files: LoadedFiles, file_key: str, loc: Loc) -> Loc:
    """Map an index into a salvaged list back to the entry's index in the file."""
    if file_key in files.partial and len(loc) > 1 and loc[0] == files.partial[file_key][0]:
        index = loc[1]
        if isinstance(index, int):
            return (loc[0], files.partial[file_key][1][index], *loc[2:])
    return loc
