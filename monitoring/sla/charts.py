"""The report's charts (PNG): a heat map of towns x systems, availability per system against its
target, and a timeline of incidents. Drawn with the toolkit's Japanese font (toolkit.documents): a
machine without it gets a DocumentError naming the package, never kanji as empty boxes."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from toolkit.documents import figure_png, japanese_chart

from .engine import SystemResult
from .report import SlaReportData, TownReport

DPI = 110  # the charts' resolution since the first report: the PDFs' size and the page layout depend on it
# heat map classes: not subscribed, no data, met, missed without credit, credit
CLASS_COLORS = ["#ffffff", "#9e9e9e", "#4caf50", "#ffc107", "#e53935"]
CLASS_LABELS = ["未契約 not subscribed", "データなし no data", "達成 met", "未達 missed", "減額 credit"]


def _result_class(report: SlaReportData, r: SystemResult) -> int:
    """met, missed or credit (a credit only under the contract's calendars)."""
    if report.contractual and r.credit_percent > 0:
        return 4
    return 2 if r.met else 3


def heat_map(report: SlaReportData) -> bytes:
    inv = report.inventory
    systems = sorted({s.system for t in report.towns for s in t.systems}, key=lambda i: inv.system_by_id[i].number)
    grid = np.zeros((len(report.towns), len(systems)))
    text = [["" for _ in systems] for _ in report.towns]
    for i, town in enumerate(report.towns):
        for r in town.systems:
            j = systems.index(r.system)
            if r.availability is None or (r.no_data_minutes and r.no_data_minutes == r.scheduled_minutes):
                grid[i, j] = 1
                text[i][j] = "—"
                continue
            grid[i, j] = _result_class(report, r)
            text[i][j] = f"{float(r.availability):.2f}" if r.availability < 100 else ""
    with japanese_chart(
        max(8, 0.42 * len(systems) + 3), max(2.5, 0.42 * len(report.towns) + 2), dpi=DPI, layout=None
    ) as figure:
        ax = figure.add_subplot()
        ax.imshow(grid, cmap=ListedColormap(CLASS_COLORS), vmin=0, vmax=4, aspect="auto")
        ax.set_xticks(
            range(len(systems)), [inv.system_by_id[s].name for s in systems], rotation=70, ha="right", fontsize=7
        )
        ax.set_yticks(range(len(report.towns)), [f"{t.name} {t.romaji}" for t in report.towns], fontsize=8)
        for i, row in enumerate(text):
            for j, value in enumerate(row):
                if value:
                    ax.text(j, i, value, ha="center", va="center", fontsize=5.5, color="black")
        ax.set_xticks(np.arange(-0.5, len(systems)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(report.towns)), minor=True)
        ax.grid(which="minor", color="#dddddd", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
        ax.legend(
            handles=[
                Patch(facecolor=c, edgecolor="#999999", label=label)
                for c, label in zip(CLASS_COLORS, CLASS_LABELS, strict=True)
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.45 if len(report.towns) < 6 else -0.25),
            ncol=5,
            fontsize=7,
            frameon=False,
        )
        ax.set_title(f"稼働率 Availability (%) — {report.period.label()}", fontsize=10)
        return figure_png(figure, crop=True)


def availability_bars(report: SlaReportData, town: TownReport) -> bytes:
    inv = report.inventory
    rows = town.systems
    values = [float(r.availability) if r.availability is not None else 0.0 for r in rows]
    colors = [CLASS_COLORS[1] if r.availability is None else CLASS_COLORS[_result_class(report, r)] for r in rows]
    y = np.arange(len(rows))
    lo = min([v for v in values if v > 0] + [99.0])
    floor = max(0.0, min(98.0, lo - 0.5))
    with japanese_chart(8, max(2.5, 0.28 * len(rows) + 1), dpi=DPI, layout=None) as figure:
        ax = figure.add_subplot()
        ax.barh(y, [v - floor for v in values], left=floor, color=colors)
        for k, r in enumerate(rows):
            ax.plot([r.target_percent, r.target_percent], [k - 0.4, k + 0.4], color="black", linewidth=1)
        ax.set_yticks(y, [f"{inv.system_by_id[r.system].name}" for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(floor, 100.05)
        ax.set_xlabel("稼働率 Availability (%) — 縦線: 目標 target", fontsize=8)
        ax.set_title(f"{town.name} {town.romaji}", fontsize=10)
        return figure_png(figure, crop=True)


def incident_timeline(report: SlaReportData, rows: list[tuple[TownReport, SystemResult]]) -> bytes:
    """One row per given (town, system) (see summary.timeline_rows), its outages and data gaps across
    the period."""
    inv = report.inventory
    start = report.period.start
    # the axis' unit: days for a month, hours or minutes for a short span (a drill, a demo)
    if report.period.minutes >= 2 * 1440:
        unit, unit_label = 86400, "日 day"
    elif report.period.minutes >= 120:
        unit, unit_label = 3600, "時間 hour"
    else:
        unit, unit_label = 60, "分 minute"
    length = report.period.minutes * 60 / unit  # the period's length in units
    with japanese_chart(9, max(1.6, 0.3 * len(rows) + 1.2), dpi=DPI, layout=None) as figure:
        ax = figure.add_subplot()
        for k, (_town, r) in enumerate(rows):
            for o in r.outages:
                x = (o.start - start).total_seconds() / unit
                w = max((o.end - o.start).total_seconds() / unit, length / 400)
                ax.broken_barh([(x, w)], (k - 0.35, 0.7), color="#e53935" if o.counted else "#ffb74d")
            for g in r.gaps:
                x = (g.start - start).total_seconds() / unit
                w = max((g.end - g.start).total_seconds() / unit, length / 400)
                ax.broken_barh([(x, w)], (k - 0.35, 0.7), color="#9e9e9e", hatch="//")
        ax.set_yticks(range(len(rows)), [f"{t.name} / {inv.system_by_id[r.system].name}" for t, r in rows], fontsize=7)
        ax.set_ylim(len(rows) - 0.5 if rows else 0.5, -0.5)
        ax.set_xlim(0, length)
        ax.set_xlabel(f"{unit_label} of the period (from {start:%Y-%m-%d %H:%M} JST)", fontsize=8)
        ax.legend(
            handles=[
                Patch(facecolor="#e53935", label="障害(計上) counted"),
                Patch(facecolor="#ffb74d", label="障害(対象外) not counted"),
                Patch(facecolor="#9e9e9e", hatch="//", label="欠測 no data"),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.35 if len(rows) < 4 else -0.12),
            ncol=3,
            fontsize=7,
            frameon=False,
        )
        ax.set_title("障害タイムライン Incident timeline", fontsize=10)
        if not rows:
            ax.text(length / 2, 0, "障害なし no incidents", ha="center", va="center", fontsize=9)
            ax.set_yticks([])
        return figure_png(figure, crop=True)
