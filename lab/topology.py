"""What a lab is made of, as frozen dataclasses. Knows nothing of towns or inventories.

A `Topology` lists routers (FRR instances, each in its own namespace), point-to-point links between
router interfaces (circuits, interconnects), LANs (a switch segment behind one router interface),
LXC containers and client namespaces on those LANs, and the management network that the
operations center (the root namespace) uses to reach every router and container.

Build one by hand (see `sample_topology()`), or derive it from an inventory in another module:
`derive_topology(inventory, address_plan, profile) -> Topology`. Addresses are `ipaddress` objects
(strings are accepted and converted). `Topology.validate()` checks it before anything is created.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, fields
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from network.interfaces import interface_name

LAB_RANGE = IPv4Network("198.18.0.0/15")  # RFC 2544 benchmarking range: the only one the lab uses
DEFAULT_PREFIX = "mc"
MGMT_IFNAME = interface_name("frr", "mgmt")  # a router's management interface, inside its namespace


class TopologyError(ValueError):
    """The topology is inconsistent; the message lists every problem found."""


def _iface(value: IPv4Interface | str) -> IPv4Interface:
    return value if isinstance(value, IPv4Interface) else IPv4Interface(value)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Endpoint:
    """One end of a link: a router's interface with its address (`198.18.64.1/30`)."""

    router: str
    ifname: str
    address: IPv4Interface

    def __post_init__(self) -> None:
        _set(self, "address", _iface(self.address))


@dataclass(frozen=True)
class RouterSpec:
    name: str  # short, unique: "pe1", "ce-t01"
    hostname: str  # what `show version` / the prompt say
    mgmt_address: IPv4Interface  # on the management bridge, with its prefix length
    loopbacks: tuple[IPv4Interface, ...] = ()  # service/router-id addresses, on `lo`
    site: str = ""  # free label for faults ("dc1", "town:t01"); isolate_site() uses it
    role: str = ""  # free label ("pe", "ce", "dc-edge")

    def __post_init__(self) -> None:
        _set(self, "mgmt_address", _iface(self.mgmt_address))
        _set(self, "loopbacks", tuple(_iface(a) for a in self.loopbacks))


@dataclass(frozen=True)
class LinkSpec:
    """A point-to-point link between two router interfaces (a veth pair between namespaces)."""

    name: str  # unique: "t01-primary"
    a: Endpoint
    b: Endpoint
    kind: str = "circuit"  # free label: "circuit", "core", "interconnect"

    def __post_init__(self) -> None:
        for end in ("a", "b"):
            value = getattr(self, end)
            if isinstance(value, dict):
                _set(self, end, Endpoint(**value))

    @property
    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        return (self.a, self.b)


@dataclass(frozen=True)
class LanSpec:
    """A switched segment behind a router interface; `gateway` is that interface's address."""

    name: str  # unique: "t01-lan"
    router: str
    ifname: str  # the router's interface into the LAN
    gateway: IPv4Interface  # e.g. 198.19.1.1/24; its network is the LAN's subnet

    def __post_init__(self) -> None:
        _set(self, "gateway", _iface(self.gateway))

    @property
    def network(self) -> IPv4Network:
        return self.gateway.network


@dataclass(frozen=True)
class ContainerSpec:
    """An LXC system container: eth0 on the management bridge, eth1 on a LAN (default route).

    With `lan` and `address` None, on the management network only (an execution node): eth0 alone
    and no default route, since everything it reaches is on the management subnet."""

    name: str
    hostname: str
    mgmt_address: IPv4Interface
    lan: str | None
    address: IPv4Interface | None  # on the LAN, with the LAN's prefix length
    site: str = ""
    role: str = ""

    def __post_init__(self) -> None:
        _set(self, "mgmt_address", _iface(self.mgmt_address))
        if self.address is not None:
            _set(self, "address", _iface(self.address))

    @property
    def management_only(self) -> bool:
        return self.lan is None


@dataclass(frozen=True)
class ClientNsSpec:
    """A bare network namespace standing in for client PCs on a LAN (default route via the LAN)."""

    name: str
    lan: str
    address: IPv4Interface
    site: str = ""
    segment: str = ""  # free label: the layer it stands in (mynumber, lgwan, internet) or the target

    def __post_init__(self) -> None:
        _set(self, "address", _iface(self.address))


@dataclass(frozen=True)
class StandinSpec:
    """A service outside the lab, stood in for by a process of ours (lab/standin_server.py) that
    listens on `port` in client namespace `client` (on its address there)."""

    name: str
    client: str
    port: int


@dataclass(frozen=True)
class Topology:
    mgmt_subnet: IPv4Network
    ops_address: IPv4Interface  # the root namespace's address on the management bridge
    routers: tuple[RouterSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    lans: tuple[LanSpec, ...] = ()
    containers: tuple[ContainerSpec, ...] = ()
    clients: tuple[ClientNsSpec, ...] = ()
    standins: tuple[StandinSpec, ...] = ()
    prefix: str = DEFAULT_PREFIX
    mgmt_bridge: str = ""  # default: f"{prefix}-mgmt"
    apt_proxy_port: int = 3142
    name: str = "lab"  # free label, shown by status

    def __post_init__(self) -> None:
        _set(self, "mgmt_subnet", IPv4Network(self.mgmt_subnet))
        _set(self, "ops_address", _iface(self.ops_address))
        _set(self, "routers", tuple(_coerce(RouterSpec, r) for r in self.routers))
        _set(self, "links", tuple(_coerce(LinkSpec, x) for x in self.links))
        _set(self, "lans", tuple(_coerce(LanSpec, x) for x in self.lans))
        _set(self, "containers", tuple(_coerce(ContainerSpec, x) for x in self.containers))
        _set(self, "clients", tuple(_coerce(ClientNsSpec, x) for x in self.clients))
        _set(self, "standins", tuple(_coerce(StandinSpec, x) for x in self.standins))
        if not self.mgmt_bridge:
            _set(self, "mgmt_bridge", f"{self.prefix}-mgmt")

    # ---- lookups -------------------------------------------------------------------------------
    def router(self, name: str) -> RouterSpec:
        return _find(self.routers, name, "router")

    def link(self, name: str) -> LinkSpec:
        return _find(self.links, name, "link")

    def lan(self, name: str) -> LanSpec:
        return _find(self.lans, name, "LAN")

    def container(self, name: str) -> ContainerSpec:
        return _find(self.containers, name, "container")

    def client(self, name: str) -> ClientNsSpec:
        return _find(self.clients, name, "client namespace")

    def links_of_site(self, site: str) -> tuple[LinkSpec, ...]:
        """Links with exactly one end on a router of `site`: cutting them all isolates the site."""
        inside = {r.name for r in self.routers if r.site == site}
        return tuple(lk for lk in self.links if (lk.a.router in inside) != (lk.b.router in inside))

    # ---- serialisation (the lab's state file keeps the topology it built) ------------------------
    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Topology:
        return cls(**data)

    # ---- checks ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise TopologyError listing every inconsistency (names, references, address ranges)."""
        problems: list[str] = []

        def in_range(what: str, addr: IPv4Interface | IPv4Network | IPv4Address) -> None:
            net = addr if isinstance(addr, IPv4Network) else ipaddress.ip_network(addr, strict=False)
            if not net.subnet_of(LAB_RANGE):
                problems.append(f"{what}: {addr} is outside the lab range {LAB_RANGE}")

        if not self.prefix.isalnum() or not self.prefix.islower() or len(self.prefix) > 4:
            problems.append(f"prefix {self.prefix!r}: use 1-4 lower-case letters or digits")
        if not self.mgmt_bridge.startswith(self.prefix) or len(self.mgmt_bridge) > 15:
            problems.append(f"mgmt_bridge {self.mgmt_bridge!r}: must start with the prefix, <= 15 chars")
        in_range("mgmt_subnet", self.mgmt_subnet)
        if self.ops_address.network != self.mgmt_subnet:
            problems.append(f"ops_address {self.ops_address} is not in mgmt_subnet {self.mgmt_subnet}")
        for kind, items in (
            ("router", self.routers),
            ("link", self.links),
            ("LAN", self.lans),
            ("container", self.containers),
            ("client namespace", self.clients),
        ):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    problems.append(f"{kind} {item.name!r} is defined twice")
                seen.add(item.name)
                if not _good_name(item.name):
                    problems.append(f"{kind} {item.name!r}: use lower-case letters, digits and '-' (<= 24)")
        node_names = [r.name for r in self.routers] + [c.name for c in self.containers]
        node_names += [c.name for c in self.clients] + [x.name for x in self.lans]
        dup = {n for n in node_names if node_names.count(n) > 1}
        if dup:
            problems.append(f"names shared by routers/containers/clients/LANs: {sorted(dup)}")
        routers = {r.name: r for r in self.routers}
        lans = {x.name: x for x in self.lans}
        mgmt_seen: dict[IPv4Address, str] = {self.ops_address.ip: "ops"}
        for node in (*self.routers, *self.containers):
            where = f"{node.name} mgmt_address"
            if node.mgmt_address.network != self.mgmt_subnet:
                problems.append(f"{where} {node.mgmt_address} is not in mgmt_subnet {self.mgmt_subnet}")
            if node.mgmt_address.ip in mgmt_seen:
                problems.append(f"{where} {node.mgmt_address.ip} also used by {mgmt_seen[node.mgmt_address.ip]}")
            mgmt_seen[node.mgmt_address.ip] = node.name
        for r in self.routers:
            for lo in r.loopbacks:
                in_range(f"router {r.name} loopback", lo)
        ifaces: dict[tuple[str, str], str] = {}

        def use_iface(router: str, ifname: str, user: str) -> None:
            if router not in routers:
                problems.append(f"{user}: unknown router {router!r}")
                return
            if not ifname or len(ifname) > 15 or ifname in ("lo", MGMT_IFNAME) or "/" in ifname:
                problems.append(f"{user}: bad interface name {ifname!r} on {router}")
            if (router, ifname) in ifaces:
                problems.append(f"{user}: {router} {ifname} already used by {ifaces[(router, ifname)]}")
            ifaces[(router, ifname)] = user

        for lk in self.links:
            for end in lk.endpoints:
                use_iface(end.router, end.ifname, f"link {lk.name}")
                in_range(f"link {lk.name} {end.router}", end.address)
            if lk.a.address.network != lk.b.address.network or lk.a.address.ip == lk.b.address.ip:
                problems.append(f"link {lk.name}: {lk.a.address} and {lk.b.address} are not two hosts of one subnet")
            if lk.a.router == lk.b.router:
                problems.append(f"link {lk.name}: both ends on router {lk.a.router}")
        for lan in self.lans:
            use_iface(lan.router, lan.ifname, f"LAN {lan.name}")
            in_range(f"LAN {lan.name} gateway", lan.gateway)
        for host in (*self.containers, *self.clients):
            kind = "container" if isinstance(host, ContainerSpec) else "client namespace"
            if isinstance(host, ContainerSpec) and (host.lan is None or host.address is None):
                if (host.lan, host.address) != (None, None):
                    problems.append(f"container {host.name}: give both a LAN and its address, or neither")
                continue  # on the management network only
            lan = lans.get(host.lan)
            if lan is None:
                problems.append(f"{kind} {host.name}: unknown LAN {host.lan!r}")
                continue
            if host.address.network != lan.network or host.address.ip == lan.gateway.ip:
                problems.append(
                    f"{kind} {host.name}: {host.address} is not a host address of LAN {lan.name} {lan.network}"
                )
        clients = {c.name for c in self.clients}
        for standin in self.standins:
            if standin.client not in clients:
                problems.append(f"stand-in {standin.name}: unknown client namespace {standin.client!r}")
            if not 0 < standin.port < 65536:
                problems.append(f"stand-in {standin.name}: bad port {standin.port}")
        if problems:
            raise TopologyError("invalid lab topology:\n  - " + "\n  - ".join(problems))


def _good_name(name: str) -> bool:
    return 0 < len(name) <= 24 and all(c.islower() or c.isdigit() or c == "-" for c in name) and name[0] != "-"


def _find(items: tuple[Any, ...], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {kind} named {name!r} in the topology")


def _coerce(cls: type, value: Any) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})
    raise TypeError(f"expected {cls.__name__} or dict, got {type(value).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, IPv4Interface | IPv4Network | IPv4Address):
        return str(value)
    return value


def sample_topology(prefix: str = DEFAULT_PREFIX, mgmt_subnet: str = "198.18.0.0/24") -> Topology:
    """A small lab for the engine's own tests: two PE routers linked to each other, one CE with a
    primary circuit to pe1 and a backup circuit to pe2, one LAN behind the CE with one container
    and one client namespace. Only 198.18.0.0/15 addresses.

    Two labs can run side by side with different prefixes (starting with `mc`) and management
    subnets (the data plane lives in the labs' own namespaces and never clashes)."""
    net = IPv4Network(mgmt_subnet)
    if net.prefixlen > 24:
        raise ValueError("sample_topology needs a management subnet of /24 or larger")

    def m(host: int) -> str:
        return f"{net.network_address + host}/{net.prefixlen}"

    def link(name: str, a: tuple[str, str, str], b: tuple[str, str, str], kind: str = "circuit") -> LinkSpec:
        return LinkSpec(name, Endpoint(*a), Endpoint(*b), kind)

    return Topology(
        name="sample",
        prefix=prefix,
        mgmt_subnet=net,
        ops_address=m(1),
        routers=(
            RouterSpec("pe1", "PE1", m(11), ("198.18.255.1/32",), site="carrier", role="pe"),
            RouterSpec("pe2", "PE2", m(12), ("198.18.255.2/32",), site="carrier", role="pe"),
            RouterSpec("ce1", "CE1", m(21), ("198.18.255.21/32",), site="town1", role="ce"),
        ),
        links=(
            link("core", ("pe1", "eth1", "198.18.64.1/30"), ("pe2", "eth1", "198.18.64.2/30"), "core"),
            link("t1-primary", ("ce1", "eth1", "198.18.64.5/30"), ("pe1", "eth2", "198.18.64.6/30")),
            link("t1-backup", ("ce1", "eth2", "198.18.64.9/30"), ("pe2", "eth2", "198.18.64.10/30")),
        ),
        lans=(LanSpec("t1-lan", "ce1", "eth3", "198.19.1.1/24"),),
        containers=(ContainerSpec("t1-srv", "t1-srv", m(101), "t1-lan", "198.19.1.10/24", site="town1"),),
        clients=(ClientNsSpec("t1-pc", "t1-lan", "198.19.1.100/24", site="town1"),),
    )


__all__ = [
    "LAB_RANGE",
    "MGMT_IFNAME",
    "ClientNsSpec",
    "ContainerSpec",
    "Endpoint",
    "LanSpec",
    "LinkSpec",
    "RouterSpec",
    "StandinSpec",
    "Topology",
    "TopologyError",
    "sample_topology",
]
