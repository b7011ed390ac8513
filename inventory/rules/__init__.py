"""Cross-file rules of the inventory (see `registry`): each module registers its rules with
`INVENTORY_RULES`, importing this package registers them all."""

from __future__ import annotations

from . import (  # noqa: F401  (each registers its rules)
    contacts,
    contract,
    costs,
    identity,
    network,
    regions,
    segmentation,
    subscriptions,
    vsphere,
)
from .registry import INVENTORY_RULES, Finding, Rule, RuleSet, run_rules

__all__ = ["INVENTORY_RULES", "Finding", "Rule", "RuleSet", "run_rules"]
