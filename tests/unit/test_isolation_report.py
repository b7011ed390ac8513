"""`verify --isolation`'s comparison and report, from a prober that answers as a given network would:
one where exactly the policy's flows get through (every cell as the policy says), and the same with
one crossing left open and one flow broken (a breach and a loss, named in the report). The probes
themselves run against the lab's real namespaces in tests/lab/test_network.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from inventory.flow_plan import allowed_by, concrete_flows
from inventory.model.sla import CONTRACT_TZ
from network.isolation import ProbePoint, Target, check_isolation
from network.report import render_isolation


class PolicyNetwork:
    """Reaches what the policy allows, plus `open_crossings`, minus `broken` (target names); a service
    that answers a town's certificate for its own tenant only, but for `leaks` ((asking town, tenant))."""

    def __init__(self, inventory, binding, open_crossings=(), broken=(), leaks=()) -> None:
        self.plan = binding.plan
        self.flows = concrete_flows(inventory.segmentation, binding.plan, inventory.datacenters, binding.towns)
        self.towns = binding.towns
        self.open, self.broken, self.leaks = set(open_crossings), set(broken), set(leaks)
        self.asked: list[tuple[str, object]] = []

    def ask_as(self, town, service, requests) -> dict[str, int]:
        self.asked.append((town, service))
        return {r.key: 200 if r.tenant == town or (town, r.tenant) in self.leaks else 403 for r in requests}

    def points(self) -> list[ProbePoint]:
        found = []
        for town in self.towns:
            t = self.plan.towns[town]
            for layer, seg in t.segments.items():
                found.append(ProbePoint(town, layer, seg.network.network_address + 10, f"{town}-{layer}-pc"))
            server = next(iter(t.servers))
            found.append(ProbePoint(town, "lan", t.servers[server].ip, server))
        return found

    def probe(self, point: ProbePoint, targets: Sequence[Target]) -> dict[str, str]:
        out = {}
        for t in targets:
            allowed = allowed_by(self.flows, point.address, t.address, t.protocol, t.port) is not None
            reached = (allowed and (point.town, t.name) not in self.broken) or (
                point.town,
                point.segment,
                t.name,
            ) in self.open
            out[t.key] = ("open" if t.protocol == "tcp" else "replied") if reached else "prohibited"
        return out


@pytest.fixture(scope="module")
def env():
    inv = load_inventory()
    binding = bind_environment(inv, "lab", Path("/nonexistent"))
    return inv, dataclasses.replace(binding, towns=binding.towns[:3])


def test_a_network_that_lets_through_exactly_the_policy_passes(env) -> None:
    inv, binding = env
    report = check_isolation(inv, binding, PolicyNetwork(inv, binding), datetime.now(CONTRACT_TZ))
    assert report.ok and report.cells
    segments = {(c.point.town, c.point.segment) for c in report.cells}
    assert len(segments) == 4 * len(binding.towns)
    mynumber = [c for c in report.cells if c.point.segment == "mynumber" and c.allowed]
    assert {c.target.group for c in mynumber} == {"service"}  # the resident-data layer reaches the service only
    assert not [c for c in report.cells if c.target.group == "dc" and c.allowed]
    # every town's certificate asked every tenant, a read and a write each, on the service address
    n = len(binding.towns)
    assert len(report.tenant_cells) == n * n * 2 and not report.tenant_deviations
    assert sum(c.allowed for c in report.tenant_cells) == n * 2


def test_a_tenant_served_to_another_towns_certificate_is_a_breach(env, tmp_path: Path) -> None:
    inv, binding = env
    asking, tenant = binding.towns[0], binding.towns[1]
    network = PolicyNetwork(inv, binding, leaks=[(asking, tenant)])
    report = check_isolation(inv, binding, network, datetime.now(CONTRACT_TZ))
    assert not report.ok and not report.breaches and not report.losses
    assert {(c.certificate, c.request.tenant, c.request.method, c.verdict) for c in report.tenant_deviations} == {
        (asking, tenant, "GET", "breach"),
        (asking, tenant, "POST", "breach"),
    }
    assert {service for _, service in network.asked} == {(binding.plan.service_address, 8080)}
    html = render_isolation(report, tmp_path)["html"].read_text()
    assert "テナント分離" in html and f"/write/{tenant}" in html


def test_an_open_crossing_is_a_breach_and_a_broken_flow_a_loss(env, tmp_path: Path) -> None:
    inv, binding = env
    town = binding.towns[0]
    probe = PolicyNetwork(inv, binding)
    lgwan_target = next(t for t in probe_targets(inv, binding, probe) if t.group == "external" and "443" in t.name)
    service = next(t for t in probe_targets(inv, binding, probe) if t.group == "service" and t.protocol == "tcp")
    network = PolicyNetwork(
        inv, binding, open_crossings=[(town, "mynumber", lgwan_target.name)], broken=[(town, service.name)]
    )
    report = check_isolation(inv, binding, network, datetime.now(CONTRACT_TZ))
    assert not report.ok
    (breach,) = report.breaches
    assert (breach.point.town, breach.point.segment, breach.target.name) == (town, "mynumber", lgwan_target.name)
    assert {(c.point.segment, c.target.name) for c in report.losses} == {
        ("mynumber", service.name),
        ("lan", service.name),
    }
    paths = render_isolation(report, tmp_path)
    html = paths["html"].read_text()
    assert "セキュリティ分離検証報告" in html and "侵害" in html and inv.town(town).name in html
    assert paths["pdf"].stat().st_size > 10_000
    data = paths["json"].read_text()
    assert '"breaches": 1' in data


def probe_targets(inv, binding, prober):
    from network.isolation import targets

    return targets(inv, binding, prober.points())
