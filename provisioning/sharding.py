"""The execution plan: which execution node and which regional Prometheus serve which regions.

Past one operations machine, the towns are run in shards: each shard has one execution node (which
runs the shard's provisioning and verification, `ansible-runner worker`) and one regional Prometheus
(which scrapes the shard's probes and records its SLA minutes). A shard holds whole regions
(regions.yaml), packed onto the nodes so that every node has about as many hosts as the others
(largest region first onto the least loaded node). A region is split only when it alone exceeds one
node's capacity: then into parts of consecutive towns, each within it (`hiki/1`, `hiki/2`). Keeping a
region whole keeps its towns on one node and one Prometheus: a lost node or Prometheus takes whole
regions with it, and a region's canary speaks for its region.

This module only packs: the load of each town (hosts, routers, series, samples) is given to it, by
the composition that derives it from the environment and the monitoring configuration
(municloud/scale.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from inventory.model.environment import execution_node_name
from inventory.model.regions import Region

# What one node of a shard holds, each figure with where it comes from. A node is AWX's / Ansible
# Automation Platform's documented minimum for an execution node: 4 vCPU, 16 GB (AAP 2.5 system
# requirements); the regional Prometheus runs on a machine of the same size.
#
# Hosts an execution node keeps: the idempotent re-run of its whole shard within one hour (a quarter
# of the contract's 4-hour monthly maintenance window, sla.yaml, leaving the rest for the change and
# its verification). Measured here: the full lab's re-run, 31 servers in 43 s on 2 cores (make bench,
# provisioning_full, Mitogen's strategy) is 2.8 core-seconds per host, so 4 cores x 3,600 s / 2.8 s
# = 5,140 hosts. AWX's memory-based capacity of such a node, (16,384 MB - 2,048) / 100 MB per fork
# = 143 forks at the re-run's 43 s per host, would allow 12,000: the CPU binds first.
EXEC_NODE_MAX_HOSTS = 5_000
# Active series a regional Prometheus keeps: half the machine's 16 GB for the head block at 8 KiB per
# series (Robust Perception's worst case for Prometheus 2, ~732 B + 32 B per label pair, doubled for
# Go's garbage collector, then doubled again for the WAL replay and compaction, as sizing calculators
# do at 7.5 KiB); the other half for queries (the 1,700-town SLA report's read took 1.71 GB, make bench).
PROMETHEUS_MAX_SERIES = 1_000_000
# At least two nodes: a node lost in the middle of a run leaves one to re-run its towns on.
MIN_NODES = 2


@dataclass(frozen=True)
class Load:
    """What some towns put on a node and its Prometheus. Figures add up (`+`)."""

    towns: int = 0
    hosts: int = 0  # servers provisioned and verified (the towns' in-office servers)
    routers: int = 0  # the towns' CE routers
    probe_series: int = 0  # the towns' probe exporters' series
    sla_series: int = 0  # the SLA's recorded series (recording rules x subscribed systems)
    active_series: int = 0  # what the Prometheus holds: every scraped series and the recorded ones
    samples_per_s: float = 0.0  # scrape samples per second

    def __add__(self, other: Load) -> Load:
        return Load(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Load)})


@dataclass(frozen=True)
class Capacity:
    hosts: int = EXEC_NODE_MAX_HOSTS
    series: int = PROMETHEUS_MAX_SERIES

    def exceeded_by(self, load: Load) -> list[str]:
        """What of `load` does not fit one node, said for a person."""
        over = []
        if load.hosts > self.hosts:
            over.append(f"{load.hosts:,} hosts > {self.hosts:,} per execution node")
        if load.active_series > self.series:
            over.append(f"{load.active_series:,} series > {self.series:,} per Prometheus")
        return over

    def nodes_for(self, load: Load) -> int:
        """The fewest nodes whose capacity adds up to `load` (packing may need more)."""
        return max(1, math.ceil(load.hosts / self.hosts), math.ceil(load.active_series / self.series))


@dataclass(frozen=True)
class TownLoad:
    town: str
    region: str
    load: Load


@dataclass(frozen=True)
class Shard:
    """A region, or a part of one too big for a node: the unit the plan places."""

    region: Region
    part: int | None  # 1, 2, ... when the region is split; None when whole
    towns: tuple[str, ...]
    load: Load
    order: int  # the region's place in regions.yaml, then the part's

    @property
    def name(self) -> str:
        return self.region.id if self.part is None else f"{self.region.id}/{self.part}"


@dataclass
class Node:
    """One execution node and its regional Prometheus."""

    index: int
    shards: list[Shard] = field(default_factory=list)

    @property
    def name(self) -> str:
        return execution_node_name(self.index)

    @property
    def prometheus(self) -> str:
        return f"prom-{self.index}"

    @property
    def load(self) -> Load:
        return sum((s.load for s in self.shards), Load())


@dataclass(frozen=True)
class Plan:
    nodes: tuple[Node, ...]
    capacity: Capacity
    needed: int  # the fewest nodes the load needs by capacity
    chosen: bool  # the number of nodes was given, not computed
    empty_regions: tuple[Region, ...]  # declared, but no town of the environment is in them

    @property
    def shards(self) -> list[Shard]:
        return sorted((s for n in self.nodes for s in n.shards), key=lambda s: s.order)

    @property
    def load(self) -> Load:
        return sum((n.load for n in self.nodes), Load())

    @property
    def split_regions(self) -> list[str]:
        return sorted({s.region.id for s in self.shards if s.part is not None})

    def over_capacity(self) -> dict[str, list[str]]:
        """Each node that does not fit its capacity, with what exceeds it."""
        found = {n.name: self.capacity.exceeded_by(n.load) for n in self.nodes}
        return {name: over for name, over in found.items() if over}

    @property
    def fits(self) -> bool:
        return not self.over_capacity()

    def node_of(self) -> dict[str, Node]:
        """Town id -> the node that serves it."""
        return {town: n for n in self.nodes for s in n.shards for town in s.towns}


def plan_shards(
    regions: Sequence[Region],
    towns: Sequence[TownLoad],
    nodes: int | None = None,
    capacity: Capacity | None = None,
) -> Plan:
    """The execution plan of `towns` (in the inventory's order) over `regions` (regions.yaml's).
    `nodes`: how many; default the fewest that hold the load within `capacity`, at least MIN_NODES.
    Raises ValueError for a town in an undeclared region or fewer than one node."""
    capacity = capacity or Capacity()
    if nodes is not None and nodes < 1:
        raise ValueError(f"a plan needs at least one node, not {nodes}")
    shards = _shards(regions, towns, capacity)
    total = sum((s.load for s in shards), Load())
    needed = capacity.nodes_for(total)
    count = nodes if nodes is not None else max(MIN_NODES, needed)
    packed = _pack(shards, count)
    while nodes is None and count < len(shards) and any(capacity.exceeded_by(n.load) for n in packed):
        count += 1
        packed = _pack(shards, count)
    used = {t.region for t in towns}
    empty = tuple(r for r in regions if r.id not in used)
    return Plan(tuple(packed), capacity, needed, nodes is not None, empty)


def _shards(regions: Sequence[Region], towns: Sequence[TownLoad], capacity: Capacity) -> list[Shard]:
    by_region: dict[str, list[TownLoad]] = {r.id: [] for r in regions}
    for town in towns:
        if town.region not in by_region:
            raise ValueError(f"town '{town.town}' is in region '{town.region}', which regions.yaml does not declare")
        by_region[town.region].append(town)
    shards: list[Shard] = []
    for i, region in enumerate(regions):
        members = by_region[region.id]
        if not members:
            continue
        whole = sum((t.load for t in members), Load())
        parts = _split(members, capacity) if capacity.exceeded_by(whole) else [members]
        for k, part in enumerate(parts):
            shards.append(
                Shard(
                    region,
                    k + 1 if len(parts) > 1 else None,
                    tuple(t.town for t in part),
                    sum((t.load for t in part), Load()),
                    i * 10_000 + k,
                )
            )
    return shards


def _split(members: list[TownLoad], capacity: Capacity) -> list[list[TownLoad]]:
    """Consecutive towns, as many as fit one node, part after part."""
    parts: list[list[TownLoad]] = [[]]
    load = Load()
    for town in members:
        if parts[-1] and capacity.exceeded_by(load + town.load):
            parts.append([])
            load = Load()
        parts[-1].append(town)
        load = load + town.load
    return parts


def _pack(shards: list[Shard], count: int) -> list[Node]:
    """Largest shard first (by hosts, then series) onto the node with the fewest hosts so far; the
    nodes then numbered in the order of their first region."""
    nodes = [Node(i) for i in range(count)]
    loads = [Load() for _ in nodes]
    for shard in sorted(shards, key=lambda s: (-s.load.hosts, -s.load.active_series, s.order)):
        target = min(range(count), key=lambda i: (loads[i].hosts, loads[i].active_series, i))
        nodes[target].shards.append(shard)
        loads[target] = loads[target] + shard.load
    used = sorted((n for n in nodes if n.shards), key=lambda n: min(s.order for s in n.shards))
    idle = [n for n in nodes if not n.shards]
    for index, node in enumerate([*used, *idle], start=1):
        node.index = index
        node.shards.sort(key=lambda s: s.order)
    return sorted(nodes, key=lambda n: n.index)
