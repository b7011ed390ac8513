"""Plain data the stacks export: the address plan, the circuits, a town's records.

Pure functions of the inventory and the address plan, so the WAN stack, the town stacks and the
tests all see the same values, and `stack outputs` can trust their shape.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from inventory.address_plan import AddressPlan, Link
from inventory.loader import Inventory
from inventory.model.layers import LAYERS
from inventory.model.segmentation import SegmentationFile
from inventory.model.towns import Town
from inventory.town_segments import segment_devices


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


def town_records(town: Town, policy: SegmentationFile, town_plan: dict[str, Any], zone: str) -> dict[str, Any]:
    """DNS names and DHCP scopes of one town, one scope per layer segment (三層分離), from the town's
    part of the exported plan and the devices the policy puts in each segment.

    Peripherals get fixed addresses from the top of their segment (reserved by client identifier,
    their host name: the inventory holds counts, not MAC addresses), numbered across the segments
    (ina-prn01 and up); the PCs share the dynamic pool below them. The plan sizes every segment for
    its devices; a plan that does not (an old export) is an error naming the town and the segment.
    """
    devices = segment_devices(town, policy)
    numbers = {kind: 0 for kind, _ in PERIPHERALS}
    dns = [
        {"name": name, "fqdn": f"{name}.{zone}", "address": addr.split("/")[0]}
        for name, addr in town_plan["servers"].items()
    ]
    scopes: dict[str, Any] = {}
    if "segments" not in town_plan:
        raise ValueError(
            f"town {town.id}: the prod-wan stack exports an address plan without segments: update prod-wan"
        )
    for layer in LAYERS:
        segment = town_plan["segments"][layer]
        network = IPv4Network(segment["network"])
        gateway = segment["gateway"].split("/")[0]
        usable = [h for h in network.hosts() if str(h) != gateway]
        counts = devices[layer]
        peripherals = []
        for kind, part in PERIPHERALS:
            for _ in range(getattr(counts, kind)):
                numbers[kind] += 1
                peripherals.append(f"{town.id}-{part}{numbers[kind]:02d}")
        if len(peripherals) + counts.pcs > len(usable):
            raise ValueError(
                f"town {town.id}: {counts.pcs} PCs and {len(peripherals)} peripherals do not fit its {layer} "
                f"segment {network} ({len(usable)} addresses): re-run the prod-wan stack for the current plan"
            )
        pool = usable[: len(usable) - len(peripherals)]
        reservations = [
            {"name": name, "fqdn": f"{name}.{zone}", "address": str(addr), "client_id": name}
            for name, addr in zip(peripherals, usable[len(pool) :], strict=True)
        ]
        dns += [{k: r[k] for k in ("name", "fqdn", "address")} for r in reservations]
        scopes[layer] = {
            "subnet": str(network),
            "gateway": gateway,
            "pool": {"start": str(pool[0]), "end": str(pool[-1]), "size": len(pool)} if pool else None,
            "pcs": counts.pcs,
            "reservations": reservations,
        }
    return {"zone": zone, "dns": dns, "dhcp": scopes}
