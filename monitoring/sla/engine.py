"""The SLA formula, on per-minute data: one place, so a person can follow every number.

For one (town, system) over the period:

  scheduled minutes  = minutes in the calendar's service hours, minus declared maintenance
  outage             = a run of consecutive *down* minutes (a minute is down when at least the
                       contract's share of its probes failed); its length is the run's minutes x 60 s,
                       measured whole even across the period's edges or outside service hours (the
                       engine reads a margin each side; a run still down at the margin's edge is
                       flagged as beginning before / continuing past it, its length a lower bound)
  downtime minutes   = the scheduled minutes of every outage at least `min_outage_seconds` long
  no-data minutes    = scheduled minutes for which Prometheus holds no probe data
  availability       = against_provider (default): (scheduled - downtime - no-data) / scheduled
                       excluded:                    (scheduled - no-data - downtime) / (scheduled - no-data)
                       null when the denominator is 0 (nothing was scheduled, or nothing measured)
  target met         = availability >= the tier's target
  credit             = the penalty band with min <= availability < max (the top band includes 100)

Comparisons with targets and bands use exact fractions, never rounded floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Literal

import numpy as np

from inventory.model.sla import PenaltyBand, ServiceTier, SlaFile

from .calendar import Window

MinuteState = Literal["down", "no-data"]


@dataclass(frozen=True)
class SeriesMinutes:
    """What Prometheus says about one (town, system) over a window: indices of the down minutes and
    of the minutes without data (every other minute was measured up)."""

    down: np.ndarray
    missing: np.ndarray

    @classmethod
    def all_missing(cls, window: Window) -> SeriesMinutes:
        return cls(np.zeros(0, dtype=np.int64), np.arange(window.minutes, dtype=np.int64))

    @classmethod
    def all_up(cls) -> SeriesMinutes:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty)


@dataclass(frozen=True)
class Outage:
    """A run of down minutes as the engine saw it in its window (the period and a margin each side).
    A run already down at the window's first minute began at `start` or before (`began_before`); one
    still down at its last minute goes on past `end` (`continues`): the engine read no further, so
    `start`/`end` are then the window's edges and `length_seconds` is a lower bound. Only the
    period's minutes are ever counted, so neither changes what counts."""

    start: datetime
    end: datetime
    length_seconds: int  # as seen in the window (at least this long when it began before or continues)
    scheduled_minutes: int  # of them inside the period's scheduled minutes
    counted: bool
    reason: str  # why it counts or not, in words
    began_before: bool = False  # already down at the window's first minute: began at `start` or earlier
    continues: bool = False  # still down at the window's last minute: continues past `end`

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "length_seconds": self.length_seconds,
            "scheduled_minutes": self.scheduled_minutes,
            "counted": self.counted,
            "reason": self.reason,
            "began_before": self.began_before,
            "continues": self.continues,
        }


@dataclass(frozen=True)
class DataGap:
    start: datetime
    end: datetime
    scheduled_minutes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "scheduled_minutes": self.scheduled_minutes,
        }


@dataclass(frozen=True)
class SpanMinutes:
    """One (town, system)'s minutes over a part of the period (see SystemResult.minutes_between)."""

    period_minutes: int  # of the span, inside the period
    service_minutes: int  # of those, in service hours
    scheduled_minutes: int  # of those, not in maintenance
    down_minutes: int  # measured down (in the period), counted or not
    counted_minutes: int  # downtime the contract counts
    missing_minutes: int  # without probe data (in the period, scheduled or not)
    outages: tuple[Outage, ...]  # the outages touching the span


@dataclass(frozen=True)
class SystemResult:
    town: str
    system: str
    tier: str
    calendar: str
    service_minutes: int  # in service hours, before maintenance
    maintenance_minutes: int  # of the service minutes, in declared maintenance
    scheduled_minutes: int
    downtime_minutes: int
    no_data_minutes: int
    no_data_policy: str
    availability: Fraction | None
    target_percent: float
    met: bool | None
    credit_percent: float
    outages: tuple[Outage, ...] = ()
    gaps: tuple[DataGap, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # the calendar's masks (shared by every system of the calendar), kept to count a part of the period
    masks: Masks | None = field(default=None, compare=False, repr=False)

    @property
    def availability_percent(self) -> float | None:
        return None if self.availability is None else float(self.availability)

    @property
    def counted_outages(self) -> list[Outage]:
        return [o for o in self.outages if o.counted]

    def minutes_between(self, start: datetime, end: datetime) -> SpanMinutes:
        """The same counts as the whole period's, over the period's minutes that overlap [start, end)
        (a minute partly inside counts whole): for a part of the period such as a drill's run."""
        if self.masks is None:
            raise ValueError("this result was built without its masks")
        window = self.masks.window
        lo = max(0, window.index(start))
        hi = min(window.minutes, math.ceil((end - window.start).total_seconds() / 60))
        if lo >= hi:
            return SpanMinutes(0, 0, 0, 0, 0, 0, ())
        period = self.masks.period[lo:hi]
        down = counted = missing = 0
        touching: list[Outage] = []
        for o in self.outages:
            a, b = max(lo, window.index(o.start)), min(hi, window.index(o.end))
            if a < b:
                down += int(self.masks.period[a:b].sum())
                touching.append(o)
                if o.counted:
                    counted += int(self.masks.scheduled[a:b].sum())
        for g in self.gaps:
            a, b = max(lo, window.index(g.start)), min(hi, window.index(g.end))
            if a < b:
                missing += b - a  # gaps lie inside the period
        return SpanMinutes(
            period_minutes=int(period.sum()),
            service_minutes=int(self.masks.service[lo:hi].sum()),
            scheduled_minutes=int(self.masks.scheduled[lo:hi].sum()),
            down_minutes=down,
            counted_minutes=counted,
            missing_minutes=missing,
            outages=tuple(touching),
        )

    def formula(self) -> str:
        """The availability as a person recomputes it, with this system's own numbers."""
        s, d, n = self.scheduled_minutes, self.downtime_minutes, self.no_data_minutes
        if self.availability is None:
            return "no scheduled minute was measured: no availability"
        if self.no_data_policy == "excluded":
            return f"({s} - {n} - {d}) / ({s} - {n}) = {float(self.availability):.3f}%"
        return f"({s} - {d} - {n}) / {s} = {float(self.availability):.3f}%"


def runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs in sorted unique indices, as [first, last + 1)."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks] + 1, [indices[-1] + 1]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def credit_for(availability: Fraction | None, bands: list[PenaltyBand]) -> float:
    """The band holding the availability: min <= a < max, the top band (max 100) including 100."""
    if availability is None:
        return 0.0
    for band in bands:
        lo, hi = Fraction(str(band.min_percent)), Fraction(str(band.max_percent))
        if lo <= availability < hi or (hi == 100 and availability == 100):
            return band.credit_percent
    raise ValueError(f"no penalty band holds {float(availability):.4f}%")


@dataclass(frozen=True)
class Masks:
    """The shared minute masks of one calendar over a window (computed once, used by every series)."""

    window: Window
    period: np.ndarray  # in the period
    service: np.ndarray  # in the period and in service hours
    maintenance: np.ndarray  # in the period, in service hours and in maintenance
    scheduled: np.ndarray  # service minus maintenance


def masks(window: Window, service: np.ndarray, maintenance: np.ndarray) -> Masks:
    period = window.in_period()
    in_service = service & period
    in_maintenance = in_service & maintenance
    return Masks(window, period, in_service, in_maintenance, in_service & ~maintenance)


def evaluate(
    town: str,
    system: str,
    tier: ServiceTier,
    calendar: str,
    sla: SlaFile,
    m: Masks,
    data: SeriesMinutes,
    maintenance_any: np.ndarray,
) -> SystemResult:
    """The SLA of one (town, system). `maintenance_any` marks every maintenance minute of the window
    (in service hours or not), to say why an outage did not count."""
    window = m.window
    scheduled = m.scheduled
    missing = np.zeros(window.minutes, dtype=bool)
    missing[data.missing] = True
    down = np.zeros(window.minutes, dtype=bool)
    down[data.down] = True
    down &= ~missing

    outages: list[Outage] = []
    counted = np.zeros(window.minutes, dtype=bool)
    for lo, hi in runs(np.flatnonzero(down)):
        length = (hi - lo) * 60
        in_period = bool(m.period[lo:hi].any())
        if not in_period:
            continue
        sched = int(scheduled[lo:hi].sum())
        if length < sla.min_outage_seconds:
            ok, reason = False, f"shorter than the contract's minimum ({sla.min_outage_seconds} s)"
        elif sched == 0:
            ok = False
            in_service = bool(m.service[lo:hi].any()) or bool((maintenance_any[lo:hi] & m.period[lo:hi]).any())
            reason = "inside a maintenance window" if in_service else "outside service hours"
        else:
            ok, reason = True, f"{sched} scheduled minute(s) counted"
        if ok:
            counted[lo:hi] = True
        # a run at the window's edge goes on beyond what the engine read: say so, never show it ending there
        began_before, continues = lo == 0, hi == window.minutes
        outages.append(Outage(window.moment(lo), window.moment(hi), length, sched, ok, reason, began_before, continues))

    downtime = int((counted & scheduled).sum())
    no_data = int((missing & scheduled).sum())
    sched_total = int(scheduled.sum())
    gaps = [
        DataGap(window.moment(lo), window.moment(hi), int(scheduled[lo:hi].sum()))
        for lo, hi in runs(np.flatnonzero(missing & m.period))
    ]
    policy = sla.measurement.no_data
    if policy == "excluded":
        denominator = sched_total - no_data
        availability = Fraction(100 * (denominator - downtime), denominator) if denominator > 0 else None
    else:
        availability = Fraction(100 * (sched_total - downtime - no_data), sched_total) if sched_total > 0 else None
    target = Fraction(str(tier.availability_target_percent))
    notes: list[str] = []
    if no_data:
        treated = "counted as down" if policy == "against_provider" else "left out of the scheduled minutes"
        notes.append(f"{no_data} scheduled minute(s) without probe data, {treated}")
    return SystemResult(
        town=town,
        system=system,
        tier=tier.id,
        calendar=calendar,
        service_minutes=int(m.service.sum()),
        maintenance_minutes=int(m.maintenance.sum()),
        scheduled_minutes=sched_total,
        downtime_minutes=downtime,
        no_data_minutes=no_data,
        no_data_policy=policy,
        availability=availability,
        target_percent=tier.availability_target_percent,
        met=None if availability is None else availability >= target,
        credit_percent=credit_for(availability, tier.penalty_bands),
        outages=tuple(outages),
        gaps=tuple(gaps),
        notes=tuple(notes),
        masks=m,
    )
