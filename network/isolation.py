"""`verify --isolation`: what each town hall segment can reach, measured, against what the policy
(segmentation.yaml's flows, made concrete by `inventory/flow_plan.py`) allows. The proof of
三層分離 and of the towns' separation that an auditor asks for: every segment of every town probed
towards the service, the external services, every data center server's database, SSH and exporter
ports, the other segments of its own town hall and those of the other towns.

A probe counts as reached when the packet got there (a TCP connection accepted or reset, an echo
reply): a reset means the network let it in, which is what the policy is about, whatever the host
then refuses. A cell is a deviation when reached differs from allowed: a breach (reached, the
policy denies it: the separation does not hold) or a loss (allowed, not reached: a town cannot
work). Where the probes start is the environment's (`Prober`): the lab's client namespaces and town
servers (lab/isolation.py); production would need a probe host in each segment, which is not built.

The shared service's tenants are checked the same way: from each town's マイナンバー利用事務系, with
that town's certificate (mutual TLS), a read and a write of every town's tenant. The town's own
answers 200; another town's must be refused with 403 by the service (`TenantCell`): a 2xx is a
breach, anything else (no answer, a 404) proves nothing and is a deviation too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address
from typing import Any, Protocol

from inventory.environment import EnvironmentBinding
from inventory.flow_plan import ConcreteFlow, allowed_by, concrete_flows
from inventory.loader import Inventory

# The ports probed on every data center server: what a town must never reach there.
DC_SERVER_PORTS = (("ssh", 22), ("postgresql", 5432), ("pgbackrest", 8432), ("node-exporter", 9100))
SEGMENT_PORT = 445  # SMB towards another segment's PCs: the classic way across, never allowed
SEGMENTS = ("mynumber", "lgwan", "internet", "lan")
LAN_NAME = "庁内サーバLAN"
POINTS_AT_ONCE = 8  # each a process whose probes all wait out one timeout together
REACHED = frozenset({"open", "refused", "replied"})


@dataclass(frozen=True)
class ProbePoint:
    """Where probes start: a device in one segment of one town hall."""

    town: str
    segment: str  # mynumber | lgwan | internet | lan (the town hall LAN's servers)
    address: IPv4Address
    device: str  # what stands there (the lab's ina-pcs, ina-sv01)


@dataclass(frozen=True)
class Target:
    key: str  # tcp:198.18.0.1:8080
    group: str  # service | external | dc | segment
    name: str  # as a person reads it: 基幹系業務システム tcp/8080
    address: IPv4Address
    protocol: str  # tcp | icmp
    port: int | None = None
    town: str | None = None  # a segment's town
    segment: str | None = None


@dataclass(frozen=True)
class TenantRequest:
    """One request to the shared service about one town's tenant."""

    tenant: str
    method: str  # GET | POST
    path: str  # /health/<tenant>/<system> (a read of its schema) | /write/<tenant> (a committed row)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class Prober(Protocol):
    def points(self) -> list[ProbePoint]: ...

    def probe(self, point: ProbePoint, targets: Sequence[Target]) -> dict[str, str]:
        """Outcome per target key (lab/probes.py's outcomes)."""
        ...

    def ask_as(self, town: str, service: tuple[IPv4Address, int], requests: Sequence[TenantRequest]) -> dict[str, int]:
        """From `town`'s マイナンバー利用事務系 with its certificate, to the service (address, port):
        the HTTP status per request key (0: no answer)."""
        ...


@dataclass(frozen=True)
class Cell:
    point: ProbePoint
    target: Target
    allowed: bool
    flow: str | None  # the flow that allows it
    outcome: str

    @property
    def reached(self) -> bool:
        return self.outcome in REACHED

    @property
    def verdict(self) -> str:
        """as-policy | breach | loss"""
        if self.reached == self.allowed:
            return "as-policy"
        return "breach" if self.reached else "loss"


@dataclass(frozen=True)
class TenantCell:
    certificate: str  # the asking town
    request: TenantRequest
    status: int  # HTTP status, 0 when nothing answered

    @property
    def allowed(self) -> bool:
        return self.certificate == self.request.tenant

    @property
    def verdict(self) -> str:
        """as-policy | breach (another town's tenant answered) | loss (its own refused) | unproven
        (another town's neither answered nor refused with 403)"""
        if self.allowed:
            return "as-policy" if self.status == 200 else "loss"
        if self.status == 403:
            return "as-policy"
        return "breach" if 200 <= self.status < 300 else "unproven"


@dataclass
class IsolationReport:
    environment: str
    checked_at: datetime
    towns: dict[str, str]  # id -> Japanese name, in the environment's order
    segment_names: dict[str, str]
    cells: list[Cell] = field(default_factory=list)
    tenant_cells: list[TenantCell] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tenant_deviations(self) -> list[TenantCell]:
        return [c for c in self.tenant_cells if c.verdict != "as-policy"]

    @property
    def breaches(self) -> list[Cell]:
        return [c for c in self.cells if c.verdict == "breach"]

    @property
    def losses(self) -> list[Cell]:
        return [c for c in self.cells if c.verdict == "loss"]

    @property
    def ok(self) -> bool:
        return bool(self.cells) and not self.breaches and not self.losses and not self.tenant_deviations

    def rows(self) -> list[dict[str, Any]]:
        """Per town and segment: probes, allowed and reached, breaches, losses."""
        out = []
        for town in self.towns:
            for segment in SEGMENTS:
                cells = [c for c in self.cells if c.point.town == town and c.point.segment == segment]
                if not cells:
                    continue
                out.append(
                    {
                        "town": town,
                        "town_name": self.towns[town],
                        "segment": segment,
                        "segment_name": self.segment_names[segment],
                        "device": cells[0].point.device,
                        "probes": len(cells),
                        "allowed": sum(c.allowed for c in cells),
                        "reached": sum(c.reached for c in cells),
                        "breaches": sum(c.verdict == "breach" for c in cells),
                        "losses": sum(c.verdict == "loss" for c in cells),
                        "reaches": sorted({c.target.name for c in cells if c.reached}),
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "checked_at": self.checked_at.isoformat(),
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "summary": {
                "probes": len(self.cells),
                "allowed": sum(c.allowed for c in self.cells),
                "breaches": len(self.breaches),
                "losses": len(self.losses),
                "tenant_requests": len(self.tenant_cells),
                "tenant_deviations": len(self.tenant_deviations),
            },
            "rows": self.rows(),
            "tenants": [
                {
                    "certificate": c.certificate,
                    "tenant": c.request.tenant,
                    "method": c.request.method,
                    "path": c.request.path,
                    "allowed": c.allowed,
                    "status": c.status,
                    "verdict": c.verdict,
                }
                for c in self.tenant_cells
            ],
            "cells": [
                {
                    "town": c.point.town,
                    "segment": c.point.segment,
                    "source": str(c.point.address),
                    "device": c.point.device,
                    "target": c.target.name,
                    "group": c.target.group,
                    "destination": str(c.target.address),
                    "protocol": c.target.protocol,
                    "port": c.target.port,
                    "allowed": c.allowed,
                    "flow": c.flow,
                    "outcome": c.outcome,
                    "verdict": c.verdict,
                }
                for c in self.cells
            ],
        }


def targets(inventory: Inventory, binding: EnvironmentBinding, points: Sequence[ProbePoint]) -> list[Target]:
    """What every segment is probed towards (the same list for each; a point skips its own address)."""
    plan = binding.plan
    policy = inventory.segmentation
    services = policy.service_by_id()
    business = inventory.segmentation.business_service()
    found: list[Target] = [
        _target("service", f"{business.name} {business.label}", plan.service_address, "tcp", business.port),
        _target("service", f"{business.name} ping", plan.service_address, "icmp"),
    ]
    names = {e.id: e.name for e in policy.externals}
    for ext, address in plan.externals.items():
        ports = {
            services[f.service].port
            for f in policy.flows
            if any(d.kind == "external" and d.name == ext for d in f.destinations)
        }
        for port in sorted(p for p in ports if p is not None):
            found.append(_target("external", f"{names.get(ext, ext)} tcp/{port}", address, "tcp", port))
        found.append(_target("external", f"{names.get(ext, ext)} ping", address, "icmp"))
    for dc in inventory.datacenters:
        for host, _role in dc.servers():
            address = plan.dc_hosts[host].ip
            found += [
                _target("dc", f"{host} {what} tcp/{port}", address, "tcp", port) for what, port in DC_SERVER_PORTS
            ]
            found.append(_target("dc", f"{host} ping", address, "icmp"))
    for p in points:
        label = f"{p.town} {p.segment}"
        found.append(_target("segment", f"{label} tcp/{SEGMENT_PORT}", p.address, "tcp", SEGMENT_PORT, p))
        found.append(_target("segment", f"{label} ping", p.address, "icmp", None, p))
    return found


def tenant_requests(inventory: Inventory, binding: EnvironmentBinding) -> list[TenantRequest]:
    """Per tenant of the environment: a read of a system it subscribes and a write."""
    found = []
    for town in binding.towns:
        systems = inventory.subscribed_systems(inventory.town(town))
        if systems:
            found.append(TenantRequest(town, "GET", f"/health/{town}/{systems[0].id}"))
        found.append(TenantRequest(town, "POST", f"/write/{town}"))
    return found


def _target(
    group: str, name: str, address: IPv4Address, protocol: str, port: int | None = None, point: ProbePoint | None = None
) -> Target:
    return Target(
        f"{protocol}:{address}:{port or ''}",
        group,
        name,
        address,
        protocol,
        port,
        point.town if point else None,
        point.segment if point else None,
    )


def check_isolation(
    inventory: Inventory, binding: EnvironmentBinding, prober: Prober, checked_at: datetime
) -> IsolationReport:
    """Probe every point towards every target; each outcome against the policy."""
    started = time.monotonic()
    points = prober.points()
    flows: list[ConcreteFlow] = concrete_flows(
        inventory.segmentation, binding.plan, inventory.datacenters, binding.towns
    )
    report = IsolationReport(
        binding.name,
        checked_at,
        {t: inventory.town(t).name for t in binding.towns},
        {**{s.id: s.name for s in inventory.segmentation.town_segments}, "lan": LAN_NAME},
    )
    every = targets(inventory, binding, points)

    def probed(point: ProbePoint) -> tuple[ProbePoint, list[Target], dict[str, str]]:
        mine = [t for t in every if t.address != point.address]
        return point, mine, prober.probe(point, mine)

    # a few points at a time, each a process of its own (18 towns: 72 points)
    with ThreadPoolExecutor(max_workers=POINTS_AT_ONCE) as pool:
        results = list(pool.map(probed, points))
    for point, mine, outcomes in results:
        for t in mine:
            hit = allowed_by(flows, point.address, t.address, t.protocol, t.port)
            report.cells.append(Cell(point, t, hit is not None, hit.flow if hit else None, outcomes[t.key]))
    # every asking town's certificate against every tenant (the towns probed ask; every tenant is asked)
    requests = tenant_requests(inventory, binding)
    asking = list(dict.fromkeys(p.town for p in points if p.segment == "mynumber"))
    service = (binding.plan.service_address, int(inventory.segmentation.business_service().port or 0))
    with ThreadPoolExecutor(max_workers=POINTS_AT_ONCE) as pool:
        answers = dict(zip(asking, pool.map(lambda town: prober.ask_as(town, service, requests), asking), strict=True))
    for town in asking:
        report.tenant_cells += [TenantCell(town, r, answers[town].get(r.key, 0)) for r in requests]
    report.seconds = time.monotonic() - started
    return report
