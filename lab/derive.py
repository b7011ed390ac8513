"""The lab's topology, derived from the inventory and the lab environment's address plan.

Profiles: `small` (the three towns with the lowest numbers; the test suite's lab) and `full` (all
towns). Both have the two carrier edge routers and both data centers. Interface names say what
they face, so an engineer reading `show interface` in the lab knows where each goes:
  PE:       pe-peer (the other PE), dc (its data center), t001 ... (the circuit to town n)
  DC edge:  wan (its PE), dci (the DC1-DC2 interconnect), lan (the DC LAN: app and db servers)
  DC1 edge: externals (the LGWAN gateway's and the security cloud's stand-ins, a namespace each)
  CE:       wan-primary, wan-backup, lan (town hall LAN: the servers), and one LAN with a client
            namespace per layer of 三層分離: clients (マイナンバー利用事務系, `<town>-pcs`), lgwan
            (LGWAN接続系, `<town>-lgw-pc`), internet (インターネット接続系, `<town>-inet-pc`)
The lab environment's execution nodes (exec-1 ...) are containers on the management network only.
The names come from `network/interfaces.py`, the one map the renderer uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Interface

from inventory.address_plan import AddressPlan
from inventory.loader import Inventory
from inventory.model.environment import EXECUTION_NODE_ROLE, EXECUTION_NODE_SITE
from inventory.model.towns import Town
from network.interfaces import SEGMENT_INTERFACE_ROLE, interface_name

from .topology import ClientNsSpec, ContainerSpec, Endpoint, LanSpec, LinkSpec, RouterSpec, StandinSpec, Topology

PROFILES = ("small", "full")
# Per layer, the names of a town's LAN for that segment and of the client namespace on it
# (`<town>-cli` and `<town>-pcs` for the マイナンバー利用事務系, the drills' view of the service).
SEGMENT_LAB_NAMES = {"mynumber": ("cli", "pcs"), "lgwan": ("lgw", "lgw-pc"), "internet": ("inet", "inet-pc")}
EXTERNALS_LAN = "externals"
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
    standins: list[StandinSpec] = []

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
        for name, role in dc.servers():
            containers.append(
                ContainerSpec(name, name, plan.mgmt[name], lan, plan.dc_hosts[name], site=dc.id, role=role)
            )

    # The external services (the LGWAN gateway, the security cloud's proxy) behind the primary DC's
    # edge: one namespace each, where the lab runs a stand-in (lab/standins.py).
    primary = inventory.primary_dc
    lans.append(
        LanSpec(EXTERNALS_LAN, primary.edge_router.name, interface_name("frr", "externals"), plan.external_gateway)
    )
    policy = inventory.segmentation
    services = policy.service_by_id()
    for target, address in plan.externals.items():
        ports = sorted(
            {
                services[flow.service].port
                for flow in policy.flows
                if any(d.kind == "external" and d.name == target for d in flow.destinations)
                and services[flow.service].port is not None
            }
        )
        standins += [StandinSpec(f"{target}-{port}", target, port) for port in ports]  # type: ignore[arg-type]
        clients.append(
            ClientNsSpec(
                target,
                EXTERNALS_LAN,
                IPv4Interface((address, plan.external_block.prefixlen)),
                site="externals",
                segment=target,
            )
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
        lan = f"{town.id}-lan"
        lans.append(LanSpec(lan, ce, interface_name("frr", "lan"), t.lan_gateway))
        for layer, segment in t.segments.items():
            lan_name, client = SEGMENT_LAB_NAMES[layer]
            lans.append(
                LanSpec(
                    f"{town.id}-{lan_name}", ce, interface_name("frr", SEGMENT_INTERFACE_ROLE[layer]), segment.gateway
                )
            )
            clients.append(
                ClientNsSpec(
                    f"{town.id}-{client}",
                    f"{town.id}-{lan_name}",
                    IPv4Interface((segment.gateway.ip + 1, segment.network.prefixlen)),
                    site=town.id,
                    segment=layer,
                )
            )
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

    # The execution nodes (the lab environment's execution_nodes): containers on the management
    # network only, which run the playbooks against the other nodes over their management addresses.
    for name in plan.execution_nodes:
        containers.append(
            ContainerSpec(name, name, plan.mgmt[name], None, None, site=EXECUTION_NODE_SITE, role=EXECUTION_NODE_ROLE)
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
        standins=tuple(standins),
    )
    topology.validate()
    return topology
