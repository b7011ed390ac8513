"""The SLA contract and the drill targets (sla.yaml).

The seed says the SLA is a guarantee type with penalty clauses but gives no figures: the shipped
sla.yaml carries defaults, each marked in a comment as a default to be replaced by the contract's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from .base import InventoryModel, NonEmptyText, Slug, TimeOfDay

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Every time of day in the contract is Japan time.
CONTRACT_TZ = ZoneInfo("Asia/Tokyo")


def to_contract_time(moment: datetime) -> datetime:
    return moment.astimezone(CONTRACT_TZ).replace(tzinfo=None) if moment.tzinfo else moment


def contract_time_text(moment: datetime, seconds: bool = False) -> str:
    """`moment` as people read it in the contract's time: 2026-12-07 10:02 (with seconds: 10:02:03)."""
    return f"{to_contract_time(moment):%Y-%m-%d %H:%M:%S}" if seconds else f"{to_contract_time(moment):%Y-%m-%d %H:%M}"


def local_moment(day: date, time_of_day: time) -> datetime:
    """`time_of_day` on `day` as a naive Japan time; 24:00 (time.max) is the next day's 00:00, so
    that a span ending at 24:00 ends exactly where the next day starts."""
    if time_of_day == time.max:
        return datetime.combine(day + timedelta(days=1), time(0))
    return datetime.combine(day, time_of_day)


MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


class ServiceCalendar(InventoryModel):
    """When a system is contractually in service (the SLA counts only these minutes)."""

    id: Slug
    name: NonEmptyText
    days: Annotated[list[Weekday], Field(min_length=1)]
    start: TimeOfDay
    end: TimeOfDay
    exclude_national_holidays: bool
    exclude_dates: list[MonthDay] = []  # every year, e.g. the year-end closure 12-29 .. 01-03

    @model_validator(mode="after")
    def _start_before_end(self) -> ServiceCalendar:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start:%H:%M}) must be before end ({_hhmm(self.end)})")
        return self


class PenaltyBand(InventoryModel):
    """Availability in [min_percent, max_percent) earns credit_percent of the month's fee."""

    min_percent: Annotated[float, Field(ge=0, le=100)]
    max_percent: Annotated[float, Field(ge=0, le=100)]
    credit_percent: Annotated[float, Field(ge=0, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> PenaltyBand:
        if self.min_percent >= self.max_percent:
            raise ValueError(f"min_percent ({self.min_percent}) must be below max_percent ({self.max_percent})")
        return self


class DrillTarget(InventoryModel):
    rto_seconds: Annotated[int, Field(gt=0)]
    rpo_seconds: Annotated[int, Field(ge=0)]


class ServiceTier(InventoryModel):
    id: Slug
    name: NonEmptyText
    availability_target_percent: Annotated[float, Field(gt=0, lt=100)]
    service_hours: Slug
    penalty_bands: Annotated[list[PenaltyBand], Field(min_length=1)]
    drill: DrillTarget


class MaintenanceWindow(InventoryModel):
    """Planned maintenance, excluded from the SLA. Recurring (weekly or the n-th weekday of every
    month) or once (an absolute period)."""

    id: Slug
    name: NonEmptyText
    recurrence: Literal["weekly", "monthly", "once"]
    weekday: Weekday | None = None
    nth: Annotated[int, Field(ge=1, le=5)] | None = None  # monthly: the n-th <weekday>
    start: TimeOfDay | None = None
    end: TimeOfDay | None = None
    starts_at: datetime | None = Field(default=None, strict=False)  # once; ISO 8601, with its offset
    ends_at: datetime | None = Field(default=None, strict=False)

    def local_period(self) -> tuple[datetime, datetime]:
        """A 'once' window as naive Japan times, comparable with the recurring windows' times."""
        assert self.starts_at is not None and self.ends_at is not None
        return to_contract_time(self.starts_at), to_contract_time(self.ends_at)

    def occurs_on(self, day: date) -> bool:
        """Whether a recurring window recurs on `day`: on its weekday, and for a monthly window only on
        the n-th of them in the month (days 1-7 hold the 1st, 8-14 the 2nd, ...). Never a 'once' window."""
        if self.recurrence == "once" or WEEKDAYS[day.weekday()] != self.weekday:
            return False
        return self.recurrence == "weekly" or (day.day - 1) // 7 + 1 == self.nth

    def occurrences(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Every occurrence [from, to) that overlaps [start, end), in time order, all naive Japan times
        (to_contract_time). A recurring window occurs once on each day it recurs on (ending at the
        next day's 00:00 at the latest); a 'once' window has one occurrence, its period."""
        if self.recurrence == "once":
            spans = [self.local_period()]
        else:
            first = start.date()
            days = (first + timedelta(days=n) for n in range((end.date() - first).days + 1))
            spans = [self._on(day) for day in days if self.occurs_on(day)]
        return [(s, e) for s, e in spans if s < end and e > start]

    def contains(self, moment: datetime) -> bool:
        """Whether the naive Japan time `moment` is inside an occurrence (its start in, its end out)."""
        if self.recurrence == "once":
            start, end = self.local_period()
        elif self.occurs_on(moment.date()):
            start, end = self._on(moment.date())
        else:
            return False
        return start <= moment < end

    def _on(self, day: date) -> tuple[datetime, datetime]:
        assert self.start is not None and self.end is not None
        return local_moment(day, self.start), local_moment(day, self.end)

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if self.recurrence == "once":
            if self.starts_at is None or self.ends_at is None:
                raise ValueError("a 'once' window needs starts_at and ends_at")
            if self.starts_at >= self.ends_at:
                raise ValueError("starts_at must be before ends_at")
            if any(v is not None for v in (self.weekday, self.nth, self.start, self.end)):
                raise ValueError("a 'once' window takes only starts_at and ends_at")
            return self
        if self.weekday is None or self.start is None or self.end is None:
            raise ValueError(f"a '{self.recurrence}' window needs weekday, start and end")
        if self.start >= self.end:
            raise ValueError(f"start ({self.start:%H:%M}) must be before end ({_hhmm(self.end)})")
        if self.recurrence == "monthly" and self.nth is None:
            raise ValueError("a 'monthly' window needs nth (1 to 5: the n-th weekday of the month)")
        if self.recurrence == "weekly" and self.nth is not None:
            raise ValueError("'nth' is only allowed on a 'monthly' window")
        if self.starts_at is not None or self.ends_at is not None:
            raise ValueError("starts_at and ends_at are only allowed on a 'once' window")
        return self


class SlaMeasurement(InventoryModel):
    """How probe results become the SLA's minutes (every value a DEFAULT until the contract says)."""

    # A minute is down when at least this share of the probes made in it failed.
    down_minute_failed_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    # A scheduled minute without probe data: counted as down ("against_provider"), or taken out of
    # the scheduled minutes ("excluded"). Either way the report shows and flags it.
    no_data: Literal["against_provider", "excluded"] = "against_provider"


class SlaFile(InventoryModel):
    min_outage_seconds: Annotated[int, Field(ge=0)]
    measurement: SlaMeasurement = SlaMeasurement()
    calendars: Annotated[list[ServiceCalendar], Field(min_length=1)]
    tiers: Annotated[list[ServiceTier], Field(min_length=1)]
    maintenance_windows: list[MaintenanceWindow] = []


def _hhmm(value: time) -> str:
    return "24:00" if value == time.max else value.strftime("%H:%M")
