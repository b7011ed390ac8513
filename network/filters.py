"""Packet filters: segmentation.yaml's flows (`inventory/flow_plan.py`) as inbound filters on the
routers' interfaces, default deny. What the routing design leaves open (a town hall's segments all
sit on one router; the external services' block is routed to every town) the filters close.

Where they sit (each filters what enters an interface, traffic to the router itself included, as an
inbound ACL does):
- a town hall router, on the town hall LAN and on each of its three segments (三層分離): what the
  policy lets that segment send (マイナンバー利用事務系: the service; LGWAN接続系: the LGWAN gateway;
  インターネット接続系: the security cloud's proxy; the LAN's servers: the service), nothing else:
  not another segment of the same town hall, not another town, not the DC LANs;
- a data center edge, on its carrier-facing interface: the towns' flows to what this site announces
  (the service, the external services at the primary site) and the carrier edge's own sessions (BGP,
  BFD, from its link address), nothing else: no town reaches the database or SSH, whatever the
  routing says.
Not filtered: the circuits at the town hall (what comes back from the DCs), the interconnect
(database replication, the floating way back) and the DC LANs (the app and database servers share
one subnet, which a router never sees: the port groups of the stacks and pg_hba keep them apart).

A filter is stateless, as the platforms' ACLs are: the answers to what a segment may send come back
in over the circuits, which are not filtered. Entry numbers step by 10 in the flows' order, the deny
last; a platform that numbers filters globally (Yamaha RTX) derives its numbers from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from inventory.flow_plan import ConcreteFlow

SEQ_STEP = 10


@dataclass(frozen=True)
class FilterEntry:
    seq: int
    action: str  # permit | deny
    protocol: str  # tcp | udp | icmp (the echo request) | ip (anything)
    source: IPv4Network | None  # None: any
    destination: IPv4Network | None
    port: int | None = None  # the destination port (tcp, udp)
    flow: str | None = None  # the policy flow it lets through (None: the deny, the carrier's sessions)

    @property
    def text(self) -> str:
        """The entry as the lab's FRR routers print it, IOS-like: `10 permit tcp A/len B/len eq 8080`."""
        tail = f" eq {self.port}" if self.port is not None else (" echo" if self.protocol == "icmp" else "")
        return f"{self.seq} {self.action} {self.protocol} {_net(self.source)} {_net(self.destination)}{tail}"


@dataclass(frozen=True)
class PacketFilter:
    name: str  # MC-MYNUMBER-IN: what it guards, in capitals as ACL names are written
    interface: str  # the platform's name of the interface it filters inbound
    entries: tuple[FilterEntry, ...]

    def allows(self, source: IPv4Address, destination: IPv4Address, protocol: str, port: int | None) -> bool:
        """What the router does with a packet entering this interface (first match; no match: deny)."""
        for e in self.entries:
            if (
                (e.source is None or source in e.source)
                and (e.destination is None or destination in e.destination)
                and e.protocol in ("ip", protocol)
                and (e.port is None or e.port == port)
            ):
                return e.action == "permit"
        return False


def _net(network: IPv4Network | None) -> str:
    return "any" if network is None else str(network)


def filter_name(guarded: str) -> str:
    return f"MC-{guarded.upper()}-IN"


def _entries(flows: Sequence[ConcreteFlow], first: Sequence[FilterEntry] = ()) -> tuple[FilterEntry, ...]:
    """`first`, then one permit per flow (duplicates once), then the deny."""
    entries: list[FilterEntry] = list(first)
    seen: set[tuple[object, ...]] = {(e.protocol, e.source, e.destination, e.port) for e in entries}
    for f in flows:
        key = (f.protocol, f.source, f.destination, f.port)
        if key in seen:
            continue
        seen.add(key)
        seq = SEQ_STEP * (len(entries) + 1)
        entries.append(FilterEntry(seq, "permit", f.protocol, f.source, f.destination, f.port, f.flow))
    entries.append(FilterEntry(SEQ_STEP * (len(entries) + 1), "deny", "ip", None, None))
    return tuple(entries)


def segment_filter(guarded: str, interface: str, network: IPv4Network, flows: Sequence[ConcreteFlow]) -> PacketFilter:
    """A town hall segment's filter: the flows whose source is this segment."""
    return PacketFilter(filter_name(guarded), interface, _entries([f for f in flows if f.source == network]))


def carrier_filter(
    interface: str,
    peer: IPv4Address,
    own: IPv4Address,
    announced: Sequence[IPv4Network],
    flows: Sequence[ConcreteFlow],
) -> PacketFilter:
    """A DC edge's carrier-facing filter: the carrier edge's sessions (BGP, BFD, its ICMP) from its link
    address to ours, then every town's flows to what this site announces."""
    sessions = FilterEntry(SEQ_STEP, "permit", "ip", IPv4Network(peer), IPv4Network(own))
    to_here = [f for f in flows if f.town is not None and any(f.destination.subnet_of(n) for n in announced)]
    return PacketFilter(filter_name("wan"), interface, _entries(to_here, [sessions]))
