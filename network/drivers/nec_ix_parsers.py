"""Parsers for NEC UNIVERGE IX command output: `show ip bgp summary` and `show ip route`. Pure
functions, tested on samples.

The formats are IOS-like as far as known (NEC's IX command reference lists `show ip bgp summary` as
the peer-state summary; no public transcript of either output was found): the summary prints
`BGP router identifier 10.1.1.1, local AS number 65108`, then a header `Neighbor V AS MsgRcvd
MsgSent TblVer InQ OutQ Up/Down State/PfxRcd` and one row per neighbour whose last column is the
number of prefixes received (Established) or the state; the routing table prints a code, the prefix
in /len form (`B    10.64.0.0/24 [20/0] via 10.64.128.129, GigaEthernet0.0, 00:10:11`,
`C    10.1.8.0/24 is directly connected, GigaEthernet2.1`). The samples are reconstructed: check
them on first use against a real router.

Unknown lines are skipped; an output without the expected structure raises DeviceError naming the
command (a changed firmware format is noticed, not read as "no sessions").
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network

from .device import DeviceError

BGP_COMMAND = "show ip bgp summary"
ROUTE_COMMAND = "show ip route"

_BGP_HEADER = re.compile(r"^\s*Neighbor\s+V\s+AS\s+.*State/PfxRcd", re.I)
_BGP_ROW = re.compile(r"^\s*(\d+\.\d+\.\d+\.\d+)\s+\d+\s+\d+(?:\.\d+)?\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\S+\s+(\S+)")


def parse_bgp_summary(output: str) -> dict[str, str]:
    """{neighbour address: state}: Established when the last column is a prefix count."""
    if not output.strip():
        return {}
    lines = output.splitlines()
    header = next((i for i, line in enumerate(lines) if _BGP_HEADER.match(line)), None)
    if header is None:
        if re.search(r"BGP router identifier", output):
            return {}  # BGP runs, no neighbour configured
        raise DeviceError(f"`{BGP_COMMAND}`: no `Neighbor ... State/PfxRcd` header: {output.strip()[:200]}")
    neighbors: dict[str, str] = {}
    for line in lines[header + 1 :]:
        if match := _BGP_ROW.match(line):
            state = match.group(2)
            neighbors[match.group(1)] = "Established" if state.isdigit() else state
    return neighbors


ROUTE_CODES = {"B": "bgp", "C": "connected", "S": "static", "O": "ospf", "R": "rip", "L": "local"}
_ROUTE = re.compile(r"^([A-Z])[A-Za-z0-9*]{0,2}(?: [A-Z0-9]{1,2})?\s+(\d+\.\d+\.\d+\.\d+/\d+)\s")


def parse_routes(output: str) -> dict[IPv4Network, str]:
    """{prefix: protocol} from `show ip route`; codes other than those known keep their letter."""
    routes: dict[IPv4Network, str] = {}
    for line in output.splitlines():
        if match := _ROUTE.match(line):
            code, prefix = match.groups()
            try:
                network = IPv4Network(prefix, strict=False)
            except ValueError:
                continue
            routes.setdefault(network, ROUTE_CODES.get(code, code.lower()))
    if not routes and not re.search(r"^\s*Codes:", output, re.M):
        raise DeviceError(f"`{ROUTE_COMMAND}`: neither a `Codes:` legend nor a route: {output.strip()[:200]}")
    return routes
