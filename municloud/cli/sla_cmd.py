"""`municloud sla report|schedule`: the monthly SLA reports from Prometheus' data."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from inventory.model.sla import CONTRACT_TZ
from monitoring.promapi import PrometheusAPI, PrometheusError
from monitoring.server import DEFAULT_PORT, prometheus_url
from monitoring.sla.calendar import Period, month_period, span_period
from monitoring.sla.render import file_label, write_report_set
from monitoring.sla.report import build_report, report_json
from monitoring.sla.schedule import sla_job
from toolkit.documents import DocumentError
from toolkit.settings import state_dir

from .common import Exit, binding_or_exit, err, fail, out, print_json
from .options import EnvOption, JsonOption, TownsOption
from .scheduling import CronOption, InstallOption, print_or_install

app = typer.Typer(
    help=(
        "The SLA reports (稼働率報告): per town and business system, availability in the contract's service "
        "hours, downtime, data gaps, incidents and credits, from the Prometheus that `monitor up` runs.\n\n"
        "Exit codes: 0 report written, complete; 1 written but the data has gaps (the report says where), "
        "Prometheus could not be read, or the reports could not be written (a missing Japanese font, an "
        "unwritable folder); 2 invalid input."
    ),
    no_args_is_help=True,
)


def _parse_moment(text: str, end: bool) -> datetime:
    """YYYY-MM-DD (a whole day: --to includes that day) or an ISO time; naive means Japan time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=CONTRACT_TZ)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"'{text}' is not a date (YYYY-MM-DD) or an ISO 8601 time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CONTRACT_TZ)


def _period(month: str | None, start: str | None, end: str | None) -> Period:
    if month and (start or end):
        fail("give either --month or --from/--to, not both")
    if month:
        if month == "previous":
            first = datetime.now(CONTRACT_TZ).replace(day=1) - timedelta(days=1)
            month = f"{first:%Y-%m}"
        try:
            return month_period(month)
        except ValueError as error:
            fail(str(error))
    if not (start and end):
        fail("give --month YYYY-MM (or 'previous'), or both --from and --to")
    try:
        return span_period(_parse_moment(start, False), _parse_moment(end, True))
    except ValueError as error:
        fail(str(error))


@app.command("report")
def report(
    month: Annotated[
        str | None, typer.Option("--month", help="A calendar month in Japan time, YYYY-MM, or 'previous'.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start of any period: YYYY-MM-DD (00:00 JST) or ISO time.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End: YYYY-MM-DD (that day included) or ISO time (excluded).")
    ] = None,
    towns: TownsOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Root folder; the reports go into <root>/<YYYY-MM>/ [default: <state>/sla-reports]"),
    ] = None,
    env: EnvOption = "lab",
    prometheus: Annotated[
        str | None, typer.Option("--prometheus", help="Prometheus' URL [default: the one `monitor up` runs]")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDFs (weasyprint).")] = True,
    as_json: JsonOption = False,
    every_minute: Annotated[
        bool,
        typer.Option(
            "--every-minute",
            help="Count every minute of the period as scheduled, for every system (a 24/7 calendar, no "
            "maintenance windows), instead of the contract's service hours: a measurement view for drills and "
            "lab demos run outside office hours. The report says so on top and computes no credit "
            "(credit_percent null: no invoice takes it).",
        ),
    ] = False,
    drills_from: Annotated[
        Path | None,
        typer.Option(
            "--drills",
            help="Where the drills' journals are: a folder (searched for journal.json) or one journal "
            "(default: <state>/drills/<env>).",
        ),
    ] = None,
    no_drills: Annotated[
        bool, typer.Option("--no-drills", help="Leave out the section on the period's BCP drills.")
    ] = False,
) -> None:
    """Write the period's SLA reports: a summary across towns and one per town, each as HTML, PDF, CSV and
    JSON (the JSON is what `cost invoice --sla-report` reads), into a dated folder.

    The reports list the BCP drills that ran in the period (期間中のBCP訓練): per town and system a drill
    touched, the outage its probes measured and the down minutes the SLA counted while it ran, with why
    when none. A drill file that cannot be used is named in a warning."""
    period = _period(month, start, end)
    inventory, binding = binding_or_exit(env)
    chosen = list(towns) if towns else list(binding.towns)
    unknown = [t for t in chosen if t not in inventory.town_by_id]
    if unknown:
        fail(f"unknown town(s): {', '.join(unknown)}")
    if no_drills and drills_from is not None:
        fail("give either --drills or --no-drills, not both")
    if drills_from is not None and not drills_from.exists():
        fail(f"--drills {drills_from}: no such file or folder")
    drills = None if no_drills else (drills_from or state_dir() / "drills" / env, env)
    url = prometheus or prometheus_url(env) or f"http://127.0.0.1:{DEFAULT_PORT}"
    api = PrometheusAPI(url)
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        reading = bar.add_task(f"reading {period.label()} from {url}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(reading, completed=done, total=total)

        try:
            data = build_report(inventory, period, api, chosen, advance, every_minute=every_minute, drills=drills)
        except PrometheusError as error:
            fail(str(error), Exit.FAILED)
        bar.update(reading, total=bar.tasks[reading].total or 1, completed=bar.tasks[reading].total or 1)
        writing = bar.add_task("writing the reports", total=len(data.towns) + 1)
        root = out_dir or state_dir() / "sla-reports"
        folder = root / file_label(data)
        try:
            written = write_report_set(data, folder, pdf, lambda _name: bar.advance(writing))
        except (DocumentError, OSError) as error:
            fail(f"the SLA reports could not be written: {error}", Exit.FAILED)
    seconds = time.monotonic() - started
    if as_json:
        print_json({**report_json(data), "folder": str(folder), "files": [str(p) for p in written]})
    else:
        _summary_table(data)
        _drills_table(data)
        out.print(
            f"{len(written)} file(s) in {folder} ({seconds:.1f} s); the summary: {folder}/sla-{file_label(data)}.html"
        )
    if not data.contractual:
        err.print("[bold yellow]every-minute view:[/] not the contract's calendar; no credit computed.")
    for warning in data.drills.warnings if data.drills else ():
        err.print(f"[bold yellow]drills:[/] {warning}", highlight=False)
    if not data.complete:
        err.print(
            f"[bold yellow]data gaps:[/] {data.data_gaps} scheduled minute(s) without probe data "
            f"({data.no_data_policy.replace('_', ' ')}); the reports list them. Exit 1."
        )
        raise typer.Exit(int(Exit.FAILED))


def _summary_table(data) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"SLA {data.period.label()} (JST)")
    for col in ("town", "systems", "met", "missed", "credits", "downtime min", "no-data min", "lowest availability"):
        table.add_column(col, justify="left" if col == "town" else "right")
    for t in data.towns:
        measured = [s for s in t.systems if s.availability is not None]
        low = min(measured, key=lambda s: s.availability, default=None)
        table.add_row(
            f"{t.name} {t.town}",
            str(len(t.systems)),
            str(sum(1 for s in t.systems if s.met)),
            str(sum(1 for s in t.systems if s.met is False)),
            str(t.credit_lines) if data.contractual else "—",
            str(sum(s.downtime_minutes for s in t.systems)),
            str(t.no_data_minutes),
            "—" if low is None else f"{float(low.availability):.3f}% {low.system}",
        )
    out.print(table)


def _drills_table(data) -> None:  # type: ignore[no-untyped-def]
    if data.drills is None:
        return
    if not data.drills.drills:
        out.print(f"no BCP drill ran in the period (journals: {data.drills.source})")
        return
    table = Table(title="BCP drills in the period / 期間中のBCP訓練")
    for col in ("drill", "ran (JST)", "verdict", "touched", "drill outage ms", "SLA counted min"):
        table.add_column(col, justify="left" if col in ("drill", "ran (JST)", "verdict") else "right")
    for d in data.drills.drills:
        measured = [t.outage_ms for t in d.touched if t.outage_ms is not None]
        counted = [t.counted_minutes for t in d.touched if t.counted_minutes is not None]
        table.add_row(
            f"{d.title_ja} {d.scenario}",
            f"{d.started.astimezone(CONTRACT_TZ):%m-%d %H:%M:%S} - {d.ended.astimezone(CONTRACT_TZ):%H:%M:%S}",
            d.verdict + (" (dry run)" if d.dry_run else ""),
            f"{len({t.town for t in d.touched})} town(s), {len(d.touched)} system(s)",
            f"{min(measured):.0f}-{max(measured):.0f}" if measured else "—",
            str(sum(counted)),
        )
    out.print(table)


@app.command("schedule")
def schedule(
    env: EnvOption = "lab",
    root: Annotated[Path | None, typer.Option("--out", help="Root of the dated report folders.")] = None,
    install: InstallOption = False,
    cron: CronOption = False,
) -> None:
    """Print (or --install) the monthly job: last month's reports on the 1st at 06:00 JST, as a systemd
    timer or, for hosts without systemd, a cron line."""
    folder = root or state_dir() / "sla-reports"
    print_or_install(sla_job(env, folder), folder, install, cron)
