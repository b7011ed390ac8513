"""The inventory as the commands check and load it: the inventory's own rules composed with the
rules that need a domain's engine (the cost model's, which runs the allocation). Every command goes
through here, so `inventory check` refuses what `cost allocate` would refuse, and a broken cost
model stops every command as before."""

from __future__ import annotations

from pathlib import Path

from costs.inventory_rules import COST_RULES
from inventory import check
from inventory.loader import Inventory


def check_inventory(root: Path | None = None) -> check.CheckResult:
    return check.check_inventory(root, COST_RULES.rules)


def load_inventory(root: Path | None = None) -> Inventory:
    return check.load_inventory(root, COST_RULES.rules)
