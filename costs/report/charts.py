"""The report's chart (PNG): per town its share of the joint cost beside its current cost, with the
saving rate; a manager sees at a glance who pays what and who saves how much."""

from __future__ import annotations

from toolkit.documents import figure_png, japanese_chart

from ..allocation import Allocation
from ..records import rate_shown, saving_rate

_SHARE = "#1f5fa8"
_CURRENT = "#9aa5b1"
_MILLION = 1_000_000


def share_chart(a: Allocation) -> bytes:
    """Two bars per town (million yen): its total share (負担額) and its current cost (現行経費), the
    saving rate written beside; a town without a current cost has its share alone."""
    towns = a.towns
    with japanese_chart(10, 1.4 + 0.27 * len(towns)) as figure:
        axes = figure.add_subplot()
        ys = list(range(len(towns)))
        shares = [total / _MILLION for total in a.total]
        current = [(t.current_yen or 0) / _MILLION for t in towns]
        axes.barh([y - 0.2 for y in ys], shares, height=0.4, color=_SHARE, label="負担額 / share")
        axes.barh([y + 0.2 for y in ys], current, height=0.4, color=_CURRENT, label="現行経費 / current cost")
        axes.set_yticks(ys, [t.name for t in towns])
        axes.invert_yaxis()
        axes.set_xlabel("百万円 / million yen")
        axes.set_title(f"町村別の負担額と現行経費 / Each town's share and its current cost, {a.input.span}")
        top = max([*shares, *current], default=0.0) or 1.0
        axes.set_xlim(0, top * 1.25)
        for y, town in enumerate(towns):
            saving = a.saving(y)
            if saving is not None and town.current_yen:
                label = f"削減 / saving {rate_shown(saving_rate(saving, town.current_yen))}"
                axes.text(max(shares[y], current[y]) + top * 0.01, y, label, va="center", fontsize=7)
        figure.legend(loc="outside lower center", ncol=2, fontsize=8)
        return figure_png(figure)
