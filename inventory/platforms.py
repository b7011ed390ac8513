"""What each router platform can do: facts the inventory's rules, the network design and the drills
read, so that an intent a platform cannot express is refused or provided otherwise, never rendered
as if it were.

The design asks two things of a town hall's router that not every platform offers:
- **fast failure detection of a silent circuit loss** (the link stays up, the carrier stops
  forwarding). FRR and IOS-XE run BFD under BGP (`bfd`: 0.3 s with the WAN's 100 ms x 3). Yamaha
  RTX's BGP has no BFD option, and we found no vendor evidence of BFD for BGP on NEC IX either:
  both run short BGP timers instead (`bgp-timers`: keepalive 1 s, hold 3 s, agreed with the carrier
  edge, which runs the same timers and no BFD towards that town). A town on such a router has a
  longer circuit-failover target (wan.yaml `failure_detection`), stated in the drill's results.
- **path preference per neighbour** (primary circuit preferred in both directions). FRR, IOS-XE and
  IX set it on the town's router with a route map per neighbour. RTX's BGP filters are per remote
  AS (`bgp import|export <AS> ...`), and both circuits reach the same carrier AS: the carrier edges
  set the preference for an RTX town instead (local preference on what they learn over its backup
  circuit, an AS-path prepend on what they send it over that circuit).

Models: a town hall's router terminates two circuits and the LAN trunk (the town's segments as
tagged VLANs), so it needs three routed ports; a model with two is refused (RTX830, IX2106).
Nothing here was verified against a real Yamaha or NEC device (network/README.md says what an
operator must check on first use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FailureDetection = Literal["bfd", "bgp-timers"]
# Routed ports a town hall's router needs: the primary circuit, the backup circuit, the LAN trunk.
TOWN_ROUTER_PORTS = 3


@dataclass(frozen=True)
class RouterModel:
    name: str
    routed_ports: int  # a built-in switch block counts as one port


@dataclass(frozen=True)
class PlatformFacts:
    id: str
    label: str
    failure_detection: FailureDetection
    per_neighbor_policy: bool  # route maps per BGP neighbour on this router
    # What the platform's template can write (network/render.py `unexpressible` refuses the rest):
    floating_static_routes: bool = True  # a static route with an administrative distance
    prefix_list_deny: bool = True  # deny entries inside a prefix list a route map matches
    keepalive_third_of_hold: bool = False  # only a hold time is configurable, keepalives are a third of it
    # None: any model (the lab's FRR, IOS-XE whose models we do not track); else the known ones
    models: dict[str, RouterModel] | None = None
    firmware: str | None = None  # how a firmware version is written (regular expression)
    firmware_example: str | None = None
    notes: tuple[str, ...] = field(default=())

    def model_problem(self, model: str | None) -> str | None:
        """Why `model` cannot be a town hall's router on this platform, or None."""
        if self.models is None:
            return None
        known = ", ".join(sorted(self.models))
        if model is None:
            return f"a {self.label} router needs its model (known: {known})"
        if model not in self.models:
            return f"unknown {self.label} model '{model}' (known: {known})"
        ports = self.models[model].routed_ports
        if ports < TOWN_ROUTER_PORTS:
            return (
                f"{model} has {ports} routed ports; a town hall's router needs {TOWN_ROUTER_PORTS} "
                "(primary circuit, backup circuit, LAN trunk)"
            )
        return None

    def firmware_problem(self, firmware: str | None) -> str | None:
        if self.firmware is None:
            return None
        if firmware is None:
            return f"a {self.label} router needs its firmware version (written like '{self.firmware_example}')"
        if not re.fullmatch(self.firmware, firmware):
            return f"firmware '{firmware}' is not a {self.label} version (written like '{self.firmware_example}')"
        return None


PLATFORMS: dict[str, PlatformFacts] = {
    "frr": PlatformFacts("frr", "FRRouting", "bfd", True),
    "cisco_ios": PlatformFacts("cisco_ios", "Cisco IOS-XE", "bfd", True),
    "yamaha_rtx": PlatformFacts(
        "yamaha_rtx",
        "Yamaha RTX",
        "bgp-timers",
        False,
        models={
            m.name: m
            for m in (
                RouterModel("RTX830", 2),  # LAN1 (switch) and LAN2
                RouterModel("RTX1210", 3),  # LAN1 (switch), LAN2, LAN3
                RouterModel("RTX1220", 3),
                RouterModel("RTX1300", 3),
                RouterModel("RTX3510", 4),
            )
        },
        floating_static_routes=False,
        prefix_list_deny=False,
        keepalive_third_of_hold=True,
        firmware=r"Rev\.\d{1,2}\.\d{2}\.\d{2}",
        firmware_example="Rev.15.02.30",
        notes=("BGP has no BFD option", "BGP filters apply per remote AS, not per neighbour"),
    ),
    "nec_ix": PlatformFacts(
        "nec_ix",
        "NEC UNIVERGE IX",
        "bgp-timers",
        True,
        models={
            m.name: m
            for m in (
                RouterModel("IX2106", 2),  # GE0 and GE1 (switch)
                RouterModel("IX2215", 3),  # GE0, GE1, GE2 (switch)
                RouterModel("IX2235", 3),
                RouterModel("IX3110", 4),
                RouterModel("IX3315", 4),
            )
        },
        firmware=r"\d{1,2}\.\d{1,2}\.\d{1,2}",
        firmware_example="10.11.19",
        notes=("no vendor evidence found here of BFD for BGP: short BGP timers instead",),
    ),
}


def platform_facts(platform: str) -> PlatformFacts:
    try:
        return PLATFORMS[platform]
    except KeyError:
        raise KeyError(f"unknown router platform '{platform}' (known: {', '.join(sorted(PLATFORMS))})") from None
