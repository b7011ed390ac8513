"""`municloud deploy`: the day-1 chain for a set of towns, network then servers then proof.

1. network: `net plan` and `net apply` (with its change windows, canary, post-checks and rollback)
   on the shared routers (carrier edges, DC edges) and the chosen towns' CE routers;
2. provisioning: the playbooks on both data centers' servers and the chosen towns' servers;
3. verification: the testinfra suites on the same hosts;
4. isolation: what every segment of the chosen towns reaches, probed against segmentation.yaml
   (`verify --isolation`, its report written); in an environment without probe points (production
   today) the stage says so and passes without measuring.
It stops at the first stage that fails and says which, with the failing routers or hosts by name.
Towns are chosen by `--town`, by cut-over `--wave` (the seed's staggered migration, 五月雨式), or by
default every town whose cut-over is live or migrating (planned towns wait for their wave).
Every deploy is recorded (`deploys.jsonl` under the state directory) for `municloud status`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from network.apply import apply_plan
from network.plan import make_plan, select_devices
from provisioning.dispatch import lost_lines, placement_lines
from provisioning.node_worker import NodeUnavailable
from provisioning.runner import Events
from provisioning.verify import run_verify
from toolkit.documents import DocumentError
from toolkit.settings import state_dir

from .isolation import NO_PROBE_POINTS, IsolationUnavailable, has_probe_points, run_isolation
from .scale import run_playbook_by_plan

STAGES = ("network", "provisioning", "verification", "isolation")


@dataclass
class StageResult:
    stage: str
    ok: bool
    seconds: float
    summary: str
    failing: list[str] = field(default_factory=list)  # routers or hosts, by name


@dataclass
class DeployResult:
    environment: str
    towns: list[str]
    started: float
    stages: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.stages) == len(STAGES) and all(s.ok for s in self.stages)

    @property
    def failed_stage(self) -> StageResult | None:
        return next((s for s in self.stages if not s.ok), None)


def deploy_towns(inventory: Inventory, binding: EnvironmentBinding, town: str | None, wave: int | None) -> list[str]:
    """The towns a deploy covers. KeyError (invalid input) for a town or wave the environment lacks."""
    if town is not None:
        if town not in binding.towns:
            raise KeyError(f"town '{town}' is not in environment '{binding.name}' ({', '.join(binding.towns)})")
        return [town]
    towns = [inventory.town(t) for t in binding.towns]
    if wave is not None:
        chosen = [t.id for t in towns if t.cutover.wave == wave]
        if not chosen:
            waves = sorted({t.cutover.wave for t in towns})
            raise KeyError(f"no town of environment '{binding.name}' is in wave {wave} (waves: {waves})")
        return chosen
    return [t.id for t in towns if t.cutover.status in ("live", "migrating")]


def deploy(
    inventory: Inventory,
    binding: EnvironmentBinding,
    towns: list[str],
    *,
    emergency_reason: str | None = None,
    stage_started: Callable[[str], None] = lambda stage: None,
    network_progress: Callable[[str, int, int], None] | None = None,
    events: Events | None = None,
    local: bool = False,
) -> DeployResult:
    result = DeployResult(binding.name, towns, time.time())
    routers = [r.name for r in binding.routers() if r.town is None]  # the shared carrier and DC edges
    routers += select_devices(inventory, binding, None, towns) if towns else []

    stage_started("network")
    started = time.monotonic()
    plan = make_plan(inventory, binding, routers)
    broken = [d.name for d in plan.devices if d.error]
    if broken:
        result.stages.append(
            StageResult("network", False, time.monotonic() - started, "routers could not be planned", broken)
        )
        return _record(result)
    plan.save()
    applied = apply_plan(plan, inventory, binding, emergency_reason=emergency_reason, progress=network_progress)
    changed = sum(1 for r in applied.results.values() if r.status == "applied")
    result.stages.append(
        StageResult(
            "network",
            applied.ok,
            time.monotonic() - started,
            f"{changed} router(s) changed, {len(routers) - changed} already as intended (change {applied.change_id})",
            [
                f"{n}: {r.status} {r.detail}".strip()
                for n, r in applied.results.items()
                if r.status not in ("applied", "unchanged")
            ],
        )
    )
    if not applied.ok:
        return _record(result)

    stage_started("provisioning")
    limit = ":".join(["role_app", "role_db", "role_backup", *(f"town_{t.replace('-', '_')}" for t in towns)])
    try:
        provisioned = run_playbook_by_plan(inventory, binding, "site.yml", local=local, limit=limit, events=events)
    except NodeUnavailable as error:
        result.stages.append(StageResult("provisioning", False, 0.0, str(error)))
        return _record(result)
    where = "".join(f"; {line}" for line in placement_lines(provisioned)) if provisioned.nodes else ""
    result.stages.append(
        StageResult(
            "provisioning",
            provisioned.ok,
            provisioned.seconds,
            f"{len(provisioned.recap)} server(s), {provisioned.changed} change(s){where}",
            sorted({f"{f.host}: {f.task}" for f in provisioned.failures}) + lost_lines(provisioned),
        )
    )
    if not provisioned.ok:
        return _record(result)

    stage_started("verification")
    verified = run_verify(inventory, binding, towns=towns)
    passed = sum(r.passed for r in verified.results)
    result.stages.append(
        StageResult(
            "verification",
            verified.ok,
            verified.seconds,
            f"{passed}/{len(verified.results)} checks passed"
            + (f" ({verified.error[:200]})" if verified.error else ""),
            [f"{r.host}: {r.check}" for r in verified.results if not r.passed],
        )
    )
    if not verified.ok:
        return _record(result)

    stage_started("isolation")
    result.stages.append(_isolation_stage(inventory, binding, towns))
    return _record(result)


def _isolation_stage(inventory: Inventory, binding: EnvironmentBinding, towns: list[str]) -> StageResult:
    started = time.monotonic()
    if not has_probe_points(binding):
        return StageResult("isolation", True, 0.0, f"not measured: {NO_PROBE_POINTS}")
    try:
        report, paths = run_isolation(inventory, binding, towns)
    except (IsolationUnavailable, OSError, DocumentError) as error:
        return StageResult("isolation", False, time.monotonic() - started, str(error))
    return StageResult(
        "isolation",
        report.ok,
        report.seconds,
        f"{len(report.cells)} probes, {len(report.breaches)} breach(es), {len(report.losses)} loss(es); "
        f"{len(report.tenant_cells)} tenant requests, {len(report.tenant_deviations)} deviation(s) "
        f"(report {paths['html']})",
        [
            f"{c.point.town} {c.point.segment} -> {c.target.name}: {c.verdict} ({c.outcome})"
            for c in report.breaches + report.losses
        ]
        + [
            f"{t.certificate}'s certificate {t.request.key}: {t.verdict} ({t.status or 'no answer'})"
            for t in report.tenant_deviations
        ],
    )


def deploys_file(environment: str) -> Path:
    return state_dir() / environment / "deploys.jsonl"


def _record(result: DeployResult) -> DeployResult:
    path = deploys_file(result.environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps({**asdict(result), "ok": result.ok}, ensure_ascii=False) + "\n")
    return result


def last_deploys(environment: str) -> dict[str, dict[str, Any]]:
    """Per town, the last deploy that covered it."""
    path = deploys_file(environment)
    last: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                for town in record["towns"]:
                    last[town] = record
    return last
