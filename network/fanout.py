"""How `net apply` fans a change out: per region, with one canary each, and a bounded number of
management sessions through any one carrier edge.

Groups. A town's router (CE) belongs to its town's region (towns.yaml `region:`, regions.yaml). The
carrier edges (PE) and the data centers' edge routers are shared by every region: they form a group
of their own, `SHARED`, changed before any region (see network/apply.py for why). Each group has a
canary, changed first: an explicit one (`--canary`, at most one per group), else the group's changed
device with the fewest residents behind it (the smallest blast radius), then its name.

Residents behind a device are those whose service path crosses it in normal operation: a CE carries
its town; a carrier edge the towns whose primary circuit lands on it, and every town when the
primary data center hangs off it; a DC edge every town at the primary site, none at the backup one.

Sessions per carrier edge. In production the operations center reaches a town's router over the
town's circuits, through the carrier's edges: every session to a CE crosses a PE. A change to many
towns at once would put that many log-ins, pushes and checks (and the BGP churn a push causes)
through one PE; `EdgeSlots` allows at most `per_edge` sessions in use at once through any one edge,
whatever the number of workers. A CE's session counts against the edges of both its circuits: it
normally takes the primary, and the backup whenever the primary is down, which the change being
pushed (or a circuit outage) can cause at any moment. A session counts from its log-in or its first
command of a step to the end of that step; a session kept open between steps only keeps its TCP
connection alive. The shared devices are reached on the data centers' and the carrier's own
management networks, not through a town's circuit: they take no slot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

SHARED = "shared"  # the group of the devices every region depends on: carrier edges, DC edges
SHARED_NAME = "共用 (carrier and DC edges)"

# At most this many management sessions in use at once through one carrier edge (DEFAULT: to be
# replaced by the carrier's agreed figure). What a session puts through the edge is small; what a
# change does there is not: every town router's push re-converges its BGP (and BFD) sessions with
# both edges, and a push gone wrong makes them flap. The default is `net apply`'s default workers,
# so that the 18 towns' change runs as before (never more than 8 routers changed at once anyway);
# the bound is what stops a larger --workers for a larger cloud, or the steps that go to every
# router at once (reads, checks, saves: STEP_WORKERS), from putting more towns than that through
# one edge.
SESSIONS_PER_EDGE = 8


class CanaryError(ValueError):
    """An explicit canary that cannot be one (not a changed device, or two in one group)."""


@dataclass(frozen=True)
class RegionGroup:
    """The changed devices of one region (or of the shared group): the canary, then the rest."""

    region: str  # a region id of regions.yaml, or SHARED
    name: str  # as the region is called (比企), or SHARED_NAME
    canary: str
    rest: tuple[str, ...]

    @property
    def devices(self) -> tuple[str, ...]:
        return (self.canary, *self.rest)


def device_region(inventory: Inventory, binding: EnvironmentBinding, name: str) -> str:
    """The region a router belongs to: its town's, or SHARED for a router of no town."""
    town = binding.host(name).town
    return inventory.town(town).region if town else SHARED


def residents_behind(inventory: Inventory, binding: EnvironmentBinding, name: str) -> int:
    """The residents whose service path crosses the router in normal operation (see the module)."""
    host = binding.host(name)
    if host.town:
        return inventory.town(host.town).population
    towns = [inventory.town(t) for t in binding.towns]  # a shared router: whose paths cross it
    everyone = sum(t.population for t in towns)
    edge_ids = {e.id for e in inventory.wan.carrier.edges if e.name == name}
    if edge_ids:
        if inventory.primary_dc.carrier_edge in edge_ids:
            return everyone
        return sum(t.population for t in towns if t.circuits.primary.carrier_edge in edge_ids)
    sites = [dc for dc in inventory.datacenters if dc.edge_router.name == name]
    return everyone if any(dc.role == "primary" for dc in sites) else 0


def region_groups(
    inventory: Inventory, binding: EnvironmentBinding, changed: Iterable[str], canaries: Iterable[str] = ()
) -> list[RegionGroup]:
    """The changed devices in groups, in the order they are changed: the shared group first, then the
    regions as regions.yaml lists them. CanaryError for an explicit canary that is not a changed
    device, or a second one in the same group."""
    changed = list(changed)
    members: dict[str, list[str]] = {}
    for name in changed:
        members.setdefault(device_region(inventory, binding, name), []).append(name)
    chosen: dict[str, str] = {}
    for canary in canaries:
        if canary not in changed:
            raise CanaryError(f"canary {canary} is not a changed device of the plan")
        region = device_region(inventory, binding, canary)
        if chosen.get(region, canary) != canary:
            raise CanaryError(f"two canaries for region {region}: {chosen[region]} and {canary} (one per region)")
        chosen[region] = canary
    order = [SHARED, *(r.id for r in inventory.regions)]
    names = {r.id: r.name for r in inventory.regions} | {SHARED: SHARED_NAME}
    groups = []
    for region in sorted(members, key=lambda r: (order.index(r) if r in order else len(order), r)):
        devices = members[region]
        canary = chosen.get(region) or min(devices, key=lambda n: (residents_behind(inventory, binding, n), n))
        groups.append(RegionGroup(region, names.get(region, region), canary, tuple(d for d in devices if d != canary)))
    return groups


def management_edges(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, tuple[str, ...]]:
    """Per router of the binding: the carrier edges (router names) its management sessions cross,
    both circuits' for a town's router, none for a shared one."""
    edge_name = {e.id: e.name for e in inventory.wan.carrier.edges}
    edges: dict[str, tuple[str, ...]] = {}
    for host in binding.routers():
        if host.town:
            circuits = inventory.town(host.town).circuits
            ids = {circuits.primary.carrier_edge, circuits.backup.carrier_edge}
            edges[host.name] = tuple(sorted(edge_name.get(i, i) for i in ids))
        else:
            edges[host.name] = ()
    return edges


class EdgeSlots:
    """A semaphore per carrier edge: `hold(device)` waits until every edge the device's sessions
    cross has a free slot, and keeps them for the duration. The slots are taken in the edges' name
    order, so two devices waiting for the same edges cannot hold one each and wait for ever."""

    def __init__(self, edges_of: dict[str, tuple[str, ...]], per_edge: int) -> None:
        if per_edge < 1:
            raise ValueError(f"sessions per carrier edge must be at least 1, not {per_edge}")
        self.edges_of = edges_of
        self.per_edge = per_edge
        self._semaphores = {e: threading.BoundedSemaphore(per_edge) for es in edges_of.values() for e in es}
        self._guard = threading.Lock()
        self._in_use: dict[str, int] = dict.fromkeys(self._semaphores, 0)
        self.peak: dict[str, int] = dict.fromkeys(self._semaphores, 0)  # the most held at once, per edge

    @contextmanager
    def hold(self, device: str) -> Iterator[None]:
        edges = sorted(self.edges_of.get(device, ()))
        with ExitStack() as held:
            for edge in edges:
                held.enter_context(self._semaphores[edge])
            self._count(edges, +1)
            held.callback(self._count, edges, -1)
            yield

    def _count(self, edges: list[str], step: int) -> None:
        with self._guard:
            for edge in edges:
                self._in_use[edge] += step
                self.peak[edge] = max(self.peak[edge], self._in_use[edge])
