"""`WideAreaNetwork`: the carrier circuits and the address plan, recorded and exported.

The carrier has no API: circuits are ordered by contract. This stack checks them against the
inventory and the address plan, and exports them with the plan for the network automation.
"""

from __future__ import annotations

from typing import Any

import pulumi

from inventory.address_plan import AddressPlan, plan_as_dict, plan_problems
from inventory.loader import Inventory

from .exports import circuits_export


class WanInvalid(ValueError):
    """The circuits or the plan disagree with the inventory; every problem is listed."""


def wan_problems(inventory: Inventory, plan: AddressPlan) -> list[str]:
    problems = [message for _, message in plan_problems(plan, "prod")]
    edges = {e.id for e in inventory.wan.carrier.edges}
    towns_region = plan.regions["towns"]
    seen: dict[str, str] = {}
    for town in inventory.towns:
        if town.id not in plan.towns:
            problems.append(f"town {town.id}: not in the address plan")
            continue
        t = plan.towns[town.id]
        for role, circuit, link in (
            ("primary", town.circuits.primary, t.primary),
            ("backup", town.circuits.backup, t.backup),
        ):
            if circuit.carrier_edge not in edges:
                problems.append(
                    f"town {town.id}: {role} circuit {circuit.id} lands on unknown edge {circuit.carrier_edge}"
                )
            if not link.network.subnet_of(towns_region):
                problems.append(f"town {town.id}: {role} circuit {link.network} is outside the towns region")
            if circuit.id in seen:
                problems.append(f"town {town.id}: circuit id {circuit.id} is also {seen[circuit.id]}'s")
            seen[circuit.id] = f"{town.id} {role}"
        if town.circuits.primary.carrier_edge == town.circuits.backup.carrier_edge:
            problems.append(f"town {town.id}: both circuits land on {town.circuits.primary.carrier_edge}")
    return problems


def routers_export(inventory: Inventory, plan: AddressPlan) -> dict[str, Any]:
    """Every router the network automation reaches: carrier edges, DC edges, town CEs."""
    routers: dict[str, Any] = {}
    for edge in inventory.wan.carrier.edges:
        routers[edge.name] = {"role": "pe", "site": "carrier", "platform": None}
    for dc in inventory.datacenters:
        routers[dc.edge_router.name] = {"role": "dc-edge", "site": dc.id, "platform": None}
    for town in inventory.towns:
        routers[town.router.name] = {"role": "ce", "site": town.id, "platform": town.router.platform}
    for name, router in routers.items():
        router["mgmt_address"] = str(plan.mgmt[name].ip)
    return routers


class WideAreaNetwork(pulumi.ComponentResource):
    def __init__(
        self, name: str, inventory: Inventory, plan: AddressPlan, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("municloud:stacks:WideAreaNetwork", name, None, opts)
        problems = wan_problems(inventory, plan)
        if problems:
            raise WanInvalid("the WAN disagrees with the inventory:\n  " + "\n  ".join(problems))
        self.circuits = circuits_export(inventory, plan)
        self.address_plan = plan_as_dict(plan)
        self.routers = routers_export(inventory, plan)
        self.register_outputs({"circuits": self.circuits, "address_plan": self.address_plan, "routers": self.routers})
