"""The cost commands' tables: one per step of the allocation, and the month's invoice.

Headings in Japanese with English beside, town names as the inventory writes them, yen with
thousands separators, right-aligned, totals in the footer.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from costs.allocation import Allocation
from costs.invoice import Invoice
from costs.records import ROUNDING_RULE, rate_shown, saving_rate, share_text


def yen(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _table(title: str) -> Table:
    table = Table(title=title, show_footer=True, title_justify="left")
    table.add_column("団体 Town", footer="計 Total")
    return table


def _show(console: Console, table: Table, note: str = "") -> None:
    """The table, then its note as a full-width line (a caption would wrap at the table's width)."""
    console.print(table)
    if note:
        console.print(note, highlight=False)


def _money(table: Table, header: str, values: list[int], total: bool = True) -> None:
    table.add_column(header, justify="right", footer=yen(sum(values)) if total else "")


def print_allocation(console: Console, a: Allocation) -> None:
    towns = a.towns
    console.print(f"[bold]費用按分 Cost allocation[/]: {a.input.span}", highlight=False)
    console.print(ROUNDING_RULE, highlight=False)

    basic_items = [it for it in a.input.items if it.step == "basic"]
    rules = "; ".join(f"{it.name}: {share_text(it.share)}" for it in basic_items)
    table = _table("1. 基本按分 Basic allocation")
    for it in basic_items:
        _money(table, f"{it.name}\n{it.amount_yen:,}", a.basic[it.id])
    _money(table, "基本按分計\nBasic total", a.basic_total)
    for i, town in enumerate(towns):
        table.add_row(town.name, *(yen(a.basic[it.id][i]) for it in basic_items), yen(a.basic_total[i]))
    _show(console, table, f"Each item by its rule: {rules}.")

    _print_adjustment(console, a)
    _print_migration(console, a)
    _print_totals(console, a)


def _print_adjustment(console: Console, a: Allocation) -> None:
    if not a.input.adjust:
        console.print("[bold]2.-3. 金額調整・再按分 Adjustment[/]: costs.yaml has no adjustment rule; skipped.")
        return
    adjusted = [i for i, was in enumerate(a.adjusted) if was]
    if not adjusted:
        console.print(
            "[bold]2. 金額調整 Adjustment[/]: no town's basic share exceeds its cap: no town adjusted.\n"
            "[bold]3. 再按分 Re-allocation[/]: nothing to re-allocate.",
            highlight=False,
        )
        return
    table = _table("2. 金額調整 Adjustment")
    for header in ("現行経費\nCurrent cost", "上限\nCap", "基本按分\nBasic share"):
        table.add_column(header, justify="right")
    _money(table, "調整額\nAdjustment", [a.adjustment[i] for i in adjusted])
    for i in adjusted:
        town = a.towns[i]
        table.add_row(town.name, yen(town.current_yen), yen(town.cap_yen), yen(a.basic_total[i]), yen(a.adjustment[i]))
    _show(console, table, "A town whose basic share exceeds its cap pays its cap; the difference is its adjustment.")

    rule = share_text(a.input.reallocation_share or {})
    receivers = [i for i, was in enumerate(a.adjusted) if not was]
    table = _table("3. 再按分 Re-allocation")
    _money(table, "基本按分\nBasic share", [a.basic_total[i] for i in receivers])
    _money(table, "再按分額\nRe-allocated", [a.reallocated[i] for i in receivers])
    table.add_column("上限\nCap", justify="right")
    for i in receivers:
        town = a.towns[i]
        table.add_row(town.name, yen(a.basic_total[i]), yen(a.reallocated[i]), yen(town.cap_yen))
    _show(console, table, f"{a.adjustment_yen:,} yen of adjustments borne by the towns not adjusted, once, by {rule}.")


def _print_migration(console: Console, a: Allocation) -> None:
    items = [it for it in a.input.items if it.step == "migration"]
    if not any(it.amount_yen for it in items):
        console.print(f"[bold]4. データ移行 Data migration[/]: no data-migration cost in {a.input.span}.")
        return
    rules = "; ".join(f"{it.name}: {share_text(it.share)}" for it in items)
    table = _table("4. データ移行 Data migration")
    for it in items:
        _money(table, f"{it.name}\n{it.amount_yen:,}", a.migration[it.id])
    for i, town in enumerate(a.towns):
        table.add_row(town.name, *(yen(a.migration[it.id][i]) for it in items))
    _show(console, table, f"Shared after the adjustment, by the basic method: {rules}.")


def _print_totals(console: Console, a: Allocation) -> None:
    table = _table("合計 Each town's total and its saving")
    _money(table, "調整後\nAfter steps 1-3", a.after_adjustment)
    _money(table, "データ移行\nMigration", a.migration_total)
    _money(table, "負担額計\nTotal", a.total)
    current = [t.current_yen or 0 for t in a.towns]
    savings = [a.saving(i) for i in range(len(a.towns))]
    table.add_column("現行経費\nCurrent cost", justify="right", footer=yen(a.current_yen))
    saving_total = None if a.current_yen is None else a.current_yen - a.joint_yen
    table.add_column("削減額\nSaving", justify="right", footer=yen(saving_total))
    total_rate = saving_rate(saving_total, a.current_yen) if saving_total is not None and a.current_yen else None
    table.add_column("削減率\nRate", justify="right", footer=rate_shown(total_rate))
    for i, town in enumerate(a.towns):
        saving = savings[i]
        rate = saving_rate(saving, current[i]) if saving is not None and current[i] else None
        table.add_row(
            town.name,
            yen(a.after_adjustment[i]),
            yen(a.migration_total[i]),
            yen(a.total[i]),
            yen(town.current_yen),
            yen(saving),
            rate_shown(rate),
        )
    console.print(table)
    if saving_total is not None and a.current_yen:
        console.print(
            f"[bold]Summary[/] {a.input.span}: current cost (現行経費) {a.current_yen:,} yen, joint cost "
            f"(共同化経費) {a.joint_yen:,} yen, saving (削減額) {saving_total:,} yen, {rate_shown(total_rate)} "
            "(rates rounded up to 0.1 point, as the seed's deck shows them).",
            highlight=False,
        )
    else:
        console.print(
            f"[bold]Summary[/] {a.input.span}: joint cost (共同化経費) {a.joint_yen:,} yen; "
            "not every town has a current cost, so no saving is shown.",
            highlight=False,
        )


def print_invoice(console: Console, invoice: Invoice, report_name: str | None) -> None:
    console.print(
        f"[bold]月額利用料 Monthly charge[/]: {invoice.month}, instalment {invoice.instalment} of 12 of "
        f"FY{invoice.fiscal_year}'s allocation",
        highlight=False,
    )
    console.print(
        "Each town pays its fiscal year's share in 12 instalments (April to March), split by the largest "
        "remainder: the yen left over go to the earliest months.",
        highlight=False,
    )
    table = _table("請求 Invoice")
    _money(table, "月額\nCharge", [t.charge_yen for t in invoice.towns])
    _money(table, "SLA減額\nSLA credit", [-t.credit_yen for t in invoice.towns])
    _money(table, "請求額\nAmount due", [t.due_yen for t in invoice.towns])
    for t in invoice.towns:
        credit = f"-{t.credit_yen:,}" if t.credit_yen else "0"
        table.add_row(t.name, yen(t.charge_yen), credit + (" (limited)" if t.credit_limited else ""), yen(t.due_yen))
    console.print(table)
    if not invoice.sla_applied:
        console.print("[bold]No SLA credits were applied[/]: no --sla-report was given.")
        return
    lines = [(t, c) for t in invoice.towns for c in t.credits if c.credit_yen or c.credit_percent]
    console.print(
        f"SLA credits from {report_name}: credit % of the town's monthly fee for the system, which is its "
        "monthly system usage fee (basic allocation) divided by the number of systems it subscribes; each "
        "line rounded down to the yen (円未満切り捨て).",
        highlight=False,
    )
    if not lines:
        console.print("The report gives no credit for this month.")
        return
    table = _table("SLA減額 SLA credits")
    for header in ("業務 System", "Tier", "稼働率\nAvailability", "減額率\nCredit %", "業務月額\nMonthly fee"):
        table.add_column(header, justify="right" if "\n" in header else "left")
    _money(table, "減額\nCredit", [c.credit_yen for _, c in lines])
    for t, c in lines:
        availability = "no data" if c.availability_percent is None else f"{c.availability_percent:.3f}%"
        table.add_row(
            t.name,
            c.system_name,
            c.tier,
            availability,
            f"{c.credit_percent:g}%",
            f"{float(c.monthly_fee):,.2f}",
            yen(c.credit_yen),
        )
    console.print(table)
