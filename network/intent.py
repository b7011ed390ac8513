"""What each router should be: the routing design, derived from the inventory and the environment.

The design (the shared WAN is hub and spoke, and carries the resident-data layer of 三層分離):
- eBGP CE-PE on both circuits, with BFD; the CE sets local preference (primary 200, backup 100) on
  what it learns and prepends its AS on what it announces out the backup, so the primary circuit
  wins in both directions.
- A town accepts only the service prefix and the external services' block (the LGWAN gateway and
  the security cloud, behind the primary DC's edge) and announces only its own LAN and its three
  segments (三層分離); the PEs filter the same way on their side and send a town only those two
  prefixes: towns reach the service, never each other nor the DC LANs.
- PE1-PE2 iBGP over pe-peer (next-hop-self). The DC edges speak eBGP to their PE; both announce the
  service prefix (routed to their app server), DC2 with a prepend so DC1 is preferred. DC1-DC2
  reach each other's LAN over the interconnect (static routes) for database replication; each DC edge
  also has a floating static route to the towns' region via the other, for when its carrier edge
  returns from an outage.
- No default route anywhere. Management on its own interface, and NTP and syslog over it (to the
  DC app servers' management addresses): no router or server needs the data plane for them.

Platforms differ in what they can express (`inventory/platforms.py`): a session to or from a router
whose BGP has no BFD (Yamaha RTX, NEC IX) runs the WAN's short timers instead of BFD, on both ends
(`Neighbor.bfd`, `keepalive_s`, `hold_s`); for a town router without route maps per neighbour (RTX)
the carrier edges set the path preference (local preference on what its backup circuit brings, an
AS-path prepend on what they send over it) and the town's router filters per remote AS only.

`DeviceIntent` is platform-neutral; the templates (`network/templates/<platform>.j2`) turn it into
configuration text. It also says what to verify after a change (`expected_prefixes`, `neighbors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from inventory.address_plan import AddressPlan, operations_servers
from inventory.environment import BoundHost, EnvironmentBinding
from inventory.flow_plan import concrete_flows
from inventory.loader import Inventory
from inventory.platforms import platform_facts

from .filters import PacketFilter, carrier_filter, segment_filter
from .interfaces import INTERFACE_MAPS, SEGMENT_INTERFACE_ROLE
from .interfaces import interface_name as _interface_name

BFD_PROFILE = "WAN"
# A session whose peer is not (yet, or no longer) answering is retried after this many seconds. Both
# ends of a new session are configured a second or more apart, so the first end's attempts fail and it
# waits this long: with 5 s a carrier edge's sessions took 4.7 s to come up after its push in the full
# lab's day-0 apply, with 1 s 2.4 s (BFD's 1 s slow start is most of the rest); a circuit back from a
# fault reconnects as soon. A SYN a second per peer that is down costs nothing.
BGP_CONNECT_RETRY_S = 1
# Administrative distance of a static route that must lose to every routing protocol.
FLOATING_STATIC_DISTANCE = 250


@dataclass(frozen=True)
class Interface:
    name: str
    description: str
    address: IPv4Interface | None
    bfd: bool = False  # a BGP session with BFD runs over it
    vlan: int | None = None  # the 802.1Q tag, where the platform carries the segment as a VLAN


@dataclass(frozen=True)
class PrefixListEntry:
    seq: int
    action: str
    prefix: IPv4Network


@dataclass(frozen=True)
class RouteMapEntry:
    seq: int
    action: str
    match_prefix_list: str | None = None
    local_preference: int | None = None
    prepend: tuple[int, ...] = ()


@dataclass(frozen=True)
class Detection:
    """How a session between two platforms notices a silent circuit loss."""

    bfd: bool
    keepalive_s: int
    hold_s: int


@dataclass(frozen=True)
class Neighbor:
    address: IPv4Address
    remote_as: int
    description: str
    peer: str  # the router at the other end (a name of this binding)
    route_map_in: str | None = None
    route_map_out: str | None = None
    next_hop_self: bool = False
    # Failure detection of this session: BFD, or (when either end's platform has none) the short
    # timers of wan.yaml's failure_detection.bgp_timers; both ends of a session always agree.
    detection: Detection = field(default_factory=lambda: Detection(True, 3, 9))

    @property
    def bfd(self) -> bool:
        return self.detection.bfd

    @property
    def keepalive_s(self) -> int:
        return self.detection.keepalive_s

    @property
    def hold_s(self) -> int:
        return self.detection.hold_s


@dataclass(frozen=True)
class StaticRoute:
    prefix: IPv4Network
    via: IPv4Address
    distance: int | None = None  # None: the platform's default (1); higher: used only when nothing else is


@dataclass(frozen=True)
class ExpectedPrefix:
    """A prefix this router must have in its routing table once every router in `requires` carries
    its intended configuration."""

    prefix: IPv4Network
    requires: frozenset[str]


@dataclass
class DeviceIntent:
    name: str
    hostname: str
    role: str  # pe | ce | dc-edge
    platform: str
    site: str
    town: str | None
    asn: int
    router_id: IPv4Address
    mgmt: Interface
    loopback: IPv4Interface
    interfaces: list[Interface] = field(default_factory=list)
    prefix_lists: dict[str, list[PrefixListEntry]] = field(default_factory=dict)
    route_maps: dict[str, list[RouteMapEntry]] = field(default_factory=dict)
    neighbors: list[Neighbor] = field(default_factory=list)
    networks: list[IPv4Network] = field(default_factory=list)
    static_routes: list[StaticRoute] = field(default_factory=list)
    filters: list[PacketFilter] = field(default_factory=list)  # inbound, per interface (network/filters.py)
    bfd_tx_ms: int = 300
    bfd_rx_ms: int = 300
    bfd_multiplier: int = 3
    ntp_servers: list[IPv4Address] = field(default_factory=list)
    syslog_servers: list[IPv4Address] = field(default_factory=list)
    mgmt_subnet: IPv4Network | None = None
    expected_prefixes: list[ExpectedPrefix] = field(default_factory=list)
    # prefixes a town router may hold from BGP (anything else learnt is a leak between towns)
    allowed_bgp_prefixes: list[IPv4Network] | None = None
    model: str | None = None  # the hardware, where the inventory names it (Yamaha, NEC)
    firmware: str | None = None


def interface_name(platform: str, role: str, town_number: int | None = None) -> str:
    """The platform's name for an interface role; a placeholder for a platform without templates
    (its routers are reported as unsupported when rendered, and nothing is sent to them)."""
    if platform not in INTERFACE_MAPS:
        return f"<{role}>"
    return _interface_name(platform, role, town_number)


def session_detection(inventory: Inventory, *platforms: str) -> Detection:
    """BFD under the WAN's timers when every end runs BFD; else the short BGP timers."""
    wan = inventory.wan
    if all(platform_facts(p).failure_detection == "bfd" for p in platforms):
        return Detection(True, wan.bgp.keepalive_s, wan.bgp.hold_s)
    timers = wan.failure_detection.bgp_timers
    return Detection(False, timers.keepalive_s, timers.hold_s)


def _prefix_list(prefixes: list[IPv4Network]) -> list[PrefixListEntry]:
    return [PrefixListEntry(5 * (i + 1), "permit", p) for i, p in enumerate(prefixes)]


def build_intents(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, DeviceIntent]:
    """Every router of the binding, by name, with its intended configuration."""
    plan = binding.plan
    wan = inventory.wan
    carrier_asn = wan.carrier.asn
    pe_by_id = {e.id: e.name for e in wan.carrier.edges}
    routers = {r.name: r for r in binding.routers()}
    towns = [inventory.town(t) for t in binding.towns]
    dcs = list(inventory.datacenters)
    dc_edges = [dc.edge_router.name for dc in dcs]
    pes = [e.name for e in wan.carrier.edges]
    core = frozenset(pes + dc_edges)
    primary_dc = inventory.primary_dc
    dc_prefixes = [plan.service_prefix, *(plan.dc_lans[dc.id] for dc in dcs), plan.external_block]
    # A town is sent only what its segments may reach: the service address and the external services
    # (the LGWAN gateway, the security cloud), never the DC LANs (segmentation.yaml's flows).
    town_receives = [plan.service_prefix, plan.external_block]
    town_prefixes = {
        t.id: [plan.towns[t.id].lan, *(s.network for s in plan.towns[t.id].segments.values())] for t in towns
    }
    all_town_prefixes = [p for t in towns for p in town_prefixes[t.id]]
    services = operations_servers(plan, dcs)
    flows = concrete_flows(inventory.segmentation, plan, dcs, [t.id for t in towns])
    pref = wan.path_preference

    own_platform = {t.router.name: t.router.platform for t in inventory.towns}

    def platform_of(name: str) -> str:
        """The platform a router runs in this binding (a town outside it: the inventory's)."""
        host = routers.get(name)
        return (host.platform if host is not None else own_platform.get(name)) or "frr"

    def session(a: str, b: str) -> Detection:
        """How the session between routers `a` and `b` detects a silent circuit loss."""
        return session_detection(inventory, platform_of(a), platform_of(b))

    def base(host: BoundHost, asn: int, router_id: IPv4Address) -> DeviceIntent:
        platform = host.platform or "frr"
        return DeviceIntent(
            name=host.name,
            hostname=host.name,
            role=host.role,
            platform=platform,
            site=host.site,
            town=host.town,
            asn=asn,
            router_id=router_id,
            mgmt=Interface(
                interface_name(platform, "mgmt"),
                "management",
                IPv4Interface((host.mgmt_address, plan.management.prefixlen)),
            ),
            loopback=IPv4Interface((router_id, 32)),
            bfd_tx_ms=wan.bfd.transmit_interval_ms,
            bfd_rx_ms=wan.bfd.receive_interval_ms,
            bfd_multiplier=wan.bfd.detect_multiplier,
            ntp_servers=services,
            syslog_servers=services,
            mgmt_subnet=plan.management,
        )

    intents: dict[str, DeviceIntent] = {}
    links = {link.name: link for link in plan.core_links}

    # ---- carrier edges (PE) ---------------------------------------------------------------------------
    pe_link = next((lk for lk in plan.core_links if lk.a_node in pes and lk.b_node in pes), None)
    for edge in wan.carrier.edges:
        if edge.name not in routers:
            continue
        host = routers[edge.name]
        d = base(host, carrier_asn, plan.loopbacks[edge.name])
        platform = d.platform
        d.prefix_lists["DC-PREFIXES"] = _prefix_list(town_receives)
        d.route_maps["TOWN-OUT"] = [RouteMapEntry(10, "permit", "DC-PREFIXES")]
        if pe_link is not None:
            mine, other = (pe_link.a, pe_link.b) if pe_link.a_node == edge.name else (pe_link.b, pe_link.a)
            other_name = pe_link.b_node if pe_link.a_node == edge.name else pe_link.a_node
            ibgp = session(edge.name, other_name)
            d.interfaces.append(
                Interface(interface_name(platform, "pe-peer"), f"core {pe_link.name} to {other_name}", mine, ibgp.bfd)
            )
            # No ADD-PATH here (addpath-tx-all-paths), although by hand on the small lab it took a town's
            # median recovery from 500 ms to 400 ms (the full lab: 353 ms with it and the DC edges'
            # floating route below, 380 ms with the floating route alone): with it on FRR 8.4 one CI
            # run lost a town's service for the whole 15 s of a circuit cut (no failover at all), and
            # FRR's tracker has addpath withdrawal bugs fixed only in later releases. Worth another
            # try with a newer FRR.
            d.neighbors.append(
                Neighbor(other.ip, carrier_asn, f"{other_name} iBGP", other_name, next_hop_self=True, detection=ibgp)
            )
        for dc in dcs:
            if dc.carrier_edge != edge.id:
                continue
            link = links[f"{dc.id}-{dc.carrier_edge}"]
            own = [plan.service_prefix, plan.dc_lans[dc.id], *([plan.external_block] if dc is primary_dc else [])]
            d.prefix_lists[f"{dc.id.upper()}-IN"] = _prefix_list(own)
            d.prefix_lists["TOWN-PREFIXES"] = _prefix_list(all_town_prefixes)
            d.route_maps[f"{dc.id.upper()}-IN"] = [RouteMapEntry(10, "permit", f"{dc.id.upper()}-IN")]
            d.route_maps["DC-OUT"] = [RouteMapEntry(10, "permit", "TOWN-PREFIXES")]
            to_dc = session(edge.name, dc.edge_router.name)
            d.interfaces.append(
                Interface(
                    interface_name(platform, "dc"),
                    f"core {link.name} to {dc.edge_router.name}",
                    link.a,
                    to_dc.bfd,
                )
            )
            d.neighbors.append(
                Neighbor(
                    link.b.ip,
                    dc.edge_router.asn,
                    f"{dc.edge_router.name} {dc.id}",
                    dc.edge_router.name,
                    f"{dc.id.upper()}-IN",
                    "DC-OUT",
                    detection=to_dc,
                )
            )
        for town in towns:
            t = plan.towns[town.id]
            for role in ("primary", "backup"):
                circuit = getattr(town.circuits, role)
                if pe_by_id.get(circuit.carrier_edge) != edge.name:
                    continue
                link = getattr(t, role)
                rm = f"TOWN-{town.id.upper()}-IN"
                rm_out = "TOWN-OUT"
                d.prefix_lists[rm] = _prefix_list(town_prefixes[town.id])
                if platform_facts(platform_of(town.router.name)).per_neighbor_policy:
                    d.route_maps[rm] = [RouteMapEntry(10, "permit", rm)]
                else:
                    # The town's router cannot prefer its primary circuit per neighbour: this edge does,
                    # for this circuit (local preference in, AS-path prepend out), as the town would.
                    lp = pref.primary_local_preference if role == "primary" else pref.backup_local_preference
                    rm = f"TOWN-{town.id.upper()}-{role.upper()}-IN"
                    d.route_maps[rm] = [RouteMapEntry(10, "permit", f"TOWN-{town.id.upper()}-IN", local_preference=lp)]
                    if role == "backup":
                        rm_out = "TOWN-OUT-BACKUP"
                        d.route_maps[rm_out] = [
                            RouteMapEntry(
                                10, "permit", "DC-PREFIXES", prepend=(carrier_asn,) * pref.backup_as_path_prepend
                            )
                        ]
                to_town = session(edge.name, town.router.name)
                d.interfaces.append(
                    Interface(
                        interface_name(platform, "town-circuit", town.number),
                        f"{town.id} {role} circuit {circuit.id} to {town.router.name}",
                        link.a,
                        to_town.bfd,
                    )
                )
                d.neighbors.append(
                    Neighbor(
                        link.b.ip,
                        town.router.asn,
                        f"{town.router.name} {town.id} {role} {circuit.id}",
                        town.router.name,
                        rm,
                        rm_out,
                        detection=to_town,
                    )
                )
        for town in towns:
            for p in town_prefixes[town.id]:
                d.expected_prefixes.append(ExpectedPrefix(p, frozenset({town.router.name, *pes})))
        for p in dc_prefixes:
            d.expected_prefixes.append(ExpectedPrefix(p, core))
        intents[edge.name] = d

    # ---- data center edges ----------------------------------------------------------------------------
    dci = next((lk for lk in plan.core_links if lk.a_node in dc_edges and lk.b_node in dc_edges), None)
    for dc in dcs:
        name = dc.edge_router.name
        if name not in routers:
            continue
        host = routers[name]
        d = base(host, dc.edge_router.asn, plan.loopbacks[name])
        platform = d.platform
        link = links[f"{dc.id}-{dc.carrier_edge}"]
        pe = pe_by_id[dc.carrier_edge]
        to_pe = session(name, pe)
        d.interfaces.append(Interface(interface_name(platform, "wan"), f"core {link.name} to {pe}", link.b, to_pe.bfd))
        d.interfaces.append(
            Interface(interface_name(platform, "lan"), f"{dc.id} LAN (app, db)", plan.dc_gateways[dc.id])
        )
        if dc is primary_dc:
            d.interfaces.append(
                Interface(
                    interface_name(platform, "externals"),
                    "external services (LGWAN gateway, security cloud)",
                    plan.external_gateway,
                )
            )
        if dci is not None:
            mine, other = (dci.a, dci.b) if dci.a_node == name else (dci.b, dci.a)
            other_name = dci.b_node if dci.a_node == name else dci.a_node
            other_dc = next(x for x in dcs if x.edge_router.name == other_name)
            d.interfaces.append(
                Interface(interface_name(platform, "dci"), f"interconnect {dci.name} to {other_name}", mine)
            )
            d.static_routes.append(StaticRoute(plan.dc_lans[other_dc.id], other.ip))
            # The last-resort way back to the towns: over the interconnect and the other DC's edge.
            # When this DC's carrier edge returns from an outage it announces the DC's service prefix to
            # the towns as soon as it announces the towns' prefixes to this edge, and the towns' traffic
            # arrived here some 100-200 ms before this edge had installed the way back: every town lost
            # service a second time (measured in the carrier-edge drill on the small lab, 3 of 3 runs;
            # none with this route). It also shortens a town's circuit failover: this edge answers over
            # the other DC as soon as its carrier edge withdraws the town, instead of waiting for the
            # town's backup path to reach it through both carrier edges (full lab: median 521 -> 380 ms).
            # BGP's more specific routes win whenever they are there. With both carrier edges gone a
            # town's replies would bounce between the DC edges until their TTL runs out: bounded.
            d.static_routes.append(StaticRoute(plan.regions["towns"], other.ip, FLOATING_STATIC_DISTANCE))
            d.expected_prefixes.append(ExpectedPrefix(plan.dc_lans[other_dc.id], frozenset({name})))
        app = plan.dc_hosts[dc.server_names("app")[0]].ip
        d.static_routes.insert(0, StaticRoute(plan.service_prefix, app))
        d.networks = [plan.service_prefix, plan.dc_lans[dc.id], *([plan.external_block] if dc is primary_dc else [])]
        d.prefix_lists["DC-OWN"] = _prefix_list(d.networks)
        d.prefix_lists["TOWN-PREFIXES"] = _prefix_list(all_town_prefixes)
        backup = dc.role != "primary"
        d.route_maps["PE-OUT"] = [
            RouteMapEntry(10, "permit", "DC-OWN", prepend=(dc.edge_router.asn,) * pref.backup_as_path_prepend)
            if backup
            else RouteMapEntry(10, "permit", "DC-OWN")
        ]
        d.route_maps["PE-IN"] = [RouteMapEntry(10, "permit", "TOWN-PREFIXES")]
        d.filters = [carrier_filter(interface_name(platform, "wan"), link.a.ip, link.b.ip, d.networks, flows)]
        d.neighbors.append(
            Neighbor(link.a.ip, carrier_asn, f"{pe} carrier edge", pe, "PE-IN", "PE-OUT", detection=to_pe)
        )
        for town in towns:
            for p in town_prefixes[town.id]:
                d.expected_prefixes.append(ExpectedPrefix(p, frozenset({town.router.name, *pes, name})))
        intents[name] = d

    # ---- town hall routers (CE) -------------------------------------------------------------------------
    for town in towns:
        name = town.router.name
        if name not in routers:
            continue
        host = routers[name]
        t = plan.towns[town.id]
        d = base(host, town.router.asn, t.loopback)
        platform = d.platform
        if platform == town.router.platform:  # the lab's FRR stand-in is not the town's model
            d.model, d.firmware = town.router.model, town.router.firmware
        per_neighbor = platform_facts(platform).per_neighbor_policy
        site = town.site
        lan_ifname = interface_name(platform, "lan")
        d.interfaces.append(Interface(lan_ifname, f"{town.id} town hall LAN", t.lan_gateway, vlan=site.vlans["lan"]))
        d.filters.append(segment_filter("lan", lan_ifname, t.lan, flows))
        for layer, segment in t.segments.items():
            ifname = interface_name(platform, SEGMENT_INTERFACE_ROLE[layer])
            d.interfaces.append(
                Interface(ifname, f"{town.id} {layer} segment", segment.gateway, vlan=site.vlans[layer])
            )
            d.filters.append(segment_filter(layer, ifname, segment.network, flows))
        d.prefix_lists["DC-PREFIXES"] = _prefix_list(town_receives)
        d.prefix_lists["TOWN-OWN"] = _prefix_list(town_prefixes[town.id])
        d.networks = list(town_prefixes[town.id])
        for role in ("primary", "backup"):
            circuit = getattr(town.circuits, role)
            link = getattr(t, role)
            pe = pe_by_id[circuit.carrier_edge]
            up = role.upper() if per_neighbor else "CARRIER"
            to_pe = session(name, pe)
            d.interfaces.append(
                Interface(
                    interface_name(platform, f"wan-{role}"),
                    f"{role} circuit {circuit.id} to {pe}",
                    link.b,
                    to_pe.bfd,
                )
            )
            if per_neighbor:
                lp = pref.primary_local_preference if role == "primary" else pref.backup_local_preference
                prepend = (town.router.asn,) * pref.backup_as_path_prepend if role == "backup" else ()
            else:  # the carrier edges prefer the primary circuit for this town (see the PEs above)
                lp, prepend = None, ()
            d.route_maps[f"{up}-IN"] = [RouteMapEntry(10, "permit", "DC-PREFIXES", local_preference=lp)]
            d.route_maps[f"{up}-OUT"] = [RouteMapEntry(10, "permit", "TOWN-OWN", prepend=prepend)]
            d.neighbors.append(
                Neighbor(
                    link.a.ip, carrier_asn, f"{pe} {role} {circuit.id}", pe, f"{up}-IN", f"{up}-OUT", detection=to_pe
                )
            )
        for p in town_receives:
            d.expected_prefixes.append(ExpectedPrefix(p, core | {name}))
        d.allowed_bgp_prefixes = list(town_receives)
        intents[name] = d
    return intents


def town_path(inventory: Inventory, town_id: str) -> frozenset[str]:
    """The routers that must carry their intended configuration for a town to reach the DCs."""
    wan = inventory.wan
    return frozenset(
        [inventory.town(town_id).router.name]
        + [e.name for e in wan.carrier.edges]
        + [dc.edge_router.name for dc in inventory.datacenters]
    )


def service_targets(inventory: Inventory, plan: AddressPlan) -> dict[str, tuple[IPv4Address, int | None]]:
    """What a town must reach in the DCs, by name: the service address, pinged (segmentation.yaml's
    service-echo flow lets it through) and on the service's port (what the SLA probes and the towns'
    PCs use: a filter that lets the echo through and cuts the service is caught by this one)."""
    port = inventory.segmentation.business_service().port
    return {"service": (plan.service_address, None), f"service tcp/{port}": (plan.service_address, port)}
