"""The reports' charts (PNG): outage per town in one drill; worst and median per town over a year."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes

from toolkit.documents import figure_png, japanese_chart

from .figures import TownAggregate, TownOutage

_AFFECTED = "#1f5fa8"
_UNAFFECTED = "#9aa5b1"
_UNRECOVERED = "#c0392b"
_MEDIAN = "#7fb3e6"


def _height(rows: int) -> float:
    return 1.6 + 0.32 * max(rows, 1)


def _no_data(axes: Axes, y: float, x: float) -> None:
    axes.text(x, y, "データなし / no data", va="center", fontsize=8, color="#555555")


def drill_chart(towns: Sequence[TownOutage], dry_run: bool) -> bytes:
    """One bar per town: its worst system's outage (ms). Blue: a town the fault touched; grey: one it
    did not; red: a town with a system that never came back. No bar and 'no data' when the journal
    has no probe from the town."""
    with japanese_chart(7.5, _height(len(towns))) as figure:
        axes = figure.add_subplot()
        values = [t.outage_ms or 0.0 for t in towns]
        colours = [_UNRECOVERED if not t.recovered else (_AFFECTED if t.affected else _UNAFFECTED) for t in towns]
        positions = range(len(towns))
        axes.barh(list(positions), values, color=colours)
        axes.set_yticks(list(positions), [t.name for t in towns])
        axes.invert_yaxis()
        axes.set_xlabel("停止時間 / outage (ms)")
        title = "町村別の停止時間 / Outage per town"
        axes.set_title(title + (" — リハーサル / dry run (no fault)" if dry_run else ""))
        top = max(values, default=0.0) or 1.0
        axes.set_xlim(0, top * 1.3)
        for y, town in enumerate(towns):
            if dry_run:
                axes.text(top * 0.02, y, "対象外 / not measured", va="center", fontsize=8, color="#555555")
            elif town.outage_ms is None:
                _no_data(axes, y, top * 0.02)
            elif town.no_outage:
                axes.text(top * 0.02, y, "停止なし / no outage", va="center", fontsize=8)
            else:
                suffix = "" if town.recovered else "  復旧せず / not recovered"
                axes.text(town.outage_ms + top * 0.01, y, f"{town.outage_ms:,.1f}{suffix}", va="center", fontsize=8)
        return figure_png(figure)


def annual_chart(towns: Sequence[TownAggregate]) -> bytes:
    """Per town two bars over the year's drills: the worst outage and the median (ms)."""
    with japanese_chart(7.5, _height(len(towns)) + 0.4) as figure:
        axes = figure.add_subplot()
        worst = [t.worst_ms or 0.0 for t in towns]
        median = [t.median_ms or 0.0 for t in towns]
        ys = list(range(len(towns)))
        axes.barh([y - 0.2 for y in ys], worst, height=0.4, color=_AFFECTED, label="最大 / worst")
        axes.barh([y + 0.2 for y in ys], median, height=0.4, color=_MEDIAN, label="中央値 / median")
        axes.set_yticks(ys, [t.name for t in towns])
        axes.invert_yaxis()
        axes.set_xlabel("停止時間 / outage (ms)")
        axes.set_title("町村別の停止時間(年間)/ Outage per town over the year's drills")
        top = max(worst, default=0.0) or 1.0
        axes.set_xlim(0, top * 1.3)
        for y, town in enumerate(towns):
            if town.worst_ms is None:
                _no_data(axes, y, top * 0.02)
            else:
                axes.text(town.worst_ms + top * 0.01, y - 0.2, f"{town.worst_ms:,.1f}", va="center", fontsize=7)
        axes.legend(loc="lower right", fontsize=8)
        return figure_png(figure)
