"""The allocation's tables as data: one per step (basic allocation, adjustment, re-allocation, data
migration), then each town's total and saving, and the summary. `cost allocate` prints them in the
terminal and the cost allocation report writes them as HTML: both show these, so they never differ.

Headings in Japanese with English beside (on two lines), town names as the inventory writes them,
yen with thousands separators, totals in the footer. A step that has nothing to show is a
`SkippedStep` that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from .allocation import Allocation
from .records import rate_shown, saving_rate, share_text


def yen(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


@dataclass(frozen=True)
class Column:
    header: str  # "日本語\nEnglish"
    numeric: bool = True
    footer: str = ""


@dataclass(frozen=True)
class StepTable:
    title: str
    columns: tuple[Column, ...]  # the first is the town
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class SkippedStep:
    title: str
    reason: str


TOWN_COLUMN = Column("団体 Town", numeric=False, footer="計 Total")


def _money(header: str, values: list[int], total: bool = True) -> Column:
    return Column(header, footer=yen(sum(values)) if total else "")


def allocation_steps(a: Allocation) -> list[StepTable | SkippedStep]:
    """The four steps in order, then the totals."""
    return [_basic(a), *_adjustment(a), _migration(a), _totals(a)]


def _basic(a: Allocation) -> StepTable:
    items = [it for it in a.input.items if it.step == "basic"]
    columns = [_money(f"{it.name}\n{it.amount_yen:,}", a.basic[it.id]) for it in items]
    columns.append(_money("基本按分計\nBasic total", a.basic_total))
    rows = [
        (town.name, *(yen(a.basic[it.id][i]) for it in items), yen(a.basic_total[i])) for i, town in enumerate(a.towns)
    ]
    rules = "; ".join(f"{it.name}: {share_text(it.share)}" for it in items)
    return StepTable(
        "1. 基本按分 Basic allocation", (TOWN_COLUMN, *columns), tuple(rows), f"Each item by its rule: {rules}."
    )


def _adjustment(a: Allocation) -> list[StepTable | SkippedStep]:
    if not a.input.adjust:
        return [SkippedStep("2.-3. 金額調整・再按分 Adjustment", "costs.yaml has no adjustment rule; skipped.")]
    adjusted = [i for i, was in enumerate(a.adjusted) if was]
    if not adjusted:
        return [
            SkippedStep("2. 金額調整 Adjustment", "no town's basic share exceeds its cap: no town adjusted."),
            SkippedStep("3. 再按分 Re-allocation", "nothing to re-allocate."),
        ]
    adjustment = StepTable(
        "2. 金額調整 Adjustment",
        (
            TOWN_COLUMN,
            Column("現行経費\nCurrent cost"),
            Column("上限\nCap"),
            Column("基本按分\nBasic share"),
            _money("調整額\nAdjustment", [a.adjustment[i] for i in adjusted]),
        ),
        tuple(
            (
                a.towns[i].name,
                yen(a.towns[i].current_yen),
                yen(a.towns[i].cap_yen),
                yen(a.basic_total[i]),
                yen(a.adjustment[i]),
            )
            for i in adjusted
        ),
        "A town whose basic share exceeds its cap pays its cap; the difference is its adjustment.",
    )
    receivers = [i for i, was in enumerate(a.adjusted) if not was]
    rule = share_text(a.input.reallocation_share or {})
    reallocation = StepTable(
        "3. 再按分 Re-allocation",
        (
            TOWN_COLUMN,
            _money("基本按分\nBasic share", [a.basic_total[i] for i in receivers]),
            _money("再按分額\nRe-allocated", [a.reallocated[i] for i in receivers]),
            Column("上限\nCap"),
        ),
        tuple(
            (a.towns[i].name, yen(a.basic_total[i]), yen(a.reallocated[i]), yen(a.towns[i].cap_yen)) for i in receivers
        ),
        f"{a.adjustment_yen:,} yen of adjustments borne by the towns not adjusted, once, by {rule}.",
    )
    return [adjustment, reallocation]


def _migration(a: Allocation) -> StepTable | SkippedStep:
    items = [it for it in a.input.items if it.step == "migration"]
    if not any(it.amount_yen for it in items):
        return SkippedStep("4. データ移行 Data migration", f"no data-migration cost in {a.input.span}.")
    rules = "; ".join(f"{it.name}: {share_text(it.share)}" for it in items)
    return StepTable(
        "4. データ移行 Data migration",
        (TOWN_COLUMN, *(_money(f"{it.name}\n{it.amount_yen:,}", a.migration[it.id]) for it in items)),
        tuple((town.name, *(yen(a.migration[it.id][i]) for it in items)) for i, town in enumerate(a.towns)),
        f"Shared after the adjustment, by the basic method: {rules}.",
    )


def _totals(a: Allocation) -> StepTable:
    saving_total = None if a.current_yen is None else a.current_yen - a.joint_yen
    total_rate = saving_rate(saving_total, a.current_yen) if saving_total is not None and a.current_yen else None
    rows = []
    for i, town in enumerate(a.towns):
        saving = a.saving(i)
        rate = saving_rate(saving, town.current_yen) if saving is not None and town.current_yen else None
        rows.append(
            (
                town.name,
                yen(a.after_adjustment[i]),
                yen(a.migration_total[i]),
                yen(a.total[i]),
                yen(town.current_yen),
                yen(saving),
                rate_shown(rate),
            )
        )
    return StepTable(
        "合計 Each town's total and its saving",
        (
            TOWN_COLUMN,
            _money("調整後\nAfter steps 1-3", a.after_adjustment),
            _money("データ移行\nMigration", a.migration_total),
            _money("負担額計\nTotal", a.total),
            Column("現行経費\nCurrent cost", footer=yen(a.current_yen)),
            Column("削減額\nSaving", footer=yen(saving_total)),
            Column("削減率\nRate", footer=rate_shown(total_rate)),
        ),
        tuple(rows),
    )


def summary_text(a: Allocation) -> str:
    """The whole span in one sentence: current cost, joint cost, saving and its rate."""
    if a.current_yen is None or not a.current_yen:
        return (
            f"{a.input.span}: joint cost (共同化経費) {a.joint_yen:,} yen; "
            "not every town has a current cost, so no saving is shown."
        )
    saving = a.current_yen - a.joint_yen
    return (
        f"{a.input.span}: current cost (現行経費) {a.current_yen:,} yen, joint cost "
        f"(共同化経費) {a.joint_yen:,} yen, saving (削減額) {saving:,} yen, "
        f"{rate_shown(saving_rate(saving, a.current_yen))} "
        "(rates rounded up to 0.1 point, as the seed's deck shows them)."
    )
