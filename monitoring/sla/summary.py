"""Which rows the summary across towns shows in its charts and its list of missed targets.

For the association's 18 towns every row fits, and the summary shows them all. For many towns (the
1,700-town benchmark: ~9,400 missed targets, ~53,000 (town, system) with an incident or a data gap)
one row per town in a heat map, per (town, system) in a timeline or per miss in a table is neither
readable nor renderable (a figure over matplotlib's 2^16 pixels, a PDF of hundreds of pages). The
summary then shows the worst rows, and says how many it left out and where every one of them is:
the CSV and JSON beside it, and each town's own report. No number changes, only what is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .engine import SystemResult
from .report import SlaReportData, TownReport

CHART_ROWS = 60  # towns in the heat map, (town, system) rows in the timeline
EXCEPTION_ROWS = 300  # missed targets and credits listed

T = TypeVar("T")
Row = tuple[TownReport, SystemResult]


@dataclass(frozen=True)
class Shown(Generic[T]):
    """The rows shown (in the report's order) out of `total`."""

    rows: list[T]
    total: int

    @property
    def omitted(self) -> int:
        return self.total - len(self.rows)


def _worst(rows: list[T], limit: int, badness: Callable[[T], tuple[float, ...]]) -> Shown[T]:
    """All rows when they fit, else the `limit` worst by `badness` (larger is worse), kept in their
    original order."""
    if len(rows) <= limit:
        return Shown(rows, len(rows))
    chosen = sorted(sorted(range(len(rows)), key=lambda i: badness(rows[i]), reverse=True)[:limit])
    return Shown([rows[i] for i in chosen], len(rows))


def _availability_badness(r: SystemResult) -> float:
    """Lower availability is worse; no availability at all is worst."""
    return 101.0 if r.availability is None else float(100 - r.availability)


def is_exception(report: SlaReportData, r: SystemResult) -> bool:
    return r.met is not True or (report.contractual and r.credit_percent > 0)


def heat_map_towns(report: SlaReportData, towns: list[TownReport], limit: int = CHART_ROWS) -> Shown[TownReport]:
    """The towns with the most targets missed (then credits, then no-data minutes)."""
    return _worst(
        towns,
        limit,
        lambda t: (
            sum(1 for r in t.systems if is_exception(report, r)),
            sum(r.credit_percent for r in t.systems) if report.contractual else 0.0,
            t.no_data_minutes,
        ),
    )


def timeline_rows(towns: list[TownReport], limit: int = CHART_ROWS) -> Shown[Row]:
    """The (town, system) with an outage or a data gap, the most counted and no-data minutes first."""
    rows = [(t, r) for t in towns for r in t.systems if r.outages or r.gaps]

    def badness(row: Row) -> tuple[float, ...]:
        r = row[1]
        return (r.downtime_minutes + r.no_data_minutes, len(r.outages) + len(r.gaps))

    return _worst(rows, limit, badness)


def exception_rows(report: SlaReportData, towns: list[TownReport], limit: int = EXCEPTION_ROWS) -> Shown[Row]:
    """The missed targets and credits, the largest credit and then the lowest availability first."""
    rows = [(t, r) for t in towns for r in t.systems if is_exception(report, r)]
    return _worst(
        rows, limit, lambda row: (row[1].credit_percent if report.contractual else 0.0, _availability_badness(row[1]))
    )
