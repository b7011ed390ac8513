"""Cross-file rules of the inventory (see `registry`): each module registers its rules with
`INVENTORY_RULES`, importing this package registers them all."""

from __future__ import annotations

from . import contacts, contract, costs, identity, network, segmentation, subscriptions, vsphere  # noqa: F401  (each registers its rules)
from .registry import INVENTORY_RULES, Finding, Rule, RuleSet, run_rules

__all__ = ["INVENTORY_RULES", "Finding", "Rule", "RuleSet", "run_rules"]
