"""The stacks' outputs turned into the environment binding (the format `lab up` writes for the lab)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory.environment import BindingFile, BoundHostOverride
from inventory.loader import Inventory

from .naming import DC_SCOPE, WAN_SCOPE, parse_stack


def binding_from_outputs(env: str, inventory: Inventory, outputs: Mapping[str, Mapping[str, Any]]) -> BindingFile:
    """`outputs` maps a stack name to its outputs. The towns are those whose stack has outputs;
    every host's management address is the one its stack exports."""
    hosts: dict[str, BoundHostOverride] = {}
    towns: list[str] = []
    for stack_name, out in outputs.items():
        stack = parse_stack(stack_name)
        if stack.env != env or not out:
            continue
        if stack.scope == DC_SCOPE:
            entries = out.get("hosts", {})
        elif stack.scope == WAN_SCOPE:
            entries = out.get("routers", {})
        else:
            towns.append(stack.scope)
            entries = out.get("servers", {})
        for name, host in entries.items():
            hosts[name] = BoundHostOverride(mgmt_address=host["mgmt_address"])
    order = {t.id: i for i, t in enumerate(inventory.towns)}
    unknown = [t for t in towns if t not in order]
    if unknown:
        raise KeyError(f"stacks of towns not in the inventory: {', '.join(unknown)}")
    return BindingFile(environment=env, towns=sorted(towns, key=order.__getitem__), hosts=hosts)
