"""Parsers for Yamaha RTX command output (with `console character en.ascii`): BGP neighbours, the
routing table, the router's clock and the `schedule at` lines of a config. Pure functions, so the
formats are tested without a router.

Where the formats come from (check them on first use against a real router, see the driver):
- `show status bgp neighbor`: a real RTX transcript in AWS's former VPN Network Administrator Guide
  (Yamaha customer-gateway troubleshooting, `awsdocs`): one block per neighbour, starting
  `BGP neighbor is 169.254.255.1, remote AS 7224, local AS 65000, external link` with a line
  `  BGP state = Active`. An Established neighbour's line (`BGP state = Established, up for ...`) is
  reconstructed from the same layout, not seen.
- `show ip route`: the same guide: a header `Destination Gateway Interface Kind Additional Info.`
  and rows `default  ***.***.***.***  LAN3(DHCP)  static` / `10.0.0.0/16  169.254.255.1
  TUNNEL[1]  BGP  path=10124`. The kinds `implicit`, `OSPF`, `RIP` are Yamaha's names as far as
  known; a row of another kind keeps that kind, lower-cased.
- `show environment`: the `Current time: 2026/12/04 14:05:13 +09:00` line is reconstructed (the
  field is in every RTX's output as far as known, its exact spelling was not found in a public
  transcript).

Unknown lines are skipped, but an output without the structure a parser expects raises DeviceError
naming the command: a firmware that prints another format is noticed, not read as "no sessions".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from ipaddress import IPv4Network

from .device import DeviceError

BGP_COMMAND = "show status bgp neighbor"
ROUTE_COMMAND = "show ip route"
CLOCK_COMMAND = "show environment"

_NEIGHBOR = re.compile(r"^\s*BGP neighbor is (\d+\.\d+\.\d+\.\d+)\b")
_STATE = re.compile(r"^\s*BGP state\s*=\s*([A-Za-z]+)")


def parse_bgp_neighbors(output: str) -> dict[str, str]:
    """{neighbour address: state} from `show status bgp neighbor` (Established, Active, Idle, ...).

    An empty output is a router without BGP neighbours; anything else must have neighbour blocks."""
    if not output.strip():
        return {}
    neighbors: dict[str, str] = {}
    current: str | None = None
    for line in output.splitlines():
        if match := _NEIGHBOR.match(line):
            current = match.group(1)
            neighbors[current] = "unknown"  # until its state line (a block cut short stays unknown)
        elif (match := _STATE.match(line)) and current is not None:
            neighbors[current] = match.group(1)
    if not neighbors:
        raise DeviceError(f"`{BGP_COMMAND}`: no `BGP neighbor is ...` block in its output: {output.strip()[:200]}")
    return neighbors


# Yamaha's route kinds -> the protocol names DeviceState uses (FRR's: bgp, static, connected, ...).
ROUTE_KINDS = {"bgp": "bgp", "static": "static", "implicit": "connected", "ospf": "ospf", "rip": "rip"}
_ROUTE_HEADER = re.compile(r"^\s*Destination\s+Gateway\s+Interface\s+Kind\b")
_DESTINATION = re.compile(r"^(default|\d+\.\d+\.\d+\.\d+(?:/\d+)?)\s")


def parse_routes(output: str) -> dict[IPv4Network, str]:
    """{prefix: protocol} from `show ip route`; `default` is 0.0.0.0/0, a row's first route counts."""
    lines = output.splitlines()
    header = next((i for i, line in enumerate(lines) if _ROUTE_HEADER.match(line)), None)
    if header is None:
        raise DeviceError(f"`{ROUTE_COMMAND}`: no `Destination Gateway Interface Kind` header: {output.strip()[:200]}")
    routes: dict[IPv4Network, str] = {}
    for line in lines[header + 1 :]:
        match = _DESTINATION.match(line)  # rows start at column 0; continuation lines are indented
        if match is None:
            continue
        tokens = line.split()
        # The kind is the first known token after the gateway (the interface can be missing, e.g. a
        # route to a null interface); a row without one is another format: skipped, not guessed.
        kind = next((t for t in tokens[2:] if t.lower() in ROUTE_KINDS), None)
        if kind is None:
            continue
        destination = "0.0.0.0/0" if match.group(1) == "default" else match.group(1)
        try:
            prefix = IPv4Network(destination, strict=False)
        except ValueError:
            continue
        routes.setdefault(prefix, ROUTE_KINDS[kind.lower()])
    return routes


_CLOCK = re.compile(
    r"^\s*Current time\s*:\s*(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s*([+-])(\d{2}):?(\d{2}))?",
    re.M,
)


def parse_router_clock(output: str) -> datetime:
    """The router's own time from `show environment` (`Current time: 2026/12/04 14:05:13 +09:00`),
    with its UTC offset when printed (naive otherwise: only the router's wall clock matters here)."""
    match = _CLOCK.search(output)
    if match is None:
        raise DeviceError(f"`{CLOCK_COMMAND}`: no `Current time: YYYY/MM/DD HH:MM:SS` line: {output.strip()[:200]}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    sign, off_h, off_m = match.groups()[6:]
    tz = None
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(offset if sign == "+" else -offset)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as error:
        raise DeviceError(f"`{CLOCK_COMMAND}`: the router's clock is not a date: {match.group(0).strip()}") from error


def revert_time(now: datetime, minutes: int) -> datetime:
    """When a revert armed at `now` fires: `minutes` later, rounded up to the next whole minute
    (`schedule at` takes hh:mm), so the router never restarts earlier than asked."""
    if minutes < 1:
        raise ValueError(f"a revert needs at least one minute, not {minutes}")
    at = now + timedelta(minutes=minutes)
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return at


def schedule_command(schedule_id: int, at: datetime, command: str) -> str:
    """`schedule at ID YYYY/MM/DD HH:MM * COMMAND` (`*`: not bound to a pp/tunnel/switch)."""
    return f"schedule at {schedule_id} {at:%Y/%m/%d} {at:%H:%M} * {command}"


def schedule_lines(config: str, schedule_id: int) -> list[str]:
    """The `schedule at ID ...` lines of a `show config` output for that ID."""
    pattern = re.compile(rf"^\s*schedule\s+at\s+{schedule_id}\s")
    return [line.strip() for line in config.splitlines() if pattern.match(line)]
