"""The report for people: HTML (Japanese headings with English beside, charts embedded) and the same
as PDF, both through the toolkit (toolkit.documents: the templates, the Japanese font, the images'
data URIs, weasyprint); one summary and one per town."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bcp_drills.verdicts import verdict_label
from inventory.model.sla import CONTRACT_TZ
from toolkit.documents import png_data_uri, templates, write_html, write_html_and_pdf

from . import charts
from .drills import TouchedSystem, duration_text
from .report import EVERY_MINUTE_NOTICE, NO_DATA_TEXT, SlaReportData, TownReport, write_data_files
from .row import HTML_COLUMNS, result_row
from .summary import exception_rows, heat_map_towns, timeline_rows

_TEMPLATES = templates("monitoring.sla")


def _when(moment: datetime) -> str:
    return moment.astimezone(CONTRACT_TZ).strftime("%Y-%m-%d %H:%M")


def _clock(moment: datetime) -> str:
    return moment.astimezone(CONTRACT_TZ).strftime("%H:%M")


def _length(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def _town_context(report: SlaReportData, town: TownReport, detail: bool) -> dict[str, Any]:
    inv = report.inventory
    incidents = []
    gaps = []
    for r in town.systems:
        system = inv.system_by_id[r.system]
        for o in r.outages:
            incidents.append(
                {
                    "system": system.name,
                    "start": _when(o.start),
                    "end": _when(o.end),
                    "length": _length(o.length_seconds),
                    "scheduled_minutes": o.scheduled_minutes,
                    "counted": o.counted,
                    "reason": o.reason,
                    # the window's edges: the engine read no further, so the outage is open there
                    "began_before": _clock(o.start) if o.began_before else None,
                    "continues": _clock(o.end) if o.continues else None,
                }
            )
        gaps += [
            {
                "system": system.name,
                "start": _when(g.start),
                "end": _when(g.end),
                "scheduled_minutes": g.scheduled_minutes,
            }
            for g in r.gaps
        ]
    return {
        "name": town.name,
        "romaji": town.romaji,
        "systems": [result_row(inv, r, report.contractual) for r in town.systems],
        "met": sum(1 for r in town.systems if r.met),
        "missed": sum(1 for r in town.systems if r.met is False),
        "credits": town.credit_lines if report.contractual else None,
        "counted": sum(len(r.counted_outages) for r in town.systems),
        "downtime": sum(r.downtime_minutes for r in town.systems),
        "no_data": town.no_data_minutes,
        "incidents": sorted(incidents, key=lambda i: i["start"]),
        "gaps": gaps,
        "chart": png_data_uri(charts.availability_bars(report, town)) if detail else "",
    }


def _outage(t: TouchedSystem) -> str:
    if t.outage_ms is None:
        return "未復旧 never recovered"
    return duration_text(t.outage_ms) + ("" if t.recovered else " (未復旧 not recovered)")


def _drill_rows(report: SlaReportData, touched: tuple[TouchedSystem, ...]) -> list[dict[str, Any]]:
    """One row per town and outcome: the drill probes a town once for all its systems, so its systems
    usually share one outcome; the JSON keeps one entry per (town, system)."""
    inv = report.inventory
    reported = {t.town: len(t.systems) for t in report.towns}
    groups: dict[tuple[Any, ...], list[TouchedSystem]] = {}
    for t in touched:
        m = t.minutes
        key = (
            t.town,
            _outage(t),
            t.counted_minutes,
            None if m is None else m.down_minutes,
            None if m is None else m.scheduled_minutes,
            t.explanation,
        )
        groups.setdefault(key, []).append(t)
    rows = []
    for (town, outage, counted, down, scheduled, explanation), members in groups.items():
        names = [inv.system_by_id[t.system].name if t.system in inv.system_by_id else t.system for t in members]
        every = len(members) == reported.get(town) and all(t.minutes is not None for t in members)
        rows.append(
            {
                "town": inv.town_by_id[town].name if town in inv.town_by_id else town,
                "systems": f"全{len(names)}システム all {len(names)} systems" if every else "、".join(names),
                "outage": outage,
                "counted": counted,
                "down": down,
                "scheduled": scheduled,
                "explanation": explanation,
            }
        )
    return rows


def _drills_context(report: SlaReportData, towns: list[str] | None) -> dict[str, Any] | None:
    """The period's drills for the chosen towns, as the template shows them (None: left out)."""
    drills = report.drills_for(towns)
    if drills is None:
        return None
    return {
        "source": str(drills.source),
        "warnings": list(drills.warnings),
        "drills": [
            {
                "title_ja": d.title_ja,
                "title_en": d.title_en,
                "scenario": d.scenario,
                "start": f"{d.started.astimezone(CONTRACT_TZ):%Y-%m-%d %H:%M:%S}",
                "end": f"{d.ended.astimezone(CONTRACT_TZ):%H:%M:%S}"
                if d.ended.astimezone(CONTRACT_TZ).date() == d.started.astimezone(CONTRACT_TZ).date()
                else f"{d.ended.astimezone(CONTRACT_TZ):%Y-%m-%d %H:%M:%S}",
                "verdict": verdict_label(d.verdict),
                "failed": d.verdict == "failed",
                "dry_run": d.dry_run,
                "journal": str(d.journal),
                "rows": _drill_rows(report, d.touched),
            }
            for d in drills.drills
        ],
    }


def render_html(report: SlaReportData, towns: list[str] | None = None) -> str:
    """The summary across towns (towns=None: overview, heat map, timeline, exceptions) or the
    detailed report of the given towns (every system, incident and data gap)."""
    chosen = [t for t in report.towns if towns is None or t.town in towns]
    single = len(chosen) == 1 and towns is not None
    listed = exception_rows(report, chosen)
    exceptions = [
        {
            "town": f"{t.name} {t.romaji}",
            "system": report.inventory.system_by_id[r.system].name,
            "availability": r.availability_percent,
            "target": r.target_percent,
            "credit": r.credit_percent if report.contractual else None,
            "formula": r.formula(),
        }
        for t, r in listed.rows
    ]
    title = report.period.label() + (f" — {chosen[0].name} {chosen[0].romaji}" if single else " — 全団体 all towns")
    mapped = heat_map_towns(report, chosen)
    drawn = timeline_rows(chosen)
    sub = SlaReportData(**{**report.__dict__, "towns": mapped.rows})
    no_data = sum(t.no_data_minutes for t in chosen)
    return _TEMPLATES.get_template("report.html.j2").render(
        title=title,
        period_start=_when(report.period.start),
        period_end=_when(report.period.end),
        generated=_when(report.generated_at),
        source=report.source,
        no_data_minutes=no_data,
        no_data_treatment=NO_DATA_TEXT[report.no_data_policy][0],
        towns=[_town_context(report, t, detail=towns is not None) for t in chosen],
        system_columns=HTML_COLUMNS,
        detail=towns is not None,
        exceptions=exceptions,
        exceptions_shown=listed,
        heat_map=None if single else png_data_uri(charts.heat_map(sub)),
        heat_map_towns=mapped,
        timeline=png_data_uri(charts.incident_timeline(report, drawn.rows)),
        timeline_rows=drawn,
        method=report.method(),
        min_outage=report.min_outage_seconds,
        no_data_policy=report.no_data_policy,
        contractual=report.contractual,
        down_share=report.down_share,
        every_minute_notice=EVERY_MINUTE_NOTICE,
        drills=_drills_context(report, towns),
    )


def write_documents(
    report: SlaReportData, directory: Path, stem: str, towns: list[str] | None = None, pdf: bool = True
) -> list[Path]:
    """`<stem>.html` and, unless pdf=False, `<stem>.pdf`; DocumentError when the Japanese font is
    missing or the PDF cannot be rendered."""
    html = render_html(report, towns)
    html_path, pdf_path = directory / f"{stem}.html", directory / f"{stem}.pdf"
    if not pdf:
        write_html(html, html_path)
        return [html_path]
    write_html_and_pdf(html, html_path, pdf_path)
    return [html_path, pdf_path]


def write_report_set(
    report: SlaReportData,
    directory: Path,
    pdf: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """The summary (`sla-<label>.*`) and one set per town (`towns/<town>/sla-<label>-<town>.*`):
    JSON and CSV always, HTML and (unless pdf=False) PDF."""
    label = file_label(report)
    written = write_data_files(report, directory, f"sla-{label}")
    written += write_documents(report, directory, f"sla-{label}", None, pdf)
    if progress:
        progress("summary")
    for town in report.towns:
        folder = directory / "towns" / town.town
        stem = f"sla-{label}-{town.town}"
        written += write_data_files(report, folder, stem, [town.town])
        written += write_documents(report, folder, stem, [town.town], pdf)
        if progress:
            progress(town.town)
    return written


def file_label(report: SlaReportData) -> str:
    p = report.period
    return p.month or f"{p.start:%Y%m%dT%H%M}-{p.end:%Y%m%dT%H%M}"
