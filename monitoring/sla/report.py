"""The SLA report: every (town, system) of a period evaluated from Prometheus, and its JSON and CSV.

The JSON is what `municloud cost invoice --sla-report` reads (costs/sla_report.py): the period and,
per town and system, `availability_percent` (null when nothing was measured) and `credit_percent`;
every other key is detail for people and other tools: the minutes behind each number, the formula
with the system's own numbers, incidents and data gaps.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ

from ..promapi import PrometheusAPI
from .calendar import Period, Window, maintenance_mask, service_mask, window_for
from .engine import Masks, SeriesMinutes, SystemResult, evaluate, masks
from .fetch import BAD_SERIES, Key, fetch_minutes

METHOD = [
    "Period: calendar months in Japan time (JST), from the 1st 00:00 to the next 1st 00:00. / 期間: 日本時間の暦月",
    "Scheduled minutes: the minutes inside the system's service hours (the calendar of its tier, or its own), on "
    "service days (national holidays by jpholiday and the year-end closure 12/29-1/3 excluded when the calendar "
    "says so), minus declared maintenance windows. / 計画稼働時間: サービス時間内の分から計画保守を除いたもの",
    "A minute is down when at least {share:.0%} of the probe results Prometheus scraped in it failed "
    "(recording rule municloud:sla_minute:bad). / 停止分: その分のプローブ結果の{share:.0%}以上が失敗",
    "An outage is a run of consecutive down minutes; it counts only when it lasts at least {min_outage} s "
    "(its whole length, also outside service hours). Downtime is the scheduled minutes of the outages "
    "that count. / 障害: 連続する停止分。{min_outage}秒以上のものだけを数える",
    "Minutes without probe data are shown as no-data, never as up: {no_data_text}. / データ欠測: {no_data_ja}",
    "Availability = (scheduled - downtime - no-data) / scheduled (policy against_provider), or "
    "(scheduled - no-data - downtime) / (scheduled - no-data) (policy excluded); null when nothing is "
    "scheduled or measured. Shown to 3 decimals; targets and penalty bands are compared exactly. / 稼働率",
    "Credit: the penalty band with min <= availability < max (the top band includes 100%), as a share of "
    "the system's monthly fee. / 減額: 稼働率が該当する罰則区分の率 (当該システムの月額利用料に対する割合)",
]
NO_DATA_TEXT = {
    "against_provider": ("they count as down (against the provider) and are flagged", "停止として扱う(事業者負担)"),
    "excluded": ("they are left out of the scheduled minutes and flagged", "計画稼働時間から除外する"),
}


@dataclass
class TownReport:
    town: str
    name: str
    romaji: str
    systems: list[SystemResult]

    @property
    def credit_lines(self) -> int:
        return sum(1 for s in self.systems if s.credit_percent > 0)

    @property
    def no_data_minutes(self) -> int:
        return sum(s.no_data_minutes for s in self.systems)


@dataclass
class SlaReportData:
    period: Period
    generated_at: datetime
    source: str
    inventory: Inventory
    towns: list[TownReport]
    min_outage_seconds: int
    down_share: float
    no_data_policy: str
    notes: list[str] = field(default_factory=list)

    @property
    def data_gaps(self) -> int:
        """Scheduled minutes without probe data, over every town and system."""
        return sum(t.no_data_minutes for t in self.towns)

    @property
    def complete(self) -> bool:
        return self.data_gaps == 0

    def method(self) -> list[str]:
        text, ja = NO_DATA_TEXT[self.no_data_policy]
        return [
            line.format(share=self.down_share, min_outage=self.min_outage_seconds, no_data_text=text, no_data_ja=ja)
            for line in METHOD
        ]

    def town(self, town: str) -> TownReport:
        return next(t for t in self.towns if t.town == town)


def expected_series(inventory: Inventory, towns: list[str]) -> list[tuple[str, str, str, str]]:
    """(town, system, tier, calendar) for every system each town subscribes."""
    out = []
    for town_id in towns:
        town = inventory.town(town_id)
        for system in inventory.subscribed_systems(town):
            tier = inventory.tier_by_id[system.tier]
            out.append((town_id, system.id, system.tier, system.service_hours or tier.service_hours))
    return out


def evaluate_all(
    inventory: Inventory,
    period: Period,
    towns: list[str],
    minutes: Callable[[Window, list[Key]], dict[Key, SeriesMinutes]],
) -> list[TownReport]:
    sla = inventory.sla
    window = window_for(period, sla.min_outage_seconds)
    expected = expected_series(inventory, towns)
    data = minutes(window, [(t, s) for t, s, _, _ in expected])
    maintenance = maintenance_mask(window, sla.maintenance_windows)
    by_calendar: dict[str, Masks] = {}
    reports: dict[str, TownReport] = {}
    for town_id, system_id, tier_id, cal_id in expected:
        if cal_id not in by_calendar:
            by_calendar[cal_id] = masks(window, service_mask(window, inventory.calendar_by_id[cal_id]), maintenance)
        town = inventory.town(town_id)
        report = reports.setdefault(town_id, TownReport(town_id, town.name, town.romaji, []))
        series = data.get((town_id, system_id)) or SeriesMinutes.all_missing(window)
        report.systems.append(
            evaluate(
                town_id, system_id, inventory.tier_by_id[tier_id], cal_id, sla, by_calendar[cal_id], series, maintenance
            )
        )
    return [reports[t] for t in towns if t in reports]


def build_report(
    inventory: Inventory,
    period: Period,
    api: PrometheusAPI,
    towns: list[str],
    progress: Callable[[int, int], None] | None = None,
) -> SlaReportData:
    """Read the period's minutes from Prometheus and evaluate every (town, system)."""
    reports = evaluate_all(inventory, period, towns, lambda w, keys: fetch_minutes(api, w, keys, progress))
    return SlaReportData(
        period,
        datetime.now(CONTRACT_TZ).replace(microsecond=0),
        f"{api.url} ({BAD_SERIES})",
        inventory,
        reports,
        inventory.sla.min_outage_seconds,
        inventory.sla.measurement.down_minute_failed_share,
        inventory.sla.measurement.no_data,
    )


# ---- JSON ----------------------------------------------------------------------------------------
def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def system_json(inventory: Inventory, r: SystemResult) -> dict[str, Any]:
    system = inventory.system_by_id[r.system]
    return {
        "system": r.system,
        "tier": r.tier,
        "availability_percent": _pct(r.availability_percent),
        "credit_percent": r.credit_percent,
        "name": system.name,
        "name_en": system.name_en,
        "calendar": r.calendar,
        "target_percent": r.target_percent,
        "met": r.met,
        "availability_exact": None
        if r.availability is None
        else f"{r.availability.numerator}/{r.availability.denominator}",
        "service_minutes": r.service_minutes,
        "maintenance_minutes": r.maintenance_minutes,
        "scheduled_minutes": r.scheduled_minutes,
        "downtime_minutes": r.downtime_minutes,
        "no_data_minutes": r.no_data_minutes,
        "no_data_policy": r.no_data_policy,
        "formula": r.formula(),
        "incidents": [o.as_dict() for o in r.outages],
        "data_gaps": [g.as_dict() for g in r.gaps],
        "notes": list(r.notes),
    }


def report_json(report: SlaReportData, towns: list[str] | None = None) -> dict[str, Any]:
    chosen = [t for t in report.towns if towns is None or t.town in towns]
    return {
        "period": {
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "month": report.period.month,
        },
        "generated_at": report.generated_at.isoformat(),
        "source": report.source,
        "contract": {
            "min_outage_seconds": report.min_outage_seconds,
            "down_minute_failed_share": report.down_share,
            "no_data": report.no_data_policy,
        },
        "method": report.method(),
        "data_complete": all(t.no_data_minutes == 0 for t in chosen),
        "no_data_minutes": sum(t.no_data_minutes for t in chosen),
        "towns": [
            {
                "town": t.town,
                "name": t.name,
                "romaji": t.romaji,
                "no_data_minutes": t.no_data_minutes,
                "systems": [system_json(report.inventory, s) for s in t.systems],
            }
            for t in chosen
        ],
    }


CSV_COLUMNS = [
    "town",
    "town_name",
    "system",
    "system_name",
    "tier",
    "calendar",
    "scheduled_minutes",
    "maintenance_minutes",
    "downtime_minutes",
    "no_data_minutes",
    "availability_percent",
    "target_percent",
    "met",
    "credit_percent",
    "incidents_counted",
    "incidents_not_counted",
]


def report_csv(report: SlaReportData, towns: list[str] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in report.towns:
        if towns is not None and t.town not in towns:
            continue
        for s in t.systems:
            counted = len(s.counted_outages)
            writer.writerow(
                [
                    t.town,
                    t.name,
                    s.system,
                    report.inventory.system_by_id[s.system].name,
                    s.tier,
                    s.calendar,
                    s.scheduled_minutes,
                    s.maintenance_minutes,
                    s.downtime_minutes,
                    s.no_data_minutes,
                    "" if s.availability is None else f"{float(s.availability):.6f}",
                    s.target_percent,
                    "" if s.met is None else ("yes" if s.met else "no"),
                    s.credit_percent,
                    counted,
                    len(s.outages) - counted,
                ]
            )
    return buffer.getvalue()


def write_data_files(report: SlaReportData, directory: Path, stem: str, towns: list[str] | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = directory / f"{stem}.json", directory / f"{stem}.csv"
    json_path.write_text(json.dumps(report_json(report, towns), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    csv_path.write_text(report_csv(report, towns), encoding="utf-8-sig")  # Excel opens UTF-8 with a BOM
    return [json_path, csv_path]


def down_minutes_by_day(report: SlaReportData, r: SystemResult) -> np.ndarray:
    """Counted downtime per day of the period (for the charts)."""
    days = max(1, -(-report.period.minutes // 1440))
    out = np.zeros(days)
    for o in r.counted_outages:
        day = int((o.start - report.period.start).total_seconds() // 86400)
        out[min(max(day, 0), days - 1)] += o.scheduled_minutes
    return out
