"""Pre- and post-checks of a change: BGP and BFD sessions, the expected prefixes, no default route,
no routes leaking between towns, and the DC service reachable from the towns.

A check involving another router counts only once that router carries its intended configuration
("converged"): during a first build-out, a town router's sessions cannot be up before its PEs are
configured. The final verification, after every device, runs with the whole network converged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from ipaddress import IPv4Network

from inventory.loader import Inventory

from .drivers.device import DeviceState, Driver
from .fleet import Fleet, reach_key
from .intent import DeviceIntent, service_targets, town_path

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
# Between two reads of a device's state while waiting for its sessions and routes: a session comes up
# within a second or two of both ends being configured, and a read takes 0.1-0.3 s.
POLL_INTERVAL_S = 0.2


def problems(intent: DeviceIntent, state: DeviceState, converged: set[str], before: DeviceState | None) -> list[str]:
    found: list[str] = []
    wanted = {str(n.address): n for n in intent.neighbors}
    for address, n in wanted.items():
        if n.peer not in converged:
            continue
        if state.bgp.get(address) != "Established":
            found.append(f"BGP session with {n.peer} ({address}) is {state.bgp.get(address, 'not configured')}")
        elif state.bfd.get(address) != "up":
            found.append(f"BFD with {n.peer} ({address}) is {state.bfd.get(address, 'not running')}")
    if before is not None:  # what was up before the change must be up after it
        for address, was in before.bgp.items():
            counted = address in wanted and wanted[address].peer in converged  # reported above
            if was == "Established" and state.bgp.get(address) != "Established" and not counted:
                what = "is gone" if address not in wanted else f"is {state.bgp.get(address, 'down')}"
                found.append(f"BGP session with {address} was up before the change and {what}")
    for expected in intent.expected_prefixes:
        if expected.requires <= converged and expected.prefix not in state.routes:
            found.append(f"expected route {expected.prefix} is missing")
    if DEFAULT_ROUTE in state.routes:
        found.append(f"a default route is present ({state.routes[DEFAULT_ROUTE]}): this network has none")
    if intent.allowed_bgp_prefixes is not None:
        leaked = [
            str(p) for p, proto in state.routes.items() if proto == "bgp" and p not in intent.allowed_bgp_prefixes
        ]
        if leaked:
            found.append(f"routes this town must not learn: {', '.join(sorted(leaked))}")
    return found


def wait_healthy(
    driver: Driver,
    intent: DeviceIntent,
    converged: Callable[[], set[str]],
    before: DeviceState | None,
    timeout: float,
) -> tuple[list[str], DeviceState]:
    """Poll the device until its checks pass or `timeout` seconds have gone; the last findings."""
    deadline = time.monotonic() + timeout
    while True:
        state = driver.get_state()
        found = problems(intent, state, converged(), before)
        if not found or time.monotonic() >= deadline:
            return found, state
        time.sleep(POLL_INTERVAL_S)


def reachability(fleet: Fleet, inventory: Inventory, town: str) -> dict[str, bool]:
    """From the town's probe server: which DC targets answer (the service address, pinged and on the
    service's port)."""
    server = fleet.town_probe(town)
    if server is None:
        return {}
    targets = service_targets(inventory, fleet.binding.plan)
    answered = fleet.reach_from(server, targets.values())
    return {name: answered[reach_key(*target)] for name, target in targets.items()}


def reachability_problems(before: dict[str, bool], after: dict[str, bool], floor: set[str]) -> list[str]:
    """A change must keep what answered before, and at least the `floor` targets must answer."""
    return [
        f"{target} unreachable from the town" + (" (it answered before the change)" if before.get(target) else "")
        for target, ok in after.items()
        if not ok and (before.get(target) or target in floor)
    ]


def towns_converged(inventory: Inventory, towns: list[str], converged: set[str]) -> list[str]:
    return [t for t in towns if town_path(inventory, t) <= converged]
