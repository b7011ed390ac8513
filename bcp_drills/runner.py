"""Running a drill: the scenario turned into a Chaos Toolkit experiment and run by chaostoolkit-lib
(`run_experiment`, rollbacks strategy "always": they run after a failed step, a tripped stop
condition, Ctrl-C or SIGTERM), with municloud's measurement around it: a fast probe stream from
every town for the whole drill, a watcher that trips the stop conditions, a last safety net that
heals the lab whatever happened, and the analysis written into the journal (`municloud` key).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from chaoslib.exit import exit_gracefully, exit_signals
from chaoslib.experiment import run_experiment
from chaoslib.types import Dry

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.platforms import platform_facts
from lab.engine import Lab
from pki.authority import Authority

from . import drill as context
from .drill import Drill
from .journal import JOURNAL_FILE
from .probes import (
    HEARTBEAT_INTERVAL_MS,
    Outage,
    PlannedOutage,
    planned_during,
    start_stream,
    stop_streams,
    stream_interval_ms,
)
from .scenario import Scenario, Step


class _QuietRollbackNotice(logging.Filter):
    """chaoslib warns on every run that rollbacks were requested: municloud always requests them
    (rollbacks "always"), so the warning says nothing to an operator and only clutters the output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Rollbacks were explicitly requested to be played"


logging.getLogger("chaostoolkit").addFilter(_QuietRollbackNotice())

WATCH_INTERVAL = 0.05


def _activity(step: Step, kind: str) -> dict[str, Any]:
    return {
        "type": "action",
        "name": step.name,
        "provider": {
            "type": "python",
            "module": "bcp_drills.activities",
            "func": step.do,
            "arguments": dict(step.with_),
        },
        "municloud": {
            "kind": kind,
            "budget_seconds": step.budget_seconds,
            "planned_outage_seconds": step.planned_outage_seconds,
        },
    }


def build_experiment(scenario: Scenario, dry_run: bool) -> dict[str, Any]:
    probes = [
        {
            "type": "probe",
            "name": name.replace("_", " "),
            "tolerance": True,
            "provider": {"type": "python", "module": "bcp_drills.activities", "func": name},
        }
        for name in scenario.steady_state
    ]
    experiment: dict[str, Any] = {
        "version": "1.0.0",
        "title": f"{scenario.title.en} ({scenario.title.ja})",
        "description": scenario.description,
        "tags": ["municloud", "bcp", scenario.name],
        "steady-state-hypothesis": {"title": "every town reaches every system it subscribes", "probes": probes},
        "method": [_activity(s, s.kind) for s in scenario.method],
        "rollbacks": [_activity(s, s.kind) for s in scenario.rollbacks],
        "controls": [
            {
                "name": "municloud: a failed step stops the drill",
                "provider": {"type": "python", "module": "bcp_drills.controls"},
            }
        ],
    }
    if dry_run:
        experiment["dry"] = Dry.ACTIONS  # every probe and precondition, no fault
    return experiment


def _watch(drill: Drill, stop: threading.Event) -> None:
    """The stop conditions, checked every 50 ms while the method runs: trip once, then stop."""
    limits = drill.scenario.stop_conditions
    affected = set(drill.affected)
    while not stop.wait(WATCH_INTERVAL):
        drill.refresh()
        now = time.time()
        reason = None
        for town, stream in drill.streams.items():
            out = stream.failing_for(now)
            if town in affected and limits.max_outage_seconds and out > limits.max_outage_seconds:
                reason = (
                    "max-outage",
                    f"{town} had no service for {out:.1f} s (limit {limits.max_outage_seconds:g} s)",
                )
            elif (
                town not in affected
                and limits.unaffected_towns_keep_service
                and drill.first_fault_at is not None
                and out > limits.unaffected_grace_seconds
            ):
                reason = (
                    "unaffected-town-lost-service",
                    f"{town}, which the fault should not touch, had no service for {out:.1f} s",
                )
            if reason:
                break
        if reason:
            drill.stop_condition = {"name": reason[0], "detail": reason[1], "at": now}
            drill.observe(f"stop condition tripped: {reason[1]}")
            exit_gracefully()  # SIGUSR1: chaostoolkit-lib interrupts the method and runs the rollbacks
            return


def run_drill(
    scenario: Scenario,
    inventory: Inventory,
    binding: EnvironmentBinding,
    *,
    towns: list[str] | None = None,
    dry_run: bool = False,
    operator: str | None = None,
    out_dir: Path,
    progress: Callable[[str], None] = lambda what: None,
    silence: Callable[[Drill], AbstractContextManager[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Run `scenario` and return its journal (also written to `out_dir/journal.json`).

    `silence`: the alerts' silence held from before the probes until the lab is healed, whatever
    happened (the CLI passes monitoring.silences.drill_silence: this layer knows no Alertmanager);
    the record it yields, completed when it is left, goes into the journal as municloud.silence."""
    lab = Lab(state_dir=binding.lab.state_dir, prefix=binding.lab.prefix) if binding.lab is not None else None
    selected = list(towns or binding.towns)
    limit = scenario.towns_at_most
    if limit is not None and len(selected) > limit:
        if towns:
            raise ValueError(f"{scenario.name} is aimed at {limit} town(s) at most, not {len(selected)}: use --town")
        selected = selected[:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    pki = Authority(binding.name)
    for town in binding.towns:  # every probe speaks TLS with its town's certificate: checked first
        pki.town_identity(town)
    pki.operations_identity()
    drill = Drill(
        scenario,
        inventory,
        binding,
        list(binding.towns),
        selected,
        operator or os.environ.get("SUDO_USER") or getpass.getuser(),
        dry_run,
        out_dir,
        lab,
        pki,
    )
    context.set_current(drill)
    stop_watch = threading.Event()
    journal: dict[str, Any] = {}
    started = time.time()
    with silence(drill) if silence is not None else nullcontext({}) as silenced:
        _run(drill, scenario, dry_run, lab, stop_watch, progress, journal)
    journal["municloud"] = analyse(drill, journal, started, time.time())
    if silence is not None:
        journal["municloud"]["silence"] = silenced
    (out_dir / JOURNAL_FILE).write_text(json.dumps(journal, ensure_ascii=False, indent=1, default=str))
    return journal


def _run(
    drill: Drill,
    scenario: Scenario,
    dry_run: bool,
    lab: Lab | None,
    stop_watch: threading.Event,
    progress: Callable[[str], None],
    journal: dict[str, Any],
) -> None:
    """The probes, the experiment (its journal into `journal`) and the safety net, always."""
    try:
        progress("fast probes from every town")
        _start_probes(drill)
        time.sleep(1.0)  # a baseline before anything happens
        watcher = threading.Thread(target=_watch, args=(drill, stop_watch), daemon=True)
        watcher.start()
        progress(f"{scenario.name}: steady state, method, rollbacks")
        with exit_signals():
            journal.update(
                run_experiment(
                    build_experiment(scenario, dry_run),
                    settings={"runtime": {"rollbacks": {"strategy": "always"}}},
                )
            )
    finally:
        stop_watch.set()
        progress("stopping the probes")
        stop_streams([*drill.streams.values(), *drill.writes.values()])
        # The last safety net: whatever happened above (a crash, a second Ctrl-C during the
        # rollbacks), the drill does not leave the lab faulted.
        if lab is not None and lab.faults():
            left = [f["id"] for f in lab.faults()]
            lab.heal()
            drill.observe(f"faults left after the rollbacks were healed by the safety net: {left}")
        context.set_current(None)


def _start_probes(drill: Drill) -> None:
    scenario = drill.scenario
    host = str(drill.binding.plan.service_address)
    every = stream_interval_ms(scenario.probe, scenario.probe_interval_ms, len(drill.towns))
    heartbeat = stream_interval_ms("write", HEARTBEAT_INTERVAL_MS, len(drill.towns))
    for town in drill.towns:
        netns = drill.binding.clients[f"{town}-pcs"].netns
        systems = [s.id for s in drill.inventory.subscribed_systems(drill.inventory.town(town))]
        drill.streams[town] = start_stream(
            town,
            scenario.probe,
            netns,
            host,
            every,
            scenario.max_duration_seconds,
            drill.out_dir,
            systems,
            drill.town_tls(town),
        )
        if scenario.heartbeat_writes:
            drill.writes[town] = start_stream(
                town,
                "write",
                netns,
                host,
                heartbeat,
                scenario.max_duration_seconds,
                drill.out_dir,
                tls=drill.town_tls(town),
            )


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def _length(outage: Outage) -> str:
    return "unrecovered" if outage.ms is None else f"{outage.ms:.0f} ms"


def _planned_outages(journal: dict[str, Any]) -> list[PlannedOutage]:
    """The method's steps that may stop the service, with when they ran."""
    planned = []
    for entry in journal.get("run", []):
        activity = entry.get("activity", {})
        seconds = activity.get("municloud", {}).get("planned_outage_seconds")
        start, end = _epoch(entry.get("start")), _epoch(entry.get("end"))
        if seconds and start is not None and end is not None:
            planned.append(PlannedOutage(activity.get("name", "?"), start, end, seconds))
    return planned


def _failover_target_ms(drill: Drill, town: str) -> int | None:
    """The circuit-failover target of an affected town in a scenario that holds towns to it."""
    if not drill.scenario.circuit_failover_target or town not in drill.affected:
        return None
    router = drill.binding.host(drill.inventory.town(town).router.name)
    detection = platform_facts(router.platform or "frr").failure_detection
    return drill.inventory.wan.failure_detection.failover_target_ms(detection)


def analyse(drill: Drill, journal: dict[str, Any], started: float, ended: float) -> dict[str, Any]:
    """The municloud record: outages per town and system, RPO, the timeline, observations, verdict."""
    scenario, inventory = drill.scenario, drill.inventory
    targets = {
        t.id: {"rto_seconds": t.drill.rto_seconds, "rpo_seconds": t.drill.rpo_seconds} for t in inventory.sla.tiers
    }
    outages = []
    planned_outages = []
    per_town_ms: dict[str, float | None] = {}
    further: dict[str, int] = {}  # unplanned outages after the first recovery, per town (target 0)
    planned = _planned_outages(journal)
    for town in drill.towns:
        stream = drill.streams[town]
        fault = drill.fault_at.get(town)
        runs = stream.outages(fault) if fault is not None else []
        first = runs[0] if runs else None
        recovered = first is None or first.end is not None
        rto = (first.end - fault) * 1000 if first is not None and first.end is not None and fault is not None else None
        per_town_ms[town] = first.ms if first is not None else None
        after = [s for s in stream.samples if fault is not None and s.at >= fault]
        if town in drill.affected and fault is not None and first is None and not drill.dry_run:
            drill.observe(f"{town}: the fault caused no outage at all (was it applied?)")
        if first is not None and first.end is None:
            drill.observe(f"{town}: the service never came back during the drill")
        unplanned = []
        for later in runs[1:]:
            step = planned_during(later, planned)
            if step is not None and step.covers(later):
                planned_outages.append({"town": town, "step": step.step, "start": later.start, "ms": later.ms})
                continue
            unplanned.append(later)
            if step is not None:
                drill.observe(
                    f"{town}: the outage during step '{step.step}' lasted {_length(later)}, over the "
                    f"{step.seconds:g} s it may cause"
                )
        further[town] = len(unplanned)
        if unplanned:
            longest = max(unplanned, key=lambda o: o.ms if o.ms is not None else float("inf"))
            at = datetime.fromtimestamp(longest.start).strftime("%H:%M:%S.%f")[:-3]
            drill.observe(
                f"{town}: {len(unplanned)} further outage(s) after the first recovery, the longest "
                f"{_length(longest)} at {at}"
            )
        failover_target = _failover_target_ms(drill, town)
        if failover_target is not None and first is not None and (first.ms is None or first.ms > failover_target):
            platform = drill.binding.host(inventory.town(town).router.name).platform or "frr"
            drill.observe(
                f"{town}: the failover took {_length(first)}, over the {failover_target / 1000:g} s its "
                f"router's platform ({platform}) can reach (wan.yaml failure_detection)"
            )
        for system in inventory.subscribed_systems(inventory.town(town)):
            outages.append(
                {
                    "town": town,
                    "system": system.id,
                    "tier": system.tier,
                    "probe": scenario.probe,
                    "outage_ms": round(first.ms, 1) if first is not None and first.ms is not None else None,
                    "rto_ms": round(rto, 1) if rto is not None else None,
                    "recovered": recovered,
                    "outage_start": first.start if first else None,
                    "outage_end": first.end if first else None,
                    "failover_target_ms": failover_target,
                    "probes": len(after),
                    "failures": sum(1 for s in after if not s.ok),
                }
            )
            target = targets[system.tier]["rto_seconds"] * 1000
            if rto is not None and rto > target:
                drill.observe(
                    f"{town} / {system.id}: recovery {rto:.0f} ms missed the {system.tier} RTO {target:.0f} ms"
                )

    steps = []
    for entry in [*journal.get("run", []), *journal.get("rollbacks", [])]:
        activity = entry.get("activity", {})
        meta = activity.get("municloud", {})
        start, end = _epoch(entry.get("start")), _epoch(entry.get("end"))
        ms = round((end - start) * 1000, 1) if start is not None and end is not None else None
        budget = meta.get("budget_seconds")
        if budget and ms is not None and ms > budget * 1000:
            drill.observe(f"step '{activity.get('name')}' took {ms / 1000:.1f} s, over its budget of {budget:g} s")
        steps.append(
            {
                "name": activity.get("name", "?"),
                "kind": meta.get("kind", "probe" if activity.get("type") == "probe" else "check"),
                "performed_by": drill.operator if meta.get("kind") == "manual" and drill.lab is None else "municloud",
                "start": start,
                "end": end,
                "ms": ms,
                "status": entry.get("status", "skipped")
                if not drill.dry_run or meta.get("kind") in (None, "check")
                else "skipped",
                "budget_ms": budget * 1000 if budget else None,
                "detail": _detail(entry),
            }
        )
        if entry.get("status") == "failed":
            drill.observe(f"step '{activity.get('name')}' failed: {_detail(entry)}")
    before = journal.get("steady_states", {}).get("before") or {}
    after_state = journal.get("steady_states", {}).get("after") or {}
    if before and not before.get("steady_state_met"):
        drill.observe("the steady state did not hold before the method: nothing was injected")
    if after_state and not after_state.get("steady_state_met"):
        drill.observe("the steady state did not hold after the method")

    status = journal.get("status", "failed")
    recovered_all = all(o["recovered"] for o in outages if o["town"] in drill.affected)
    rto_met = all(o["rto_ms"] is None or o["rto_ms"] <= targets[o["tier"]]["rto_seconds"] * 1000 for o in outages)
    rpo_met = drill.rpo is None or all(drill.rpo["lost_span_ms"] <= targets[t]["rpo_seconds"] * 1000 for t in targets)
    held_before = bool(before.get("steady_state_met")) if before else drill.dry_run
    if (
        status != "completed"
        or journal.get("deviated")
        or not held_before  # nothing was drilled: never a pass
        or drill.stop_condition
        or not recovered_all
        or not rto_met
        or not rpo_met
    ):
        verdict = "failed"
    elif drill.observations:
        verdict = "passed with findings"
    else:
        verdict = "passed"
    measured = [v for t, v in per_town_ms.items() if t in drill.affected and v is not None]
    return {
        "scenario": scenario.name,
        "title_ja": scenario.title.ja,
        "title_en": scenario.title.en,
        "environment": drill.binding.name,
        "operator": drill.operator,
        "dry_run": drill.dry_run,
        "started": datetime.fromtimestamp(started).astimezone().isoformat(),
        "ended": datetime.fromtimestamp(ended).astimezone().isoformat(),
        "towns": [{"id": t, "name": inventory.town(t).name} for t in drill.towns],
        "affected_towns": drill.affected,
        "targets": targets,
        "fault_at": drill.first_fault_at,
        "outages": outages,
        "outage_ms_by_town": per_town_ms,
        "further_outages_by_town": further,
        "probe_interval_ms": {
            kind: next((s.interval_ms for s in streams.values() if s.interval_ms), None)
            for kind, streams in (("service", drill.streams), ("writes", drill.writes))
            if streams
        },
        "planned_outages": planned_outages,
        "outage_ms_median": round(statistics.median(measured), 1) if measured else None,
        "outage_ms_p95": round(_p95(measured), 1) if measured else None,
        "rpo": drill.rpo,
        "steps": steps,
        "stop_condition": drill.stop_condition,
        "observations": drill.observations,
        "verdict": verdict,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def _detail(entry: dict[str, Any]) -> str:
    if entry.get("exception"):
        return " ".join(str(entry["exception"][-1]).split())[:300]
    output = entry.get("output")
    return "" if output is None else " ".join(str(output).split())[:300]
