"""Intended configuration: the inventory's design (`network/intent.py`) through a Jinja2 template per
platform (`network/templates/<platform>.j2`)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from inventory.platforms import platform_facts

from .intent import BFD_PROFILE, BGP_CONNECT_RETRY_S, DeviceIntent, Interface
from .interfaces import interface_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLATFORMS = tuple(sorted(p.stem for p in TEMPLATES.glob("*.j2")))


class UnsupportedPlatform(ValueError):
    """No template for this platform."""


class UnsupportedIntent(UnsupportedPlatform):
    """The router's platform cannot express what its intent asks for."""


def unexpressible(intent: DeviceIntent) -> list[str]:
    """What `intent` asks for that its platform cannot do (inventory/platforms.py), in words."""
    facts = platform_facts(intent.platform)
    found: list[str] = []
    if facts.failure_detection != "bfd":
        found += [
            f"BFD with {n.peer} ({n.address}): {facts.label} has no BFD for BGP (short BGP timers instead)"
            for n in intent.neighbors
            if n.bfd
        ]
    if not facts.per_neighbor_policy:
        found += _per_as_policy_problems(intent, facts.label)
    if not facts.floating_static_routes:
        found += [
            f"static route {r.prefix} via {r.via} with distance {r.distance}: "
            f"{facts.label} has no floating static routes here"
            for r in intent.static_routes
            if r.distance
        ]
    if not facts.prefix_list_deny:
        used = {e.match_prefix_list for entries in intent.route_maps.values() for e in entries if e.match_prefix_list}
        found += [
            f"prefix list {name} entry {p.seq} denies {p.prefix}: {facts.label} filters have permit entries only here"
            for name in sorted(used)
            for p in intent.prefix_lists.get(name, [])
            if p.action != "permit"
        ]
    if facts.keepalive_third_of_hold:
        found += [
            f"BGP timers with {n.peer} ({n.address}): keepalive {n.keepalive_s} s with hold {n.hold_s} s; "
            f"{facts.label} sends keepalives at a third of the hold time"
            for n in intent.neighbors
            if n.keepalive_s * 3 != n.hold_s
        ]
    return found


def _per_as_policy_problems(intent: DeviceIntent, label: str) -> list[str]:
    """On a platform that filters per remote AS: one policy per AS (compared by what the route maps
    say, not by their names), no path preference (the carrier edges set it), and a policy at all
    (without one, the router would announce and accept nothing from that AS)."""

    def content(name: str | None) -> tuple[object, ...] | None:
        return None if name is None else tuple(intent.route_maps.get(name, ()))

    by_as: dict[int, set[tuple[object, ...]]] = {}
    for n in intent.neighbors:
        by_as.setdefault(n.remote_as, set()).add((content(n.route_map_in), content(n.route_map_out)))
    found = [
        f"different policies for the neighbours of AS {asn}: {label} filters per remote AS, not per neighbour"
        for asn, policies in by_as.items()
        if len(policies) > 1
    ]
    found += [
        f"no route maps for the neighbours of AS {n.remote_as} ({n.peer}): {label} would exchange no routes with them"
        for n in intent.neighbors
        if n.route_map_in is None and n.route_map_out is None
    ]
    found += [
        f"route map {name} sets a path preference: on {label} the carrier edges must set it"
        for name, entries in intent.route_maps.items()
        if any(e.local_preference is not None or e.prepend for e in entries)
    ]
    return found


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=False,
    lstrip_blocks=False,
    autoescape=False,
)


def render(intent: DeviceIntent) -> str:
    """The intended configuration of one router, as its platform shows it."""
    if intent.platform not in PLATFORMS:
        raise UnsupportedPlatform(
            f"{intent.name}: no template for platform '{intent.platform}' (templates: {', '.join(PLATFORMS)})"
        )
    if problems := unexpressible(intent):
        raise UnsupportedIntent(f"{intent.name} ({intent.platform}): cannot render: " + "; ".join(problems))
    template = _env.get_template(f"{intent.platform}.j2")
    interfaces = [
        *intent.interfaces,
        Interface(interface_name(intent.platform, "loopback"), "", intent.loopback),
        intent.mgmt,
    ]
    text = template.render(
        d=intent,
        interfaces=interfaces,
        filter_on={f.interface: f for f in intent.filters},
        bfd_profile=BFD_PROFILE,
        connect_retry=BGP_CONNECT_RETRY_S,
    )
    return text.strip() + "\n"
