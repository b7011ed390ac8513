"""The policy's flows (segmentation.yaml) made concrete on an environment's address plan: which
source networks may reach which destinations on which protocol and port, everything else denied.

What the network filters are rendered from and what the isolation check compares every probe
with; one expansion, so the filters and the proof cannot disagree about the policy.

An endpoint becomes networks as follows: `town:<segment>` is that segment of each town in turn
(the flow's other end, when it is a town's too, is the same town's); `dc:<network>` is that DC
network's servers at each site in turn (`peer-dc:<network>`, at the other site); `service` the
service address; `ops` the operations center; `management` the management network;
`external:<id>` the target's address in the plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from .address_plan import AddressPlan
from .model.layers import TownSegmentId
from .model.segmentation import Endpoint, SegmentationFile, Service
from .model.sites import DataCenter


@dataclass(frozen=True)
class ConcreteFlow:
    flow: str  # the policy's flow id
    source: IPv4Network
    destination: IPv4Network
    protocol: str  # tcp | udp | icmp (the echo request)
    port: int | None  # None for icmp
    town: str | None  # the town the flow is of (its town:<segment> ends), if any
    site: str | None  # the data center it is of (its dc: ends), if any

    def allows(self, source: IPv4Address, destination: IPv4Address, protocol: str, port: int | None) -> bool:
        return (
            source in self.source
            and destination in self.destination
            and protocol == self.protocol
            and (protocol == "icmp" or port == self.port)
        )

    @property
    def label(self) -> str:
        return "icmp echo" if self.protocol == "icmp" else f"{self.protocol}/{self.port}"


def concrete_flows(
    policy: SegmentationFile,
    plan: AddressPlan,
    datacenters: Sequence[DataCenter],
    towns: Sequence[str] | None = None,
) -> list[ConcreteFlow]:
    """Every flow the policy allows on this plan (`towns`: those of the environment; default all)."""
    services = policy.service_by_id()
    town_ids = list(towns) if towns is not None else list(plan.towns)
    found: list[ConcreteFlow] = []
    for flow in policy.flows:
        service = services[flow.service]
        for src in flow.sources:
            for dst in flow.destinations:
                found += _pairs(flow.id, src, dst, service, plan, datacenters, town_ids)
    return found


def allowed_by(
    flows: Sequence[ConcreteFlow], source: IPv4Address, destination: IPv4Address, protocol: str, port: int | None
) -> ConcreteFlow | None:
    """The flow that lets this packet through, or None: the policy denies it."""
    return next((f for f in flows if f.allows(source, destination, protocol, port)), None)


def _pairs(
    flow_id: str,
    src: Endpoint,
    dst: Endpoint,
    service: Service,
    plan: AddressPlan,
    datacenters: Sequence[DataCenter],
    towns: list[str],
) -> Iterator[ConcreteFlow]:
    town_relative = "town" in (src.kind, dst.kind)
    site_relative = {src.kind, dst.kind} & {"dc", "peer-dc"}
    for town in towns if town_relative else [None]:
        for site in [dc.id for dc in datacenters] if site_relative else [None]:
            for a in _networks(src, plan, datacenters, town, site):
                for b in _networks(dst, plan, datacenters, town, site):
                    yield ConcreteFlow(flow_id, a, b, service.protocol, service.port, town, site)


def _networks(
    end: Endpoint, plan: AddressPlan, datacenters: Sequence[DataCenter], town: str | None, site: str | None
) -> list[IPv4Network]:
    if end.kind == "town" and town is not None:
        return [_segment(plan, town, end.name)]  # type: ignore[arg-type]
    if end.kind in ("dc", "peer-dc") and site is not None:
        at = site if end.kind == "dc" else next((d.id for d in datacenters if d.id != site), None)
        dc = next((d for d in datacenters if d.id == at), None)
        # The servers on a DC network are those of its purpose's tier (the app network holds the
        # app servers; the plan gives each server one address on its site's LAN).
        purpose = next((n.purpose for n in dc.networks if n.id == end.name), None) if dc else None
        if dc is None or purpose not in {t.role for t in dc.server_tiers}:
            return []  # a network without servers of ours (replication, backup): nothing to reach
        return [IPv4Network(plan.dc_hosts[name].ip) for name in dc.server_names(purpose)]
    if end.kind == "service":
        return [IPv4Network(plan.service_address)]
    if end.kind == "ops":
        return [IPv4Network(plan.ops_address.ip)]
    if end.kind == "management":
        return [plan.management]
    if end.kind == "external" and end.name in plan.externals:
        return [IPv4Network(plan.externals[end.name])]
    return []  # other-town: refused by the rules, never allowed here


def _segment(plan: AddressPlan, town: str, segment: TownSegmentId) -> IPv4Network:
    t = plan.towns[town]
    return t.lan if segment == "lan" else t.segments[segment].network
