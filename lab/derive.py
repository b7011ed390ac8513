"""The lab's topology, derived from the inventory and the lab environment's address plan.

Profiles: `small` (the three towns with the lowest numbers; the test suite's lab) and `full` (all
towns). Both have the two carrier edge routers and both data centers. Interface names say what
they face, so an engineer reading `show interface` in the lab knows where each goes:
  PE:       pe-peer (the other PE), dc (its data center), t001 ... (the circuit to town n)
  DC edge:  wan (its PE), dci (the DC1-DC2 interconnect), lan (the DC LAN: app and db servers)
  CE:       wan-primary, wan-backup, lan (town hall LAN), clients (client segment)
The names come from `network/interfaces.py`, the one map the renderer uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Interface

from inventory.address_plan import AddressPlan
from inventory.loader import Inventory
from inventory.model.towns import Town
from network.interfaces import interface_name

from .topology import ClientNsSpec, ContainerSpec, Endpoint, LanSpec, LinkSpec, RouterSpec, Topology

PROFILES = ("small", "full")
SMALL_PROFILE_TOWNS = 3


def profile_towns(inventory: Inventory, profile: str) -> list[Town]:
    if profile not in PROFILES:
        raise KeyError(f"unknown lab profile '{profile}' (known: {', '.join(PROFILES)})")
    towns = sorted(inventory.towns, key=lambda t: t.number)
    return towns[:SMALL_PROFILE_TOWNS] if profile == "small" else towns


def derive_topology(inventory: Inventory, plan: AddressPlan, towns: Sequence[Town]) -> Topology:
    edges = list(inventory.wan.carrier.edges)
    pe_name = {e.id: e.name for e in edges}
    routers: list[RouterSpec] = []
    links: list[LinkSpec] = []
    lans: list[LanSpec] = []
    containers: list[ContainerSpec] = []
    clients: list[ClientNsSpec] = []

    def loopback(router: str) -> tuple[IPv4Interface, ...]:
        return (IPv4Interface((plan.loopbacks[router], 32)),)

    for edge in edges:
        routers.append(
            RouterSpec(edge.name, edge.name, plan.mgmt[edge.name], loopback(edge.name), site="carrier", role="pe")
        )
    dc_by_edge = {dc.edge_router.name: dc for dc in inventory.datacenters}
    for dc in inventory.datacenters:
        edge = dc.edge_router.name
        routers.append(RouterSpec(edge, edge, plan.mgmt[edge], loopback(edge), site=dc.id, role="dc-edge"))
        lan = f"{dc.id}-lan"
        lans.append(LanSpec(lan, edge, interface_name("frr", "lan"), plan.dc_gateways[dc.id]))
        for name in dc.server_names("app") + dc.server_names("db"):
            role = "app" if name in dc.server_names("app") else "db"
            containers.append(
                ContainerSpec(name, name, plan.mgmt[name], lan, plan.dc_hosts[name], site=dc.id, role=role)
            )

    for link in plan.core_links:
        if link.a_node in dc_by_edge and link.b_node in dc_by_edge:
            a_if = b_if = interface_name("frr", "dci")
        elif link.b_node in dc_by_edge:
            a_if, b_if = interface_name("frr", "dc"), interface_name("frr", "wan")
        else:
            a_if = b_if = interface_name("frr", "pe-peer")
        links.append(
            LinkSpec(
                link.name,
                Endpoint(link.a_node, a_if, link.a),
                Endpoint(link.b_node, b_if, link.b),
                kind="interconnect" if a_if == interface_name("frr", "dci") else "core",
            )
        )

    for town in towns:
        t = plan.towns[town.id]
        ce = town.router.name
        routers.append(RouterSpec(ce, ce, plan.mgmt[ce], (IPv4Interface((t.loopback, 32)),), site=town.id, role="ce"))
        for role, circuit_link in (("primary", t.primary), ("backup", t.backup)):
            circuit = getattr(town.circuits, role)
            links.append(
                LinkSpec(
                    circuit_link.name,
                    Endpoint(
                        pe_name[circuit.carrier_edge],
                        interface_name("frr", "town-circuit", town.number),
                        circuit_link.a,
                    ),
                    Endpoint(ce, interface_name("frr", f"wan-{role}"), circuit_link.b),
                    kind=f"circuit-{role}",
                )
            )
        lan, client_lan = f"{town.id}-lan", f"{town.id}-cli"
        lans.append(LanSpec(lan, ce, interface_name("frr", "lan"), t.lan_gateway))
        lans.append(LanSpec(client_lan, ce, interface_name("frr", "clients"), t.client_gateway))
        for server in town.servers:
            containers.append(
                ContainerSpec(
                    server.name,
                    server.name,
                    plan.mgmt[server.name],
                    lan,
                    t.servers[server.name],
                    site=town.id,
                    role=server.role,
                )
            )
        clients.append(
            ClientNsSpec(
                f"{town.id}-pcs",
                client_lan,
                IPv4Interface((t.client_gateway.ip + 1, t.clients.prefixlen)),
                site=town.id,
            )
        )

    topology = Topology(
        name=f"municloud lab ({len(towns)} towns)",
        mgmt_subnet=plan.management,
        ops_address=plan.ops_address,
        routers=tuple(routers),
        links=tuple(links),
        lans=tuple(lans),
        containers=tuple(containers),
        clients=tuple(clients),
    )
    topology.validate()
    return topology
