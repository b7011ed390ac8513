"""The SLA report: every (town, system) of a period evaluated from Prometheus, and its JSON and CSV.

The JSON is what `municloud cost invoice --sla-report` reads (costs/sla_report.py): the period and,
per town and system, `availability_percent` (null when nothing was measured) and `credit_percent`;
every other key is detail for people and other tools: the minutes behind each number, the formula
with the system's own numbers, incidents and data gaps, and the BCP drills of the period (`drills`,
see monitoring/sla/drills.py). An incident's `began_before` / `continues` say that it was already down
at the first minute the engine read (the period's start minus the margin) / still down at the last
one (the period's end plus the margin): its `start` / `end` are then those edges, not its own.

Two views: "contract" (the contract's service calendars and maintenance windows: the numbers the
credits come from) and "every-minute" (every minute of the period scheduled, for every system: a
measurement view for drills and lab demos run outside service hours; no credit is computed, so its
`credit_percent` is null and no invoice can take it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ

from ..promapi import PrometheusAPI
from .calendar import Period, Window, around_the_clock, maintenance_mask, service_mask, window_for
from .drills import DrillInPeriod, DrillsInPeriod, drills_in_period
from .engine import Masks, SeriesMinutes, SystemResult, evaluate, masks
from .fetch import BAD_SERIES, Key, fetch_minutes
from .phase import check_minute_phase
from .row import CSV_COLUMNS, result_row

View = Literal["contract", "every-minute"]

METHOD = [
    "Period: calendar months in Japan time (JST), from the 1st 00:00 to the next 1st 00:00. / 期間: 日本時間の暦月",
    "Scheduled minutes: the minutes inside the system's service hours (the calendar of its tier, or its own), on "
    "service days (national holidays by jpholiday and the year-end closure 12/29-1/3 excluded when the calendar "
    "says so), minus declared maintenance windows. / 計画稼働時間: サービス時間内の分から計画保守を除いたもの",
    "A minute is down when at least {share:.0%} of the probe results Prometheus scraped in it failed "
    "(recording rule municloud:sla_minute:bad). / 停止分: その分のプローブ結果の{share:.0%}以上が失敗",
    "An outage is a run of consecutive down minutes; it counts only when it lasts at least {min_outage} s "
    "(its whole length, also outside service hours). Downtime is the scheduled minutes of the outages "
    "that count. An outage still down at the edge of the margin read around the period is shown as "
    "beginning before / continuing past that time (its length: at least). / 障害: 連続する停止分。"
    "{min_outage}秒以上のものだけを数える。読み取り範囲の端で停止中の障害は「以前に開始」「以降も継続」と表示",
    "Minutes without probe data are shown as no-data, never as up: {no_data_text}. / データ欠測: {no_data_ja}",
    "Availability = (scheduled - downtime - no-data) / scheduled (policy against_provider), or "
    "(scheduled - no-data - downtime) / (scheduled - no-data) (policy excluded); null when nothing is "
    "scheduled or measured. Shown to 3 decimals; targets and penalty bands are compared exactly. / 稼働率",
    "Credit: the penalty band with min <= availability < max (the top band includes 100%), as a share of "
    "the system's monthly fee. / 減額: 稼働率が該当する罰則区分の率 (当該システムの月額利用料に対する割合)",
]
EVERY_MINUTE_METHOD = {
    1: "Scheduled minutes (every-minute view): every minute of the period, for every system, whatever its "
    "service calendar, holidays and maintenance windows. A measurement view, not the contract's. / "
    "計画稼働時間(全分計測表示): 契約のサービス時間・保守によらず期間中の全ての分",
    6: "Credit: not computed: the every-minute view is not the contract's calendar, no credit follows from it. / "
    "減額: 算定しない(契約上の稼働時間ではないため)",
}
EVERY_MINUTE_NOTICE = (
    "全分計測表示: 期間中の全ての分を全システムの計画稼働時間として数えた計測値であり、契約上の稼働率ではありません。"
    "減額は算定しません。 / Every-minute view: every minute of the period counts as scheduled, for every system. "
    "This is a measurement view for drills and lab demos, not the contract's service calendar: "
    "availability here is not contractual and no credit is computed."
)
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
    view: View = "contract"
    drills: DrillsInPeriod | None = None  # None: not looked for (--no-drills)

    @property
    def data_gaps(self) -> int:
        """Scheduled minutes without probe data, over every town and system."""
        return sum(t.no_data_minutes for t in self.towns)

    @property
    def complete(self) -> bool:
        return self.data_gaps == 0

    @property
    def contractual(self) -> bool:
        """Whether the numbers follow the contract's calendars (and credits are computed)."""
        return self.view == "contract"

    def method(self) -> list[str]:
        text, ja = NO_DATA_TEXT[self.no_data_policy]
        lines = METHOD if self.contractual else [EVERY_MINUTE_METHOD.get(i, line) for i, line in enumerate(METHOD)]
        return [
            line.format(share=self.down_share, min_outage=self.min_outage_seconds, no_data_text=text, no_data_ja=ja)
            for line in lines
        ]

    def drills_for(self, towns: list[str] | None) -> DrillsInPeriod | None:
        if self.drills is None or towns is None:
            return self.drills
        return self.drills.for_towns(towns)

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
    every_minute: bool = False,
) -> list[TownReport]:
    """Every (town, system) of `towns` over the period; `every_minute`: every minute of the period is
    scheduled for every system (a 24/7 calendar and no maintenance window), the measurement view."""
    sla = inventory.sla
    window = window_for(period, sla.min_outage_seconds)
    expected = expected_series(inventory, towns)
    data = minutes(window, [(t, s) for t, s, _, _ in expected])
    if every_minute:
        always = around_the_clock()
        calendars = {always.id: always}
        expected = [(town, system, tier, always.id) for town, system, tier, _ in expected]
        maintenance = np.zeros(window.minutes, dtype=bool)
    else:
        calendars = inventory.calendar_by_id
        maintenance = maintenance_mask(window, sla.maintenance_windows)
    by_calendar: dict[str, Masks] = {}
    reports: dict[str, TownReport] = {}
    for town_id, system_id, tier_id, cal_id in expected:
        if cal_id not in by_calendar:
            by_calendar[cal_id] = masks(window, service_mask(window, calendars[cal_id]), maintenance)
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
    *,
    every_minute: bool = False,
    drills: tuple[Path, str] | None = None,
) -> SlaReportData:
    """Read the period's minutes from Prometheus and evaluate every (town, system); `drills`: (the
    folder or journal to read, the environment) to show the period's BCP drills, None to leave them
    out."""

    def fetch(window: Window, keys: list[Key]) -> dict[Key, SeriesMinutes]:
        check_minute_phase(api, window, BAD_SERIES)  # off-phase minutes are refused, never counted
        return fetch_minutes(api, window, keys, progress)

    reports = evaluate_all(inventory, period, towns, fetch, every_minute)
    return assemble_report(inventory, period, reports, f"{api.url} ({BAD_SERIES})", every_minute, drills)


def assemble_report(
    inventory: Inventory,
    period: Period,
    reports: list[TownReport],
    source: str,
    every_minute: bool = False,
    drills: tuple[Path, str] | None = None,
) -> SlaReportData:
    """The report of evaluated towns, with the period's drills beside them."""
    share = inventory.sla.measurement.down_minute_failed_share
    found = None
    if drills is not None:
        folder, env = drills
        results = {(r.town, r.system): r for t in reports for r in t.systems}
        found = drills_in_period(folder, env, period, results, [t.town for t in reports], share)
    return SlaReportData(
        period,
        datetime.now(CONTRACT_TZ).replace(microsecond=0),
        source,
        inventory,
        reports,
        inventory.sla.min_outage_seconds,
        share,
        inventory.sla.measurement.no_data,
        view="every-minute" if every_minute else "contract",
        drills=found,
    )


# ---- JSON ----------------------------------------------------------------------------------------
def system_json(inventory: Inventory, r: SystemResult, contractual: bool = True) -> dict[str, Any]:
    """The result's row (row.py), then its incidents, data gaps and notes."""
    return {
        **result_row(inventory, r, contractual).json(),
        "incidents": [o.as_dict() for o in r.outages],
        "data_gaps": [g.as_dict() for g in r.gaps],
        "notes": list(r.notes),
    }


def _name(names: dict[str, Any], key: str) -> str | None:
    entry = names.get(key)
    return None if entry is None else entry.name


def drill_json(inventory: Inventory, drill: DrillInPeriod) -> dict[str, Any]:
    return {
        "scenario": drill.scenario,
        "title_ja": drill.title_ja,
        "title_en": drill.title_en,
        "journal": str(drill.journal),
        "start": drill.started.astimezone(CONTRACT_TZ).isoformat(),
        "end": drill.ended.astimezone(CONTRACT_TZ).isoformat(),
        "verdict": drill.verdict,
        "status": drill.status,
        "dry_run": drill.dry_run,
        "towns": list(drill.towns),
        "touched": [
            {
                "town": t.town,
                "town_name": _name(inventory.town_by_id, t.town),
                "system": t.system,
                "system_name": _name(inventory.system_by_id, t.system),
                "outage_ms": t.outage_ms,
                "recovered": t.recovered,
                "sla_counted_minutes": t.counted_minutes,
                "sla_down_minutes": None if t.minutes is None else t.minutes.down_minutes,
                "scheduled_minutes": None if t.minutes is None else t.minutes.scheduled_minutes,
                "minutes_without_data": None if t.minutes is None else t.minutes.missing_minutes,
                "explanation": t.explanation,
            }
            for t in drill.touched
        ],
    }


def report_json(report: SlaReportData, towns: list[str] | None = None) -> dict[str, Any]:
    chosen = [t for t in report.towns if towns is None or t.town in towns]
    drills = report.drills_for(towns)
    return {
        "period": {
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "month": report.period.month,
        },
        "generated_at": report.generated_at.isoformat(),
        "source": report.source,
        "view": report.view,
        "contractual": report.contractual,
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
                "systems": [system_json(report.inventory, s, report.contractual) for s in t.systems],
            }
            for t in chosen
        ],
        "drills": None if drills is None else [drill_json(report.inventory, d) for d in drills.drills],
        "drills_source": None if drills is None else str(drills.source),
        "drill_warnings": [] if drills is None else list(drills.warnings),
    }


def report_csv(report: SlaReportData, towns: list[str] | None = None) -> str:
    """One line per (town, system): its row (row.py)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in report.towns:
        if towns is not None and t.town not in towns:
            continue
        for s in t.systems:
            writer.writerow(result_row(report.inventory, s, report.contractual).csv())
    return buffer.getvalue()


DRILL_CSV_COLUMNS = [
    "scenario",
    "drill_title",
    "start",
    "end",
    "verdict",
    "town",
    "town_name",
    "system",
    "system_name",
    "outage_ms",
    "recovered",
    "sla_counted_minutes",
    "sla_down_minutes",
    "scheduled_minutes",
    "explanation",
]


def drills_csv(report: SlaReportData, towns: list[str] | None = None) -> str:
    """One row per (drill, town, system) touched; a drill that touched nothing has one row without a
    town, so every drill of the period is listed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DRILL_CSV_COLUMNS)
    drills = report.drills_for(towns)
    for d in drills.drills if drills else ():
        head = [d.scenario, d.title_ja, d.started.isoformat(), d.ended.isoformat(), d.verdict]
        if not d.touched:
            writer.writerow([*head, "", "", "", "", "", "", "", "", "", "no probe of this drill failed"])
        for t in d.touched:
            m = t.minutes
            writer.writerow(
                [
                    *head,
                    t.town,
                    _name(report.inventory.town_by_id, t.town),
                    t.system,
                    _name(report.inventory.system_by_id, t.system),
                    "" if t.outage_ms is None else t.outage_ms,
                    "yes" if t.recovered else "no",
                    "" if m is None else m.counted_minutes,
                    "" if m is None else m.down_minutes,
                    "" if m is None else m.scheduled_minutes,
                    t.explanation,
                ]
            )
    return buffer.getvalue()


def write_data_files(report: SlaReportData, directory: Path, stem: str, towns: list[str] | None = None) -> list[Path]:
    """`<stem>.json`, `<stem>.csv` and, unless drills were left out, `<stem>-drills.csv`."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = directory / f"{stem}.json", directory / f"{stem}.csv"
    json_path.write_text(json.dumps(report_json(report, towns), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    csv_path.write_text(report_csv(report, towns), encoding="utf-8-sig")  # Excel opens UTF-8 with a BOM
    written = [json_path, csv_path]
    if report.drills is not None:
        drills_path = directory / f"{stem}-drills.csv"
        drills_path.write_text(drills_csv(report, towns), encoding="utf-8-sig")
        written.append(drills_path)
    return written


def down_minutes_by_day(report: SlaReportData, r: SystemResult) -> np.ndarray:
    """Counted downtime per day of the period (for the charts)."""
    days = max(1, -(-report.period.minutes // 1440))
    out = np.zeros(days)
    for o in r.counted_outages:
        day = int((o.start - report.period.start).total_seconds() // 86400)
        out[min(max(day, 0), days - 1)] += o.scheduled_minutes
    return out
