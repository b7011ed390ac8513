"""The cost commands' tables: one per step of the allocation, and the month's invoice.

Headings in Japanese with English beside, town names as the inventory writes them, yen with
thousands separators, right-aligned, totals in the footer.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from costs.allocation import Allocation
from costs.invoice import Invoice
from costs.records import ROUNDING_RULE
from costs.tables import SkippedStep, StepTable, allocation_steps, summary_text, yen


def _table(title: str) -> Table:
    table = Table(title=title, show_footer=True, title_justify="left")
    table.add_column("団体 Town", footer="計 Total")
    return table


def _money(table: Table, header: str, values: list[int], total: bool = True) -> None:
    table.add_column(header, justify="right", footer=yen(sum(values)) if total else "")


def _print_step(console: Console, step: StepTable | SkippedStep) -> None:
    """A step's table, then its note as a full-width line (a caption would wrap at the table's width)."""
    if isinstance(step, SkippedStep):
        console.print(f"[bold]{step.title}[/]: {step.reason}", highlight=False)
        return
    table = Table(title=step.title, show_footer=True, title_justify="left")
    for column in step.columns:
        table.add_column(column.header, justify="right" if column.numeric else "left", footer=column.footer)
    for row in step.rows:
        table.add_row(*row)
    console.print(table)
    if step.note:
        console.print(step.note, highlight=False)


def print_allocation(console: Console, a: Allocation) -> None:
    console.print(f"[bold]費用按分 Cost allocation[/]: {a.input.span}", highlight=False)
    console.print(ROUNDING_RULE, highlight=False)
    for step in allocation_steps(a):
        _print_step(console, step)
    console.print(f"[bold]Summary[/] {summary_text(a)}", highlight=False)


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
