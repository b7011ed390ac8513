"""Checking and loading the inventory: the files read and validated (`loader`), then the cross-file
rules run over them (`rules`), every problem collected before an answer is given.

`check_inventory` answers with every problem; `load_inventory` is the strict entry point the rest of
municloud uses. Both run the inventory's own rules and any a caller adds: the command line adds the
rules that need a domain's engine (the cost allocation), which the inventory cannot import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .loader import Inventory, assemble_inventory, default_root, read_files
from .problems import InventoryError, Problem
from .rules import INVENTORY_RULES, Rule, run_rules


@dataclass
class CheckResult:
    inventory: Inventory | None
    problems: list[Problem]
    skipped_rules: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_inventory(root: Path | None = None, extra_rules: Iterable[Rule] = ()) -> CheckResult:
    root = root or default_root()
    files, problems = read_files(root)
    rule_problems, skipped = run_rules(files, [*INVENTORY_RULES.rules, *extra_rules])
    problems += rule_problems
    inventory = None if problems else assemble_inventory(files)
    return CheckResult(inventory, sorted(problems, key=_order), skipped)


def load_inventory(root: Path | None = None, extra_rules: Iterable[Rule] = ()) -> Inventory:
    result = check_inventory(root, extra_rules)
    if result.inventory is None:
        raise InventoryError(result.problems, result.skipped_rules)
    return result.inventory


def _order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line or 0, problem.rule)
