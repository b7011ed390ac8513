"""Plain data the stacks export: the address plan, the circuits, a town's records.

Pure functions of the inventory and the address plan, so the WAN stack, the town stacks and the
tests all see the same values, and `stack outputs` can trust their shape.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from inventory.address_plan import AddressPlan, Link
from inventory.loader import Inventory
from inventory.model.towns import Town


def _link(link: Link) -> dict[str, str]:
    return {
        "subnet": str(link.network),
        "a_node": link.a_node,
        "a_address": str(link.a),
        "b_node": link.b_node,
        "b_address": str(link.b),
    }


def circuits_export(inventory: Inventory, plan: AddressPlan) -> dict[str, Any]:
    """Each town's two carrier circuits as ordered by contract, with the addresses on them."""
    pe_name = {e.id: e.name for e in inventory.wan.carrier.edges}
    result: dict[str, Any] = {}
    for town in inventory.towns:
        t = plan.towns[town.id]
        result[town.id] = {
            role: {
                "id": circuit.id,
                "carrier": inventory.wan.carrier.name,
                "carrier_edge": circuit.carrier_edge,
                "pe": pe_name[circuit.carrier_edge],
                "ce": town.router.name,
                "bandwidth_mbps": circuit.bandwidth_mbps,
                **_link(link),
            }
            for role, circuit, link in (
                ("primary", town.circuits.primary, t.primary),
                ("backup", town.circuits.backup, t.backup),
            )
        }
    return result


# Peripheral kinds in a town office: (ClientCounts field, host name part). PCs take dynamic leases.
PERIPHERALS = (("printers", "prn"), ("multifunction", "mfp"), ("scanners", "scn"))


def town_records(town: Town, town_plan: dict[str, Any], zone: str) -> dict[str, Any]:
    """DNS names and DHCP reservations of one town, from the town's part of the exported plan.

    Peripherals get fixed addresses from the top of the client segment (reserved by client
    identifier, their host name: the inventory holds counts, not MAC addresses); the PCs share the
    dynamic pool below them.
    """
    clients = IPv4Network(town_plan["clients"])
    hosts = list(clients.hosts())
    gateway = town_plan["client_gateway"].split("/")[0]
    usable = [h for h in hosts if str(h) != gateway]
    peripherals = [
        f"{town.id}-{part}{i:02d}" for field, part in PERIPHERALS for i in range(1, getattr(town.clients, field) + 1)
    ]
    if len(peripherals) >= len(usable):
        raise ValueError(
            f"town {town.id}: {len(peripherals)} peripherals do not fit the client segment {clients} "
            f"({len(usable)} addresses)"
        )
    reserved = usable[len(usable) - len(peripherals) :]
    pool = usable[: len(usable) - len(peripherals)]
    reservations = [
        {"name": name, "fqdn": f"{name}.{zone}", "address": str(addr), "client_id": name}
        for name, addr in zip(peripherals, reserved, strict=True)
    ]
    servers = [
        {"name": name, "fqdn": f"{name}.{zone}", "address": addr.split("/")[0]}
        for name, addr in town_plan["servers"].items()
    ]
    return {
        "zone": zone,
        "dns": servers + [{k: r[k] for k in ("name", "fqdn", "address")} for r in reservations],
        "dhcp": {
            "subnet": str(clients),
            "gateway": gateway,
            "pool": {"start": str(pool[0]), "end": str(pool[-1]), "size": len(pool)},
            "pcs": town.clients.pcs,
            "reservations": reservations,
        },
    }
