"""A drill's journal: the Chaos Toolkit journal of `run_experiment`, plus the `municloud` record the
drill runner writes beside it (the scenario, the towns, the targets, the measured outages and
writes, the timeline of steps, the observations and the verdict).

    {"chaoslib-version": "...", "experiment": {"title": ...}, "start": ISO, "end": ISO,
     "status": "completed" | "failed" | "aborted" | "interrupted", "deviated": bool,
     "steady_states": {"before": {...}, "after": {...}, "during": [...]},
     "run": [activity run, ...], "rollbacks": [activity run, ...],
     "municloud": {...}}                     # see `DrillRecord`

Keys beyond the ones read here are allowed (a later runner may record more); a missing or mistyped
key is an error that names the place in the file. Times in the `municloud` record are epoch
seconds; durations are milliseconds. `null` means "not measured", never zero.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inventory.problems import format_field

# The journal's file name in its drill's folder: the runner writes it, the reports look for it.
JOURNAL_FILE = "journal.json"
Verdict = Literal["passed", "passed with findings", "failed"]
NonNegative = Annotated[float, Field(ge=0)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class TierTarget(_Record):
    rto_seconds: NonNegative
    rpo_seconds: NonNegative


class DrillTown(_Record):
    id: str
    name: str  # Japanese, as the inventory writes it


class Outage(_Record):
    """What the fast probes from one town saw of one system during the drill."""

    town: str
    system: str
    tier: str
    probe: str
    outage_ms: NonNegative | None  # null: the probes never failed
    rto_ms: NonNegative | None  # null: no recovery measured
    recovered: bool
    outage_start: float | None = None
    outage_end: float | None = None
    probes: Annotated[int, Field(ge=0)]
    failures: Annotated[int, Field(ge=0)]


class TownWrites(_Record):
    acked: Annotated[int, Field(ge=0)]
    lost: Annotated[int, Field(ge=0)]


class RestoreStep(_Record):
    step: str
    seconds: NonNegative


class RestoreRecord(_Record):
    """The point-in-time restore that undid a town's data destruction (the data-destruction drill)."""

    town: str
    restore_point: float  # Unix time
    repository: Annotated[int, Field(ge=1)]
    repository_site: str
    available_from: float  # the oldest moment the repository could restore to
    damaged_schema_kept_as: str | None
    seconds: NonNegative
    steps: list[RestoreStep] = []


class WritesRecord(_Record):
    """The heartbeat writes through the app during a data-center or data-destruction drill (the RPO
    actual; in the latter the lost span is the damage back to the newest write the restore kept)."""

    writes_sent: Annotated[int, Field(ge=0)]
    writes_acked: Annotated[int, Field(ge=0)]
    writes_lost: Annotated[int, Field(ge=0)]
    lost_span_ms: NonNegative | None
    writes_refused_ms: NonNegative | None
    by_town: dict[str, TownWrites] = {}
    restore: RestoreRecord | None = None


class PlannedOutageRecord(_Record):
    """A later outage that a step of the method may cause (its planned_outage_seconds) and stayed within."""

    town: str
    step: str
    start: float
    ms: NonNegative


class Step(_Record):
    name: str
    kind: Literal["fault", "wait", "probe", "playbook", "manual", "restore", "check"]
    performed_by: str  # "municloud", or the operator's name for a manual step
    start: float | None
    end: float | None
    ms: NonNegative | None
    status: Literal["succeeded", "failed", "skipped"]
    budget_ms: NonNegative | None = None
    detail: str = ""

    @property
    def over_budget(self) -> bool:
        return self.budget_ms is not None and self.ms is not None and self.ms > self.budget_ms


class StopCondition(_Record):
    name: str
    detail: str
    at: float | None = None


class DrillRecord(_Record):
    """The `municloud` key of a drill's journal."""

    scenario: str
    title_ja: str
    title_en: str
    environment: str
    operator: str
    dry_run: bool
    started: datetime
    ended: datetime | None
    towns: list[DrillTown]
    affected_towns: list[str]
    targets: dict[str, TierTarget]
    fault_at: float | None
    outages: list[Outage]
    rpo: WritesRecord | None
    steps: list[Step]
    stop_condition: StopCondition | None
    observations: list[str]
    verdict: Verdict
    planned_outages: list[PlannedOutageRecord] = []  # journals before the field have none
    # how often each town's streams probed ("service", "writes"): the outages' resolution
    probe_interval_ms: dict[str, Annotated[int, Field(gt=0)]] = {}

    @model_validator(mode="after")
    def _consistent(self) -> DrillRecord:
        known = {town.id for town in self.towns}
        problems = [
            f"affected_towns: {t!r} is not one of the drill's towns" for t in self.affected_towns if t not in known
        ]
        for i, outage in enumerate(self.outages):
            if outage.town not in known:
                problems.append(f"outages.{i}.town: {outage.town!r} is not one of the drill's towns")
            if outage.tier not in self.targets:
                problems.append(f"outages.{i}.tier: no target for tier {outage.tier!r} in targets")
        if self.rpo is not None:
            problems += [
                f"rpo.by_town: {t!r} is not one of the drill's towns" for t in self.rpo.by_town if t not in known
            ]
        if self.ended is not None and self.ended < self.started:
            problems.append("ended: before started")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def town_name(self, town_id: str) -> str:
        return next((town.name for town in self.towns if town.id == town_id), town_id)


class ActivityRun(_Record):
    """One entry of the Chaos Toolkit journal's `run` or `rollbacks`."""

    activity: dict[str, Any]
    status: str
    start: datetime | None = None
    end: datetime | None = None
    duration: float | None = None

    @property
    def name(self) -> str:
        return str(self.activity.get("name", "(unnamed)"))

    @property
    def type(self) -> str:
        return str(self.activity.get("type", "?"))


class SteadyState(_Record):
    steady_state_met: bool | None = None


class SteadyStates(_Record):
    before: SteadyState | None = None
    after: SteadyState | None = None


class Journal(_Record):
    chaoslib_version: str = Field(alias="chaoslib-version")
    experiment: dict[str, Any]
    start: datetime
    end: datetime | None = None
    duration: float | None = None
    status: Literal["completed", "failed", "aborted", "interrupted"]
    deviated: bool = False
    steady_states: SteadyStates | None = None
    run: list[ActivityRun] = []
    rollbacks: list[ActivityRun] = []
    municloud: DrillRecord


class JournalError(Exception):
    """A file is not a usable drill journal; `problems` each name the file, the place and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def validate_journal(data: Any, source: str = "journal") -> Journal:
    """The journal model of `data` (a parsed journal), or JournalError naming every problem."""
    if not isinstance(data, dict):
        raise JournalError([f"{source}: not a drill journal: expected a JSON object, got {type(data).__name__}"])
    if "municloud" not in data:
        raise JournalError(
            [f"{source}: not a municloud drill journal: no 'municloud' key (a plain Chaos Toolkit journal?)"]
        )
    try:
        return Journal.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            where = format_field(e["loc"]) or "(top)"
            message = e["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {where}: {message}")
        raise JournalError(problems) from None


def read_journal(path: Path) -> tuple[dict[str, Any], Journal]:
    """The journal at `path`, as read (for the JSON copy) and as validated."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise JournalError([f"{path}: cannot read the journal: {err}"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise JournalError([f"{path}: not JSON: {err}"]) from None
    return data, validate_journal(data, str(path))
