"""Drill journals for the report tests, built in code: a passing drill, one with findings, a failed
one and a dry run. Times: the fault at 2026-11-27 09:30:00 UTC (18:30 JST)."""

from __future__ import annotations

import copy
from typing import Any

FAULT_AT = 1795771800.0  # 2026-11-27T09:30:00Z
TOWNS = [
    {"id": "ina", "name": "伊奈町"},
    {"id": "ogose", "name": "越生町"},
    {"id": "higashichichibu", "name": "東秩父村"},
]
TARGETS = {
    "critical": {"rto_seconds": 3600, "rpo_seconds": 60},
    "essential": {"rto_seconds": 14400, "rpo_seconds": 300},
    "standard": {"rto_seconds": 86400, "rpo_seconds": 3600},
}


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat()


def outage(
    town: str,
    system: str,
    ms: float | None,
    *,
    rto: float | None = None,
    recovered: bool = True,
    tier: str = "critical",
) -> dict[str, Any]:
    start = FAULT_AT + 0.05 if ms is not None else None
    return {
        "town": town,
        "system": system,
        "tier": tier,
        "probe": "tcp",
        "outage_ms": ms,
        "rto_ms": (rto if rto is not None else (ms + 30.0 if ms is not None and recovered else None)),
        "recovered": recovered,
        "outage_start": start,
        "outage_end": start + ms / 1000 if start is not None and ms is not None and recovered else None,
        "probes": 1200,
        "failures": int(ms / 20) if ms is not None else 0,
    }


def step(
    name: str,
    kind: str,
    offset_s: float,
    ms: float,
    *,
    by: str = "municloud",
    status: str = "succeeded",
    budget_ms: float | None = None,
    detail: str = "",
) -> dict[str, Any]:
    start = FAULT_AT + offset_s
    return {
        "name": name,
        "kind": kind,
        "performed_by": by,
        "start": start,
        "end": start + ms / 1000,
        "ms": ms,
        "status": status,
        "budget_ms": budget_ms,
        "detail": detail,
    }


def journal(
    *,
    scenario: str = "wan-primary-circuit-loss",
    outages: list[dict[str, Any]] | None = None,
    verdict: str = "passed",
    dry_run: bool = False,
    fault_at: float | None = FAULT_AT,
    started: float = FAULT_AT - 20,
    steps: list[dict[str, Any]] | None = None,
    rpo: dict[str, Any] | None = None,
    stop_condition: dict[str, Any] | None = None,
    observations: list[str] | None = None,
    status: str = "completed",
    affected: list[str] | None = None,
    planned_outages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    titles = {
        "wan-primary-circuit-loss": ("主回線断", "Primary circuit loss"),
        "dc-site-loss": ("データセンター喪失", "Data center loss"),
    }
    title_ja, title_en = titles[scenario]
    ended = started + 60
    return {
        "chaoslib-version": "1.44.0",
        "platform": "Linux",
        "node": "ops",
        "experiment": {"title": f"{title_en} drill", "description": "test"},
        "start": _iso(started),
        "end": _iso(ended),
        "duration": 60.0,
        "status": status,
        "deviated": False,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": []},
            "after": {"steady_state_met": True, "probes": []},
            "during": [],
        },
        "run": [
            {
                "activity": {"type": "action", "name": "cut"},
                "status": "succeeded",
                "start": _iso(FAULT_AT),
                "end": _iso(FAULT_AT + 0.012),
                "duration": 0.012,
                "output": None,
            }
        ],
        "rollbacks": [
            {
                "activity": {"type": "action", "name": "heal every fault"},
                "status": "succeeded",
                "start": _iso(FAULT_AT + 30),
                "end": _iso(FAULT_AT + 30.5),
                "duration": 0.5,
                "output": None,
            }
        ],
        "municloud": {
            "scenario": scenario,
            "title_ja": title_ja,
            "title_en": title_en,
            "environment": "lab",
            "operator": "root",
            "dry_run": dry_run,
            "started": _iso(started),
            "ended": _iso(ended),
            "towns": copy.deepcopy(TOWNS),
            "affected_towns": affected if affected is not None else ["ina", "ogose"],
            "targets": copy.deepcopy(TARGETS),
            "fault_at": fault_at,
            "outages": outages if outages is not None else [],
            "rpo": rpo,
            "steps": steps
            if steps is not None
            else [
                step("cut the primary circuit of ina", "fault", 0, 12.3, budget_ms=5000),
                step("wait for BFD", "wait", 0.02, 2000),
                step("heal the circuit", "restore", 30, 480, budget_ms=5000),
            ],
            "stop_condition": stop_condition,
            "observations": observations or [],
            "verdict": verdict,
            **({"planned_outages": planned_outages} if planned_outages is not None else {}),
        },
    }


def passing() -> dict[str, Any]:
    return journal(
        outages=[
            outage("ina", "resident-registry", 452.3),
            outage("ina", "national-pension", 300.0, tier="essential"),
            outage("ogose", "resident-registry", 610.5),
            outage("higashichichibu", "resident-registry", None),
        ]
    )


def with_findings() -> dict[str, Any]:
    return journal(
        outages=[
            outage("ina", "resident-registry", 800.0),
            outage("ogose", "resident-registry", 1250.0),
            outage("higashichichibu", "resident-registry", None),
        ],
        steps=[
            step("cut the primary circuit of ina", "fault", 0, 12.3, budget_ms=5000),
            step("confirm at the town hall", "manual", 1, 95_000, by="佐藤", budget_ms=60_000, detail="phoned"),
            step("heal the circuit", "restore", 120, 480, budget_ms=5000),
        ],
        observations=["ogose took 1.25 s to fail over"],
        verdict="passed with findings",
    )


def failed() -> dict[str, Any]:
    return journal(
        scenario="dc-site-loss",
        outages=[
            outage("ina", "resident-registry", 9000.0),
            outage("ogose", "resident-registry", 30000.0, recovered=False),
        ],
        rpo={
            "writes_sent": 100,
            "writes_acked": 97,
            "writes_lost": 3,
            "lost_span_ms": 75_000.0,
            "writes_refused_ms": 8123.4,
            "by_town": {"ina": {"acked": 50, "lost": 1}, "ogose": {"acked": 47, "lost": 2}},
        },
        stop_condition={
            "name": "max-outage",
            "detail": "ogose had no service for 30.0 s (limit 20 s)",
            "at": FAULT_AT + 30,
        },
        observations=["ogose never recovered before the stop condition"],
        verdict="failed",
        status="aborted",
    )


def dry_run() -> dict[str, Any]:
    return journal(
        outages=[outage("ina", "resident-registry", None), outage("ogose", "resident-registry", None)],
        dry_run=True,
        fault_at=None,
        steps=[
            step("check every probe answers", "check", 0, 250.0),
            step("cut (skipped: dry run)", "fault", 0.3, 0.0, status="skipped"),
        ],
    )
