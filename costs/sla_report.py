"""The SLA report's JSON, as `cost invoice --sla-report` reads it (the SLA report writes it).

    {"period": {"start": "<ISO 8601>", "end": "<ISO 8601>", "month": "YYYY-MM" | null},
     "towns": [{"town": "<town id>",
                "systems": [{"system": "<system id>", "tier": "<tier id>",
                             "availability_percent": <number | null>,   # null: no data
                             "credit_percent": <number>}]}]}           # of the month's fee, 0 to 100

`month` is null when the report covers a period that is not one calendar month; an invoice needs
the report of its own month. Keys beyond these are ignored, so the report may carry more (outage
minutes, say) without breaking the invoice; a missing or mistyped key is an error.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inventory.loader import Inventory
from inventory.problems import format_field, unknown_name

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class ReportPeriod(_Report):
    start: datetime
    end: datetime
    month: Month | None

    @model_validator(mode="after")
    def _ordered(self) -> ReportPeriod:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        return self


class SystemCredit(_Report):
    system: str
    tier: str
    availability_percent: Annotated[float, Field(ge=0, le=100)] | None
    credit_percent: Annotated[float, Field(ge=0, le=100)]


class TownCredits(_Report):
    town: str
    systems: list[SystemCredit]


class SlaReport(_Report):
    period: ReportPeriod
    towns: list[TownCredits]


class SlaReportError(Exception):
    """The report cannot be used; `problems` each name the place in the file and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def read_sla_report(path: Path) -> SlaReport:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SlaReportError([f"{path}: cannot read the SLA report: {err}"]) from None
    try:
        if json.loads(text).get("contractual") is False:  # `sla report --every-minute`: no credit computed
            raise SlaReportError(
                [
                    f"{path}: contractual: false: a measurement view (sla report --every-minute) has no credits; "
                    "give the report of the contract's calendar"
                ]
            )
    except (json.JSONDecodeError, AttributeError):
        pass  # not JSON or not an object: the model's validation below names the problem
    try:
        return SlaReport.model_validate_json(text)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            where = format_field(e["loc"]) or "(top)"
            problems.append(f"{path}: {where}: {e['msg']}")
        raise SlaReportError(problems) from None


def check_report(report: SlaReport, path: Path, month: str, inventory: Inventory) -> None:
    """The report must be the month's, and name the inventory's towns, their systems and tiers."""
    problems: list[str] = []
    if report.period.month != month:
        covers = report.period.month or f"{report.period.start.isoformat()} to {report.period.end.isoformat()}"
        problems.append(f"{path}: period.month: the report is for {covers}, not {month}")
    towns = inventory.town_by_id
    seen_towns: set[str] = set()
    for i, entry in enumerate(report.towns):
        where = f"{path}: towns[{i}] (town '{entry.town}')"
        town = towns.get(entry.town)
        if town is None:
            problems.append(f"{where}: {unknown_name('town', entry.town, list(towns))}")
            continue
        if entry.town in seen_towns:
            problems.append(f"{where}: the town is listed twice")
        seen_towns.add(entry.town)
        seen_systems: set[str] = set()
        for j, line in enumerate(entry.systems):
            at = f"{where}: systems[{j}] (system '{line.system}')"
            system = inventory.system_by_id.get(line.system)
            if system is None:
                problems.append(f"{at}: {unknown_name('system', line.system, list(inventory.system_by_id))}")
            elif line.system not in town.subscriptions:
                problems.append(f"{at}: {town.name} does not subscribe {system.name}: no fee to credit")
            elif line.tier != system.tier:
                problems.append(f"{at}: tier '{line.tier}', but the inventory puts {system.name} in '{system.tier}'")
            if line.system in seen_systems:
                problems.append(f"{at}: the system is listed twice for the town")
            seen_systems.add(line.system)
    if problems:
        raise SlaReportError(problems)
