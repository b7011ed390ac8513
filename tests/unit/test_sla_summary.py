"""The summary across many towns shows the worst rows, in the report's order, and counts the rest."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from monitoring.sla.engine import SystemResult
from monitoring.sla.report import TownReport
from monitoring.sla.summary import exception_rows, heat_map_towns, timeline_rows


def _result(town: str, availability: int, credit: float, downtime: int = 0) -> SystemResult:
    return SystemResult(
        town=town,
        system="s",
        tier="t",
        calendar="c",
        service_minutes=100,
        maintenance_minutes=0,
        scheduled_minutes=100,
        downtime_minutes=downtime,
        no_data_minutes=0,
        no_data_policy="against_provider",
        availability=Fraction(availability),
        target_percent=99.0,
        met=availability >= 99,
        credit_percent=credit,
        outages=("o",) * (downtime > 0),  # type: ignore[arg-type]
    )


def _towns() -> list[TownReport]:
    rows = [(100, 0.0, 0), (90, 10.0, 10), (99, 0.0, 1), (95, 5.0, 5), (80, 10.0, 20)]
    return [TownReport(f"t{i}", f"町{i}", f"T{i}", [_result(f"t{i}", *row)]) for i, row in enumerate(rows)]


def test_all_rows_when_they_fit() -> None:
    towns, report = _towns(), SimpleNamespace(contractual=True)
    assert heat_map_towns(report, towns, limit=5).rows == towns  # type: ignore[arg-type]
    shown = exception_rows(report, towns, limit=5)  # type: ignore[arg-type]
    assert [t.town for t, _ in shown.rows] == ["t1", "t3", "t4"] and shown.omitted == 0


def test_the_worst_rows_in_the_reports_order() -> None:
    towns, report = _towns(), SimpleNamespace(contractual=True)
    misses = exception_rows(report, towns, limit=2)  # type: ignore[arg-type]
    assert [t.town for t, _ in misses.rows] == ["t1", "t4"] and (misses.total, misses.omitted) == (3, 1)
    mapped = heat_map_towns(report, towns, limit=2)  # type: ignore[arg-type]
    assert [t.town for t in mapped.rows] == ["t1", "t4"] and mapped.total == 5
    drawn = timeline_rows(towns, limit=2)
    assert [t.town for t, _ in drawn.rows] == ["t1", "t4"] and (drawn.total, drawn.omitted) == (4, 2)
