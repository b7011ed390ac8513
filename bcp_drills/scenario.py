"""Drill scenarios (bcp_drills/scenarios/*.yaml), validated like the inventory: a wrong file names
the file, the line, the entry and the rule, and nothing runs.

A scenario follows Chaos Toolkit's experiment model: a steady-state hypothesis (checks that must
hold before and after), a method (ordered steps: faults, waits, recoveries, playbooks, manual steps
for production), rollbacks that restore the steady state (always run: after a failed step, a tripped
stop condition, Ctrl-C or SIGTERM), and stop conditions (guardrails watched while the method runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from inventory.model.base import InventoryModel, NonEmptyText, Slug
from inventory.problems import InventoryError, Problem
from inventory.schema_errors import schema_problems
from inventory.source import SourceFile

SCENARIOS_DIR = Path(__file__).parent / "scenarios"

# What a step may do: the activities of bcp_drills.activities, by name, and their kind (the report's
# timeline shows it).
ACTIVITY_KINDS: dict[str, str] = {
    "cut_circuits": "fault",
    "restore_circuits": "restore",
    "stop_carrier_edge": "fault",
    "start_carrier_edge": "restore",
    "isolate_site": "fault",
    "restore_site": "restore",
    "stop_town_servers": "fault",
    "start_town_servers": "restore",
    "db_failover": "playbook",
    "db_failback": "playbook",
    "await_recovery": "check",
    "await_probe_gap": "check",
    "measure_rpo": "check",
    "destroy_town_data": "fault",
    "await_damage_on_standby": "check",
    "restore_town_before_incident": "restore",
    "measure_restore_rpo": "check",
    "wait": "wait",
    "heal": "restore",
    "manual": "manual",
}
STEADY_STATE_PROBES = ("every_town_reaches_every_system", "replication_streaming", "no_fault_in_force")


class Title(InventoryModel):
    ja: NonEmptyText
    en: NonEmptyText


class Step(InventoryModel):
    name: NonEmptyText
    do: str
    with_: Annotated[dict[str, Any], Field(alias="with")] = {}
    budget_seconds: Annotated[float, Field(gt=0)] | None = None  # slower is an observation
    # The service may stop for up to this long while the step runs (a planned switch-over, such as the
    # fail-back's): such an outage is recorded as planned, not as a finding; a longer one is a finding.
    planned_outage_seconds: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _known_activity(self) -> Step:
        if self.do not in ACTIVITY_KINDS:
            raise ValueError(f"unknown activity '{self.do}' (known: {', '.join(sorted(ACTIVITY_KINDS))})")
        return self

    @property
    def kind(self) -> str:
        return ACTIVITY_KINDS[self.do]


class StopConditions(InventoryModel):
    max_outage_seconds: Annotated[float, Field(gt=0)] | None = None  # an affected town out longer: abort
    unaffected_towns_keep_service: bool = True  # a town the fault should not touch loses service: abort
    unaffected_grace_seconds: Annotated[float, Field(gt=0)] = 1.0


class Scenario(InventoryModel):
    name: Slug
    title: Title
    description: NonEmptyText
    # Which towns the fault is expected to take out: the towns chosen with --town (all by default),
    # every town, or none (a server loss: only the probe data stops, the business systems stay up).
    affects: Literal["selected-towns", "all-towns", "none"]
    # The most towns the fault may be aimed at (one town's data destroyed, not every town's): without
    # --town, the first of the environment's towns; more with --town is refused.
    towns_at_most: Annotated[int, Field(ge=1)] | None = None
    probe: Literal["tcp", "http"] = "tcp"
    # up to 100 ms: the DC drill's HTTPS requests of 18 towns every 50 ms saturated the lab's stand-in
    probe_interval_ms: Annotated[int, Field(ge=10, le=100)] = 20
    heartbeat_writes: bool = False  # writes through the app from every town (RPO)
    # Each affected town's first outage is held to the circuit-failover target its router's platform
    # can reach (wan.yaml failure_detection: BFD, or short BGP timers where BGP has no BFD).
    circuit_failover_target: bool = False
    max_duration_seconds: Annotated[float, Field(gt=0, le=3600)] = 600
    steady_state: list[Literal[STEADY_STATE_PROBES]]  # type: ignore[valid-type]
    method: Annotated[list[Step], Field(min_length=1)]
    rollbacks: list[Step] = []
    stop_conditions: StopConditions = StopConditions()

    @property
    def destructive(self) -> bool:
        return any(step.kind in ("fault", "playbook") for step in self.method)


def load_scenario(path: Path) -> Scenario:
    source, problem = SourceFile.read(path, str(path))
    if problem:
        raise InventoryError([problem])
    try:
        scenario = Scenario.model_validate(source.data or {})
    except ValidationError as err:
        raise InventoryError(schema_problems(source, Scenario, err)) from None
    if scenario.name != path.stem:
        raise InventoryError([source.problem(("name",), f"the name must be the file's name '{path.stem}'")])
    return scenario


def scenarios(directory: Path = SCENARIOS_DIR) -> dict[str, Scenario]:
    """Every scenario; InventoryError listing the problems of every broken file."""
    found: dict[str, Scenario] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            scenario = load_scenario(path)
            found[scenario.name] = scenario
        except InventoryError as error:
            problems += error.problems
    if problems:
        raise InventoryError(problems)
    return found
