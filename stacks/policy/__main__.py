"""The policy pack the engine runs: `pulumi preview --policy-pack stacks/policy` (see the README)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from inventory.check import load_inventory
from stacks.policy.rules import build_policies, facts_from_inventory

PolicyPack(
    name="municloud-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(facts_from_inventory(load_inventory())),
)
