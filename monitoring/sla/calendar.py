"""Which minutes the contract counts: the period (a calendar month in Japan time, or any span), the
service hours of a calendar (business days via jpholiday, the year-end closure), and the declared
maintenance windows.

Everything is kept as minute masks over a *window*: the period, widened on each side by a margin so
that an outage running across the period's start or end is seen whole (its length decides whether
it counts), while only the period's own minutes are ever counted. Japan has no daylight saving
time, so minute i of a window always starts exactly 60 * i seconds after the window's start.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jpholiday
import numpy as np

from inventory.model.sla import (
    CONTRACT_TZ,
    WEEKDAYS,
    MaintenanceWindow,
    ServiceCalendar,
    local_moment,
    to_contract_time,
)


@dataclass(frozen=True)
class Period:
    """[start, end) in Japan time; `month` is 'YYYY-MM' when the period is one calendar month."""

    start: datetime
    end: datetime
    month: str | None = None

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // 60

    def label(self) -> str:
        return self.month or f"{self.start:%Y-%m-%d %H:%M} - {self.end:%Y-%m-%d %H:%M}"


def month_period(month: str) -> Period:
    """The calendar month 'YYYY-MM' in Japan time: from the 1st 00:00 JST to the next 1st 00:00 JST."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=CONTRACT_TZ)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=CONTRACT_TZ)
    return Period(start, end, f"{year:04d}-{mon:02d}")


def span_period(start: datetime, end: datetime) -> Period:
    """Any span; naive times are Japan time; both ends are rounded to whole minutes (down)."""
    start, end = (_jst(moment).replace(second=0, microsecond=0) for moment in (start, end))
    if start >= end:
        raise ValueError(f"the period's start ({start.isoformat()}) must be before its end ({end.isoformat()})")
    is_month = start.day == 1 and start.hour == 0 and start.minute == 0 and month_period(f"{start:%Y-%m}").end == end
    return Period(start, end, f"{start:%Y-%m}" if is_month else None)


def _jst(moment: datetime) -> datetime:
    return moment.replace(tzinfo=CONTRACT_TZ) if moment.tzinfo is None else moment.astimezone(CONTRACT_TZ)


@dataclass(frozen=True)
class Window:
    """The minutes the engine looks at: the period plus `margin` on each side."""

    period: Period
    margin: timedelta

    @property
    def start(self) -> datetime:
        return self.period.start - self.margin

    @property
    def end(self) -> datetime:
        return self.period.end + self.margin

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // 60

    @property
    def hours(self) -> int:
        return -(-self.minutes // 60)

    @property
    def offset(self) -> int:
        """Index of the period's first minute in the window."""
        return int(self.margin.total_seconds()) // 60

    def index(self, moment: datetime) -> int:
        return int((moment - self.start).total_seconds()) // 60

    def moment(self, index: int) -> datetime:
        return self.start + timedelta(minutes=int(index))

    def in_period(self) -> np.ndarray:
        mask = np.zeros(self.minutes, dtype=bool)
        mask[self.offset : self.offset + self.period.minutes] = True
        return mask

    def set_span(self, mask: np.ndarray, start: datetime, end: datetime) -> None:
        lo, hi = max(0, self.index(start)), min(self.minutes, self.index(end))
        if lo < hi:
            mask[lo:hi] = True


def window_for(period: Period, min_outage_seconds: int) -> Window:
    """A margin of whole hours, at least one, and at least the contract's minimum outage."""
    hours = max(1, -(-min_outage_seconds // 3600))
    return Window(period, timedelta(hours=hours))


def is_service_day(day: date, cal: ServiceCalendar) -> bool:
    """A day the calendar serves: its weekday is listed, it is not a national holiday (when the
    calendar excludes them, by jpholiday) and not one of its excluded dates (the year-end closure)."""
    if WEEKDAYS[day.weekday()] not in cal.days:
        return False
    if cal.exclude_national_holidays and jpholiday.is_holiday(day):
        return False
    return f"{day:%m-%d}" not in cal.exclude_dates


def _days(window: Window) -> list[date]:
    first, last = window.start.date() - timedelta(days=1), window.end.date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _at(day: date, moment: time) -> datetime:
    return local_moment(day, moment).replace(tzinfo=CONTRACT_TZ)


def service_mask(window: Window, cal: ServiceCalendar) -> np.ndarray:
    """True for every minute of the window inside the calendar's service hours."""
    mask = np.zeros(window.minutes, dtype=bool)
    for day in _days(window):
        if is_service_day(day, cal):
            window.set_span(mask, _at(day, cal.start), _at(day, cal.end))
    return mask


def maintenance_spans(
    window: Window, windows: list[MaintenanceWindow]
) -> list[tuple[MaintenanceWindow, datetime, datetime]]:
    """Every occurrence of the declared maintenance windows that touches the window."""
    # The windows' occurrences are naive Japan times; the engine's window is aware, in Japan time.
    start, end = to_contract_time(window.start), to_contract_time(window.end)
    return [
        (mw, s.replace(tzinfo=CONTRACT_TZ), e.replace(tzinfo=CONTRACT_TZ))
        for mw in windows
        for s, e in mw.occurrences(start, end)
    ]


def maintenance_mask(window: Window, windows: list[MaintenanceWindow]) -> np.ndarray:
    mask = np.zeros(window.minutes, dtype=bool)
    for _, start, end in maintenance_spans(window, windows):
        window.set_span(mask, start, end)
    return mask


def days_in_month(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]


def around_the_clock(calendar_id: str = "around-the-clock") -> ServiceCalendar:
    """A 24/7 calendar (every day 00:00-24:00, holidays included): for a tier whose systems serve
    around the clock, or to count every minute."""
    return ServiceCalendar(
        id=calendar_id,
        name="24時間 (around the clock)",
        days=list(WEEKDAYS),
        start="00:00",
        end="24:00",
        exclude_national_holidays=False,
    )
