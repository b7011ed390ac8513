"""`municloud cost ...`: the towns' shares of the joint cost (費用按分) and their monthly invoice."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from costs.allocation import Allocation, AllocationError, allocate
from costs.inputs import allocation_input
from costs.invoice import MonthError, make_invoice
from costs.records import allocation_csv_rows, allocation_record, invoice_record
from costs.report import render_allocation
from costs.sla_report import SlaReport, SlaReportError, check_report, read_sla_report
from toolkit.documents import DocumentError

from .common import Exit, err, fail, inventory_or_exit, out, print_json
from .cost_tables import print_allocation, print_invoice
from .options import JsonOption, ReportFolderOption
from .written import print_written

app = typer.Typer(
    help="Share the joint cost among the towns in the four agreed steps, and make the monthly invoice.",
    no_args_is_help=True,
)


@app.command("allocate")
def allocate_cmd(
    fiscal_year: Annotated[
        int | None, typer.Option("--fiscal-year", help="One fiscal year (April to March); default: the whole period.")
    ] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per town instead of tables.")] = False,
    out_dir: ReportFolderOption = None,
) -> None:
    """The four steps, one table each: basic allocation, adjustment, re-allocation, data migration;
    then each town's total and its saving against its current cost. With --out, also the cost
    allocation report (費用按分) as HTML and PDF (those tables, a chart of each town's share and
    saving), JSON (as --json prints) and CSV (as --csv prints); with --json too, the record printed
    also names the files written ("files": kind -> path).

    Exit 0 when shared, 1 when the report could not be written, 2 when the cost model or the fiscal
    year is wrong.
    """
    if as_json and as_csv:
        fail("--json and --csv exclude each other: choose one")
    inv = inventory_or_exit()
    period = inv.costs.period
    if fiscal_year is not None and fiscal_year not in period.fiscal_years:
        fail(f"FY{fiscal_year} is outside the cost period {period.label} (costs.yaml: period)")
    try:
        allocation = allocate(allocation_input(inv.costs, inv.towns, fiscal_year))
    except AllocationError as error:
        _allocation_failed(error)
    if not as_json and not as_csv:
        print_allocation(out, allocation)
    paths = _write_report(allocation, out_dir, fiscal_year is None) if out_dir is not None else {}
    if as_json:
        files = {"files": {kind: str(path) for kind, path in paths.items()}} if paths else {}
        print_json({**allocation_record(allocation), **files})
    elif as_csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(allocation_csv_rows(allocation))
    if paths and not as_json:  # after the CSV on stderr: stdout stays the CSV
        print_written(err if as_csv else out, "cost allocation report written", paths)


def _write_report(allocation: Allocation, out_dir: Path, whole_period: bool) -> dict[str, Path]:
    try:
        return render_allocation(allocation, out_dir, whole_period)
    except (DocumentError, OSError) as error:
        fail(f"the cost allocation report could not be written: {error}", Exit.FAILED)


@app.command()
def invoice(
    month: Annotated[str, typer.Option("--month", help="The month to invoice, YYYY-MM.")],
    sla_report: Annotated[
        Path | None, typer.Option("--sla-report", help="The SLA report's JSON for that month: its credits.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Each town's charge for one month, with its SLA credits deducted as a separate line.

    Without --sla-report no credit is applied, and the invoice says so. Exit 2 when the month is
    outside the cost period or the report is not that month's or does not match the inventory.
    """
    inv = inventory_or_exit()
    report: SlaReport | None = None
    try:
        if sla_report is not None:
            report = read_sla_report(sla_report)
            check_report(report, sla_report, month, inv)
        bill = make_invoice(inv, month, report)
    except SlaReportError as error:
        for problem in error.problems:
            err.print(problem, highlight=False, markup=False, soft_wrap=True)
        fail(f"{len(error.problems)} problem(s) in the SLA report; no invoice was made")
    except MonthError as error:
        fail(str(error))
    except AllocationError as error:
        _allocation_failed(error)
    if as_json:
        print_json(invoice_record(bill))
    else:
        print_invoice(out, bill, str(sla_report) if sla_report else None)


def _allocation_failed(error: AllocationError) -> NoReturn:
    for town, why in error.failures:
        err.print(f"{town + ': ' if town else ''}{why}", highlight=False, markup=False, soft_wrap=True)
    fail("the costs cannot be shared as costs.yaml says; nothing was printed", Exit.INVALID)
