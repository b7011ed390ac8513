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
        by_as: dict[int, set[tuple[str | None, str | None]]] = {}
        for n in intent.neighbors:
            by_as.setdefault(n.remote_as, set()).add((n.route_map_in, n.route_map_out))
        found += [
            f"different policies for the neighbours of AS {asn}: {facts.label} filters per remote AS, not per neighbour"
            for asn, policies in by_as.items()
            if len(policies) > 1
        ]
        found += [
            f"route map {name} sets a path preference: on {facts.label} the carrier edges must set it"
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
    text = template.render(d=intent, interfaces=interfaces, bfd_profile=BFD_PROFILE, connect_retry=BGP_CONNECT_RETRY_S)
    return text.strip() + "\n"
