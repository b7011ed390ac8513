"""The address plan, derived deterministically from the inventory and an environment's supernet.

Layout (regions carved in this order unless the environment gives them explicitly):
  core        the business-systems service prefix, one LAN per data center, router loopbacks,
              and the core links (PE-PE, DC-PE, the DC1-DC2 interconnect)
  management  one flat subnet (one bridge in the lab): the operations center first, then the core
              nodes, then the execution nodes (exec-1 ...), then one fixed-size slot per town
  towns       one block per town: its server LAN, one segment per layer of the three-layer
              separation (マイナンバー利用事務系, LGWAN接続系, インターネット接続系) sized from the
              town's device counts (`town_segments`), primary and backup circuits, loopback

A town's block and management slot are chosen by its `number`, never by its position in the file, so
adding a town (or reordering the file) leaves every existing town's addresses as they were. Inside a
block the LAN, the circuits and the loopback have fixed places at the top; the layer segments are
placed largest first from the bottom, so a town whose counts grow past a power of two gets its own
layer segments re-planned (the plan's diff shows it), nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from .model.addressing import AddressingFile
from .model.environment import EnvironmentConfig, execution_node_names
from .model.layers import LAYERS, Layer
from .model.segmentation import SegmentationFile
from .model.sites import DataCenter, site_servers
from .model.towns import Town
from .model.wan import CarrierEdge
from .town_segments import device_total, segment_devices, segment_prefix

LAB_SUPERNET = IPv4Network("198.18.0.0/15")  # RFC 2544 benchmarking range: the only one the lab may use
CORE_DC_SLOTS = 4  # data center LAN slots reserved in the core region
CORE_MGMT_SLOTS = 64  # management addresses reserved for the operations center and core nodes


class PlanError(ValueError):
    """The plan cannot be made; `subject` says which inventory entry is at fault."""

    def __init__(self, message: str, subject: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.subject = subject  # ("town", id[, field]) | ("addressing", field) | ("environment", field)


@dataclass(frozen=True)
class Link:
    """A point-to-point link; `a` is the provider side (PE, or DC1 on the interconnect)."""

    name: str
    kind: str  # "circuit-primary" | "circuit-backup" | "core"
    a_node: str
    a: IPv4Interface
    b_node: str
    b: IPv4Interface

    @property
    def network(self) -> IPv4Network:
        return self.a.network


@dataclass(frozen=True)
class Segment:
    """One layer's segment of a town hall: its network, the CE's gateway in it, what it holds."""

    layer: Layer
    network: IPv4Network
    gateway: IPv4Interface
    devices: int  # PCs and peripherals the inventory puts there (the network has room to spare)


@dataclass(frozen=True)
class TownAddresses:
    town: str
    block: IPv4Network
    lan: IPv4Network
    lan_gateway: IPv4Interface
    servers: dict[str, IPv4Interface]
    segments: dict[Layer, Segment]
    loopback: IPv4Address
    primary: Link
    backup: Link
    management: IPv4Network

    # The lab's client namespace stands in the マイナンバー利用事務系 segment, whose PCs use the
    # core business systems (the SLA probes' and the drills' view of the service).
    @property
    def clients(self) -> IPv4Network:
        return self.segments["mynumber"].network

    @property
    def client_gateway(self) -> IPv4Interface:
        return self.segments["mynumber"].gateway


@dataclass(frozen=True)
class AddressPlan:
    environment: str
    supernet: IPv4Network
    regions: dict[str, IPv4Network]
    management: IPv4Network
    ops_address: IPv4Interface  # the operations center (the root namespace in the lab)
    service_prefix: IPv4Network
    service_address: IPv4Address
    dc_lans: dict[str, IPv4Network]
    dc_gateways: dict[str, IPv4Interface]
    dc_hosts: dict[str, IPv4Interface]  # dc1-app1 -> its address on its DC LAN
    external_block: IPv4Network  # the LGWAN gateway, the security cloud's proxy (segmentation.yaml)
    externals: dict[str, IPv4Address]
    loopbacks: dict[str, IPv4Address]  # router name -> loopback
    core_links: tuple[Link, ...]
    towns: dict[str, TownAddresses]
    mgmt: dict[str, IPv4Interface] = field(default_factory=dict)  # node name -> management address
    execution_nodes: tuple[str, ...] = ()  # exec-1 ... exec-N, each with its address in `mgmt`

    @property
    def external_gateway(self) -> IPv4Interface:
        """The primary data center's edge in the external services' block (its last host)."""
        return IPv4Interface((self.external_block.broadcast_address - 1, self.external_block.prefixlen))

    def leaves(self) -> Iterator[tuple[str, IPv4Network]]:
        """Every allocation that must not overlap another, with a label naming it."""
        yield "management network", self.management
        yield "service prefix", self.service_prefix
        for dc, lan in self.dc_lans.items():
            yield f"data center {dc} LAN", lan
        for router, address in self.loopbacks.items():
            yield f"loopback of {router}", IPv4Network(address)
        for link in self.core_links:
            yield f"link {link.name}", link.network
        yield "external services", self.external_block
        for t in self.towns.values():
            yield f"town {t.town} LAN", t.lan
            for segment in t.segments.values():
                yield f"town {t.town} {segment.layer} segment", segment.network
            yield f"town {t.town} primary circuit", t.primary.network
            yield f"town {t.town} backup circuit", t.backup.network


class _Allocator:
    """Hands out aligned prefixes from a network, in order."""

    def __init__(self, network: IPv4Network) -> None:
        self.network = network
        self.next = int(network.network_address)

    def take(self, prefixlen: int, what: str) -> IPv4Network:
        size = 2 ** (32 - prefixlen)
        start = -(-self.next // size) * size
        end = start + size - 1
        if prefixlen < self.network.prefixlen or end > int(self.network.broadcast_address):
            raise PlanError(f"{self.network} has no room left for {what} (/{prefixlen})", ("environment", "supernet"))
        self.next = end + 1
        return IPv4Network((start, prefixlen))


def _prefix_for(count: int) -> int:
    """The longest prefix holding `count` addresses."""
    return 32 - max(0, (count - 1).bit_length())


def _link(name: str, kind: str, net: IPv4Network, a_node: str, b_node: str) -> Link:
    hosts = [net.network_address, net.network_address + 1] if net.prefixlen == 31 else list(net.hosts())[:2]
    return Link(
        name,
        kind,
        a_node,
        IPv4Interface((hosts[0], net.prefixlen)),
        b_node,
        IPv4Interface((hosts[1], net.prefixlen)),
    )


def plan_addresses(
    env: EnvironmentConfig,
    addressing: AddressingFile,
    towns: Sequence[Town],
    datacenters: Sequence[DataCenter],
    edges: Sequence[CarrierEdge],
    segmentation: SegmentationFile,
) -> AddressPlan:
    a = addressing
    mgmt_slot = 2 ** (32 - a.management_per_town_prefix)
    sizes = {
        "core": a.core_prefix,
        "management": _prefix_for(CORE_MGMT_SLOTS + a.town_capacity * mgmt_slot),
        "towns": _prefix_for(a.town_capacity * 2 ** (32 - a.town_block_prefix)),
    }
    regions = _regions(env, sizes)

    # Core: the service prefix, the DC LANs, loopbacks, links.
    core = _Allocator(regions["core"])
    service_prefix = core.take(a.service_prefix, "the service prefix")
    dc_slots = [core.take(a.dc_lan_prefix, f"data center LAN {i + 1}") for i in range(CORE_DC_SLOTS)]
    if len(datacenters) > CORE_DC_SLOTS:
        raise PlanError(f"the plan has room for {CORE_DC_SLOTS} data centers", ("datacenters", "datacenters"))
    routers = [e.name for e in edges] + [dc.edge_router.name for dc in datacenters]
    loopback_block = core.take(_prefix_for(max(len(routers), 2) * 2), "router loopbacks")
    loopbacks = {name: loopback_block.network_address + i for i, name in enumerate(routers)}
    link_block_prefix = a.circuit_prefix
    core_links: list[Link] = []
    if len(edges) >= 2:
        core_links.append(
            _link(
                f"{edges[0].id}-{edges[1].id}",
                "core",
                core.take(link_block_prefix, "PE link"),
                edges[0].name,
                edges[1].name,
            )
        )
    edge_name = {e.id: e.name for e in edges}
    for dc in datacenters:
        core_links.append(
            _link(
                f"{dc.id}-{dc.carrier_edge}",
                "core",
                core.take(link_block_prefix, "DC link"),
                edge_name.get(dc.carrier_edge, dc.carrier_edge),
                dc.edge_router.name,
            )
        )
    if len(datacenters) >= 2:
        primary, backup = datacenters[0], datacenters[1]
        core_links.append(
            _link(
                f"{primary.id}-{backup.id}",
                "core",
                core.take(link_block_prefix, "DC interconnect"),
                primary.edge_router.name,
                backup.edge_router.name,
            )
        )

    # The networks outside the town halls and the DCs' servers that a layer reaches (segmentation.yaml
    # externals: the LGWAN gateway, the security cloud's proxy): in the lab, stand-ins of our own.
    # (the network and broadcast addresses, one host per target, and the data center's gateway last)
    external_block = core.take(_prefix_for(max(len(segmentation.externals), 1) + 3), "the external services")
    external_hosts = external_block.hosts()
    externals = {e.id: next(external_hosts) for e in segmentation.externals}

    dc_lans, dc_gateways, dc_hosts = {}, {}, {}
    for dc, lan in zip(datacenters, dc_slots, strict=False):
        dc_lans[dc.id] = lan
        hosts = lan.hosts()
        dc_gateways[dc.id] = IPv4Interface((next(hosts), lan.prefixlen))
        for name, _role in dc.servers():
            dc_hosts[name] = IPv4Interface((_next_host(hosts, lan, name), lan.prefixlen))

    # Management: ops center, core nodes, then a slot per town.
    management = regions["management"]
    mgmt_hosts = management.hosts()
    ops = IPv4Interface((next(mgmt_hosts), management.prefixlen))
    mgmt: dict[str, IPv4Interface] = {}
    core_nodes = routers + [name for name, _role in site_servers(datacenters)]
    if len(core_nodes) + 1 > CORE_MGMT_SLOTS - 2:
        raise PlanError("too many core nodes for the management plan", ("datacenters", "datacenters"))
    # The execution nodes after the core nodes, so that adding them (or more of them) moves no address.
    execution_nodes = tuple(execution_node_names(env.execution_nodes))
    if len(core_nodes) + len(execution_nodes) + 1 > CORE_MGMT_SLOTS - 2:
        raise PlanError(
            f"{len(execution_nodes)} execution nodes do not fit the management plan beside its "
            f"{len(core_nodes)} core nodes ({CORE_MGMT_SLOTS - 3} addresses in all)",
            ("environment", "execution_nodes"),
        )
    for name in (*core_nodes, *execution_nodes):
        mgmt[name] = IPv4Interface((next(mgmt_hosts), management.prefixlen))

    # Towns: block and management slot by number.
    town_region = regions["towns"]
    block_size = 2 ** (32 - a.town_block_prefix)
    plans: dict[str, TownAddresses] = {}
    pe = {e.id: e.name for e in edges}
    for town in towns:
        if town.number > a.town_capacity:
            raise PlanError(
                f"number {town.number} is beyond the address plan's town_capacity ({a.town_capacity}); "
                "raise town_capacity in addressing.yaml (this re-plans every address: see the README)",
                ("town", town.id),
            )
        slot = town.number - 1
        block = IPv4Network((int(town_region.network_address) + slot * block_size, a.town_block_prefix))
        devices = {layer: device_total(c) for layer, c in segment_devices(town, segmentation).items()}
        wanted = {layer: segment_prefix(devices[layer], segmentation.headroom_percent) for layer in LAYERS}
        # The fixed parts sit at the top of the block, whatever the counts: the server LAN, then
        # the circuits (the carrier configures their PE side) and the loopback in the last LAN-sized
        # slot. The layer segments fill the block from the bottom, largest first: power-of-two
        # segments placed in falling size leave no hole, so they fit exactly when their sizes add up
        # to no more than the room below the fixed parts.
        lan_size = 2 ** (32 - a.town_lan_prefix)
        room = block_size - 2 * lan_size
        need = sum(2 ** (32 - p) for p in wanted.values())
        if need > room:
            sizes = ", ".join(f"{name} /{prefixlen} ({devices[name]} devices)" for name, prefixlen in wanted.items())
            raise PlanError(
                f"its segments ({sizes}, with {segmentation.headroom_percent}% headroom) need {need} addresses; "
                f"its block {block} has {room} beside its LAN, circuits and loopback: give fewer devices per "
                "segment (towns.yaml clients, segmentation.yaml), less headroom, or a shorter town_block_prefix "
                "in addressing.yaml (this re-plans every town)",
                ("town", town.id, "clients"),
            )
        inner = _Allocator(block)
        placed = {
            name: inner.take(prefixlen, f"town {town.id}'s {name} segment")
            for name, prefixlen in sorted(wanted.items(), key=lambda item: item[1])
        }
        top = int(block.network_address) + block_size
        lan = IPv4Network((top - 2 * lan_size, a.town_lan_prefix))
        fixed = _Allocator(IPv4Network((top - lan_size, a.town_lan_prefix)))
        primary_net = fixed.take(a.circuit_prefix, "the primary circuit")
        backup_net = fixed.take(a.circuit_prefix, "the backup circuit")
        lan_hosts = lan.hosts()
        lan_gateway = IPv4Interface((next(lan_hosts), lan.prefixlen))
        servers = {s.name: IPv4Interface((_next_host(lan_hosts, lan, s.name), lan.prefixlen)) for s in town.servers}
        t_mgmt = IPv4Network(
            (
                int(management.network_address) + CORE_MGMT_SLOTS + slot * mgmt_slot,
                a.management_per_town_prefix,
            )
        )
        t_mgmt_hosts = [t_mgmt.network_address + i for i in range(mgmt_slot)]
        names = [town.router.name] + [s.name for s in town.servers]
        if len(names) > mgmt_slot:
            raise PlanError(f"{len(names)} nodes do not fit its management slot of {mgmt_slot}", ("town", town.id))
        for name, address in zip(names, t_mgmt_hosts, strict=False):
            mgmt[name] = IPv4Interface((address, management.prefixlen))

        def circuit(role: str, net: IPv4Network, town: Town = town) -> Link:
            edge = getattr(town.circuits, role).carrier_edge
            return _link(f"{town.id}-{role}", f"circuit-{role}", net, pe.get(edge, "?"), town.router.name)

        plans[town.id] = TownAddresses(
            town=town.id,
            block=block,
            lan=lan,
            lan_gateway=lan_gateway,
            servers=servers,
            segments={
                layer: Segment(
                    layer,
                    placed[layer],
                    IPv4Interface((placed[layer].network_address + 1, placed[layer].prefixlen)),
                    devices[layer],
                )
                for layer in LAYERS
            },
            loopback=block.broadcast_address,
            primary=circuit("primary", primary_net),
            backup=circuit("backup", backup_net),
            management=t_mgmt,
        )

    return AddressPlan(
        environment=env.name,
        supernet=env.supernet,
        regions=regions,
        management=management,
        ops_address=ops,
        service_prefix=service_prefix,
        service_address=service_prefix.network_address + 1,
        dc_lans=dc_lans,
        dc_gateways=dc_gateways,
        dc_hosts=dc_hosts,
        external_block=external_block,
        externals=externals,
        loopbacks=loopbacks,
        core_links=tuple(core_links),
        towns=plans,
        mgmt=mgmt,
        execution_nodes=execution_nodes,
    )


def operations_servers(plan: AddressPlan, datacenters: Sequence[DataCenter]) -> list[IPv4Address]:
    """The data centers' NTP and syslog servers, as routers and servers are told: the first app
    server of each DC (DC1 first), so either site alone keeps the towns' clocks and logs; at their
    management addresses, since time and logs are management traffic (segmentation.yaml: nothing
    but the service crosses from a town hall's segments to the data centers)."""
    return [plan.mgmt[name].ip for dc in datacenters for name in dc.server_names("app")[:1] if name in plan.mgmt]


def _next_host(hosts: Iterator[IPv4Address], lan: IPv4Network, name: str) -> IPv4Address:
    try:
        return next(hosts)
    except StopIteration:
        raise PlanError(f"{lan} has no address left for {name}", ("addressing", "town_lan_prefix")) from None


def _regions(env: EnvironmentConfig, sizes: dict[str, int]) -> dict[str, IPv4Network]:
    """Explicit regions as given; the others carved in order from the supernet, around them."""
    given = {name: getattr(env.regions, name) for name in sizes}
    for name, explicit in given.items():
        if explicit is not None and explicit.prefixlen > sizes[name]:
            raise PlanError(
                f"regions.{name} {explicit} is too small: the plan needs a /{sizes[name]}",
                ("environment", f"regions.{name}"),
            )
    taken = [net for net in given.values() if net is not None]
    carve = _Allocator(env.supernet)
    regions: dict[str, IPv4Network] = {}
    for name, prefixlen in sizes.items():
        if given[name] is not None:
            regions[name] = given[name]
            continue
        candidate = carve.take(prefixlen, f"the {name} region")
        while any(candidate.overlaps(net) for net in taken):
            candidate = carve.take(prefixlen, f"the {name} region")
        regions[name] = candidate
    return regions


def _link_dict(link: Link) -> dict[str, str]:
    return {"name": link.name, "a_node": link.a_node, "a": str(link.a), "b_node": link.b_node, "b": str(link.b)}


def plan_as_dict(plan: AddressPlan) -> dict[str, Any]:
    """The plan as plain data: `inventory plan-addresses --json` prints it, the WAN stack exports it."""
    return {
        "environment": plan.environment,
        "supernet": str(plan.supernet),
        "regions": {k: str(v) for k, v in plan.regions.items()},
        "management": str(plan.management),
        "ops_address": str(plan.ops_address),
        "service_prefix": str(plan.service_prefix),
        "service_address": str(plan.service_address),
        "dc_lans": {k: str(v) for k, v in plan.dc_lans.items()},
        "dc_gateways": {k: str(v) for k, v in plan.dc_gateways.items()},
        "externals": {k: str(v) for k, v in plan.externals.items()},
        "loopbacks": {k: str(v) for k, v in plan.loopbacks.items()},
        "core_links": [_link_dict(link) for link in plan.core_links],
        "mgmt": {k: str(v) for k, v in plan.mgmt.items()},
        "towns": {
            tid: {
                "block": str(t.block),
                "lan": str(t.lan),
                "lan_gateway": str(t.lan_gateway),
                "servers": {k: str(v) for k, v in t.servers.items()},
                "segments": {
                    layer: {"network": str(seg.network), "gateway": str(seg.gateway), "devices": seg.devices}
                    for layer, seg in t.segments.items()
                },
                "loopback": str(t.loopback),
                "primary": _link_dict(t.primary),
                "backup": _link_dict(t.backup),
                "management": str(t.management),
            }
            for tid, t in plan.towns.items()
        },
    }


def plan_problems(plan: AddressPlan, kind: str) -> list[tuple[tuple[str, ...], str]]:
    """Overlaps, allocations outside the supernet, and (lab) anything outside 198.18.0.0/15."""
    found: list[tuple[tuple[str, ...], str]] = []
    if kind == "lab" and not plan.supernet.subnet_of(LAB_SUPERNET):
        found.append(
            (
                ("environment", "supernet"),
                f"a lab may only use addresses inside {LAB_SUPERNET}; {plan.supernet} is not",
            )
        )
    names = list(plan.regions.items())
    for i, (name, region) in enumerate(names):
        if not region.subnet_of(plan.supernet):
            found.append((("environment", f"regions.{name}"), f"{region} is outside the supernet {plan.supernet}"))
        for other, other_region in names[i + 1 :]:
            if region.overlaps(other_region):
                found.append((("environment", f"regions.{name}"), f"{region} overlaps regions.{other} {other_region}"))
    # A sweep in address order: each allocation is compared with the one reaching furthest so far,
    # so an overlap is found even when a big prefix swallows several small ones.
    widest: tuple[str, IPv4Network] | None = None
    for label, net in sorted(plan.leaves(), key=lambda item: (int(item[1].network_address), item[1].prefixlen)):
        if widest is not None and net.overlaps(widest[1]):
            found.append((("environment", "regions"), f"{label} {net} overlaps {widest[0]} {widest[1]}"))
        if widest is None or int(net.broadcast_address) > int(widest[1].broadcast_address):
            widest = (label, net)
    return found
