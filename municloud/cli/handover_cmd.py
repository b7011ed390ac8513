"""`municloud handover ...`: the fiscal-year data hand-over (年度末データ納品)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from pyrage import x25519
from rich.table import Table

from handover.delivery import DeliveryRefused, TownDelivery, check_access, check_package, deliver, package_files
from handover.export import TownExport, export, parse_fiscal_year, who_exports
from handover.importing import ImportRefused, import_package
from handover.layouts import Layout, LayoutError, load_layouts
from handover.package import (
    Package,
    TownKeyError,
    identity,
    keys_dir,
    package_towns,
    packages_dir,
    recipient,
    verify_package,
)
from handover.report import Failure, HandoverReport, build_report, report_folder, reports_root, write_report
from handover.schedule import handover_job
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ
from toolkit.documents import DocumentError
from toolkit.settings import state_dir

from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json, progress_bar
from .options import EnvOption, JsonOption, TownsOption
from .scheduling import CronOption, InstallOption, print_or_install
from .written import print_written

FiscalYearOption = Annotated[
    str | None,
    typer.Option(
        "--fiscal-year",
        help="The fiscal year (April-March): YYYY (the year its April is in), 'current' (the default) or "
        "'previous' (the one that ended last March).",
    ),
]
ReportRootOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Root of the reports' folders: the report goes into <root>/FY<year>/ "
        "(default: <state>/handover/<env>-reports).",
    ),
]

app = typer.Typer(
    help="The fiscal-year data hand-over (年度末データ納品): every town's records in the intermediate standard "
    "layout (中間標準レイアウト; the layouts are data in handover/layouts/), one consistent snapshot per town.",
    no_args_is_help=True,
)


@app.command("export")
def export_command(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    fiscal_year: FiscalYearOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where the towns' folders go (default: the state directory).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Export every town's records (all towns of the environment without --town) in every layout, each
    town from one read-only snapshot of the database primary, with a manifest per town (its files, their
    record counts and SHA-256, the snapshot, who and when) and the 外字 list where one was needed.

    A value a layout cannot take (a character its encoding lacks, too many digits, a code not in its
    table) is never replaced or cut: that town fails, named with the record, the item and the value,
    and the others go on. Exit 0 when every town was exported, 1 when one failed, 2 on bad input (an
    unknown town, a layout file that breaks its rules: nothing is exported then).
    """
    inventory, binding = binding_or_exit(env)
    layouts = _layouts_or_exit("exported")
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    root = out_dir or _exports_root(env)
    results = _export(inventory, binding, layouts, chosen, year, root)
    if as_json:
        print_json({"fiscal_year": year, "ok": all(r.ok for r in results), "towns": [_export_json(r) for r in results]})
    else:
        _export_table(results, year)
        out.print(f"written under {root / str(year)}", highlight=False)
    if not all(r.ok for r in results):
        raise typer.Exit(int(Exit.FAILED))


@app.command("package")
def package_command(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    fiscal_year: FiscalYearOption = None,
    as_json: JsonOption = False,
) -> None:
    """Package each town's export (`handover export` first): its files, manifest and 納品書 in one archive
    encrypted to the town's age public key (<state>/handover/keys/<env>/<town>.pub; the lab makes each
    town's key pair on first use, production takes the towns' own), with the manifest, the 納品書 (HTML,
    PDF, to sign) and the checksum beside it in the clear.

    Exit 0 when every town was packaged, 1 when one failed, 2 on bad input (an unknown town, a town with
    no export, a missing or malformed key: nothing is written for it then).
    """
    inventory, binding = binding_or_exit(env)
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    exports = _exports_root(env) / str(year)
    missing = [t for t in chosen if not (exports / t / "manifest.json").exists()]
    if missing:
        fail(f"no export of fiscal year {year} for {', '.join(missing)} under {exports}: run `handover export`")
    recipients = _recipients_or_exit(binding, chosen, "packaged")
    packages, failed = _package(recipients, exports, env, year)
    if as_json:
        print_json(
            {
                "fiscal_year": year,
                "ok": not failed,
                "packages": [{"town": p.town, "path": str(p.path), "sha256": p.sha256} for p in packages],
                "failed": failed,
            }
        )
    else:
        _package_table(packages, failed, year)
    if failed:
        raise typer.Exit(int(Exit.FAILED))


@app.command("verify")
def verify_command(
    package: Annotated[Path, typer.Argument(help="The encrypted package (<town>-FY<year>.tar.gz.age).")],
    key: Annotated[Path, typer.Option("--key", help="The town's age private key (AGE-SECRET-KEY-1...).")],
    as_json: JsonOption = False,
) -> None:
    """Open a package with the town's key and check it as the receiving town would: the manifest, every
    file's SHA-256 and record count, and every record read back against its layout.

    Exit 0 when it verifies, 1 when it does not (what is wrong is listed), 2 on bad input (no such file,
    a malformed key).
    """
    if not package.is_file():
        fail(f"{package}: no such package")
    try:
        town_key = identity(key)
        layouts = load_layouts()
    except (TownKeyError, LayoutError) as error:
        fail(str(error))
    with tempfile.TemporaryDirectory(prefix="municloud-verify-") as tmp:
        result = verify_package(package, town_key, layouts, Path(tmp))
    if as_json:
        print_json(
            {
                "package": str(package),
                "ok": result.ok,
                "town": result.town,
                "fiscal_year": result.fiscal_year,
                "files": result.files,
                "records": result.records,
                "problems": result.problems,
            }
        )
    elif result.ok:
        out.print(
            f"{package.name}: verified: {result.town}, fiscal year {result.fiscal_year}, "
            f"{result.files} files, {result.records:,} records",
            highlight=False,
        )
    else:
        for problem in result.problems or []:
            err.print(f"[red]{problem}[/]", highlight=False)
    if not result.ok:
        raise typer.Exit(int(Exit.FAILED))


@app.command("import")
def import_command(
    package: Annotated[Path, typer.Argument(help="The encrypted package (<town>-FY<year>.tar.gz.age).")],
    key: Annotated[Path, typer.Option("--key", help="The town's age private key (AGE-SECRET-KEY-1...).")],
    into: Annotated[str, typer.Option("--into", help="A new schema to load it into (it must not exist).")],
    env: EnvOption = "lab",
    as_json: JsonOption = False,
) -> None:
    """Load a package back, as a town leaving would: verified first, then every record read against its
    layout into a new schema on the database primary (one transaction), then compared with the town's
    own tables record for record (count and digest per table; the export's one change, half-width kana
    written full-width, applied to the source for the comparison).

    Exit 0 when every table is equal, 1 when one differs or the package does not verify, 2 on bad input
    (no such file, a malformed key, a schema that exists already: nothing is loaded then).
    """
    inventory, binding = binding_or_exit(env)
    if not package.is_file():
        fail(f"{package}: no such package")
    try:
        town_key = identity(key)
        layouts = load_layouts()
    except (TownKeyError, LayoutError) as error:
        fail(str(error))
    workdir = state_dir() / "handover" / ".ssh"
    with tempfile.TemporaryDirectory(prefix="municloud-import-") as tmp:
        verified = verify_package(package, town_key, layouts, Path(tmp))
        if not verified.ok or verified.folder is None:
            for problem in verified.problems or []:
                err.print(f"[red]{problem}[/]", highlight=False)
            fail(f"{package.name} does not verify: nothing was loaded", Exit.FAILED)
        try:
            with err.status(f"loading {verified.records:,} records into {into} ..."):
                result = import_package(inventory, binding, verified.folder, layouts, into, workdir)
        except ImportRefused as error:
            fail(f"nothing was loaded: {error}")
        except RuntimeError as error:
            fail(f"the import failed, nothing was loaded (one transaction): {error}", Exit.FAILED)
    if as_json:
        print_json(
            {
                "town": result.town,
                "schema": result.schema,
                "fiscal_year": result.fiscal_year,
                "equal": result.equal,
                "tables": [t.__dict__ for t in result.tables],
            }
        )
    else:
        table = Table(title=f"handover import: {result.town} FY{result.fiscal_year} into {result.schema}")
        for column in ("table", "source records", "imported records", "equal"):
            table.add_column(column)
        for t in result.tables:
            table.add_row(
                t.table, f"{t.source:,}", f"{t.imported:,}", "yes" if t.equal else "NO", style="" if t.equal else "red"
            )
        out.print(table)
    if not result.equal:
        raise typer.Exit(int(Exit.FAILED))


@app.command("deliver")
def deliver_command(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    fiscal_year: FiscalYearOption = None,
    out_dir: ReportRootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver each town's package (`handover package` first) over SFTP to the receiving account on the
    town's in-office server: the package, its checksum, the manifest and the 納品書. The server's host
    key is pinned; each town's own delivery key logs in to that town's server only. Every file is read
    back from the far side and checked before it takes its name; a cut transfer resumes, a re-run
    skips what is there and whole, and sends again what differs.

    Then writes the 年度末データ納品報告書 (HTML, PDF, JSON) into <root>/FY<year>/: the summary across
    towns, then per town (those that failed first, with why) every file with its records, size and
    SHA-256, the package and its SHA-256, the snapshot, when it was delivered and the far side's check.

    Exit 0 when every town's files are delivered and verified, 1 when a town failed (the others go on)
    or the report could not be written, 2 on bad input (an unknown town, a town with no package, a
    package that is another town's, a missing delivery key: nothing is delivered then).
    """
    inventory, binding = binding_or_exit(env)
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    packages = packages_dir(env, year)
    files = {t: package_files(packages, t, year) for t in chosen}
    missing = sorted({str(p) for t in chosen for p in files[t] if not p.exists()})
    if missing:
        fail(f"nothing was delivered: missing {', '.join(missing[:4])} (`handover package` makes them)")
    started = dt.datetime.now(CONTRACT_TZ)
    try:
        for town in chosen:
            check_package(town, files[town])
            check_access(binding, town)
    except DeliveryRefused as error:
        fail(f"nothing was delivered: {error}")
    results = _deliver(binding, files, year)
    report = _report(inventory, binding, chosen, year, results, {}, started)
    written, problem = _write_report(report, out_dir or reports_root(env))
    if as_json:
        print_json(
            {
                "fiscal_year": year,
                "ok": all(r.ok for r in results),
                "towns": [
                    {
                        "town": r.town,
                        "host": r.host,
                        "ok": r.ok,
                        "error": r.error,
                        "files": [f.__dict__ for f in r.files],
                        "seconds": round(r.seconds, 2),
                        "finished_at": r.finished_at.isoformat(timespec="seconds") if r.finished_at else None,
                    }
                    for r in results
                ],
                "report": _report_json(report, written, problem),
            }
        )
    else:
        _deliver_table(results, year)
        _report_written(written, problem)
    if not all(r.ok for r in results) or problem:
        raise typer.Exit(int(Exit.FAILED))


@app.command("run")
def run_command(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    fiscal_year: FiscalYearOption = None,
    out_dir: ReportRootOption = None,
    as_json: JsonOption = False,
) -> None:
    """The whole hand-over of a fiscal year in one run, as the schedule runs it (`--fiscal-year
    previous` on April 1st): export every town (all of the environment's without --town), package
    what was exported, deliver what was packaged, then write the 年度末データ納品報告書 (HTML, PDF,
    JSON) into <root>/FY<year>/. A town that fails at any step is left there with its reason (the
    report lists it first) and the others go on.

    Checked before anything is exported: the layouts, the towns, the fiscal year, every town's age
    public key and delivery key, the pinned host keys. Exit 0 when every town was delivered and
    verified, 1 when a town failed or the report could not be written, 2 on bad input (nothing is
    exported then).
    """
    inventory, binding = binding_or_exit(env)
    layouts = _layouts_or_exit("exported")
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    try:
        for town in chosen:
            check_access(binding, town)
    except DeliveryRefused as error:
        fail(f"nothing was exported: {error}")
    recipients = _recipients_or_exit(binding, chosen, "exported")
    started = dt.datetime.now(CONTRACT_TZ)
    root = _exports_root(env)
    exported = _export(inventory, binding, layouts, chosen, year, root)
    failures = {r.town: Failure("export", r.error or "") for r in exported if not r.ok}
    ok = [r.town for r in exported if r.ok]
    packages, failed = _package({t: recipients[t] for t in ok}, root / str(year), env, year) if ok else ([], {})
    failures |= {t: Failure("package", reason) for t, reason in failed.items()}
    files = {p.town: package_files(packages_dir(env, year), p.town, year) for p in packages}
    for town in list(files):
        try:
            check_package(town, files[town])
        except (DeliveryRefused, OSError) as error:
            failures[town] = Failure("delivery", str(error))
            del files[town]
    results = _deliver(binding, files, year) if files else []
    report = _report(inventory, binding, chosen, year, results, failures, started)
    written, problem = _write_report(report, out_dir or reports_root(env))
    if as_json:
        print_json(_report_json(report, written, problem))
    else:
        _run_table(report)
        _report_written(written, problem)
    if not report.ok or problem:
        raise typer.Exit(int(Exit.FAILED))


@app.command("schedule")
def schedule_command(
    env: EnvOption = "lab",
    out_dir: ReportRootOption = None,
    install: InstallOption = False,
    cron: CronOption = False,
) -> None:
    """Print (or --install) the yearly job: on April 1st at 06:00 JST, `handover run --fiscal-year
    previous` (the fiscal year that ended on March 31st exported, packaged and delivered, its report
    into <root>/FY<year>/), as a systemd timer (Persistent: run at boot when the host was down then)
    or, for hosts without systemd, a cron line."""
    folder = out_dir or reports_root(env)
    print_or_install(handover_job(env, folder), folder, install, cron)


# ---- the steps, shared by the commands and `run` ---------------------------------------------------------
def _exports_root(env: str) -> Path:
    return state_dir() / "handover" / env


def _layouts_or_exit(what: str) -> dict[str, Layout]:
    try:
        return load_layouts()
    except LayoutError as error:
        for problem in error.problems:
            err.print(str(problem), highlight=False, markup=False)
        fail(f"{len(error.problems)} problem(s) in the hand-over layouts: nothing was {what}")


def _recipients_or_exit(binding: EnvironmentBinding, towns: list[str], what: str) -> dict[str, x25519.Recipient]:
    keys = keys_dir(state_dir(), binding.name)
    try:
        return {t: recipient(keys, t, make_if_missing=binding.lab is not None) for t in towns}
    except TownKeyError as error:
        fail(f"nothing was {what}: {error}")


def _export(
    inventory: Inventory,
    binding: EnvironmentBinding,
    layouts: dict[str, Layout],
    towns: list[str],
    year: int,
    root: Path,
) -> list[TownExport]:
    with progress_bar(f"handover export FY{year}") as progress:
        return export(inventory, binding, layouts, towns, year, root, state_dir() / "handover" / ".ssh", progress)


def _package(
    recipients: dict[str, x25519.Recipient], exports: Path, env: str, year: int
) -> tuple[list[Package], dict[str, str]]:
    with progress_bar(f"handover package FY{year}") as progress:
        return package_towns(exports, recipients, packages_dir(env, year), progress)


def _deliver(binding: EnvironmentBinding, files: dict[str, list[Path]], year: int) -> list[TownDelivery]:
    with progress_bar(f"handover deliver FY{year}") as progress:
        return deliver(binding, files, progress)


def _report(
    inventory: Inventory,
    binding: EnvironmentBinding,
    towns: list[str],
    year: int,
    deliveries: list[TownDelivery],
    failures: dict[str, Failure],
    started: dt.datetime,
) -> HandoverReport:
    return build_report(
        fiscal_year=year,
        environment=binding.name,
        towns=[(t, inventory.town(t).name) for t in towns],
        packages=packages_dir(binding.name, year),
        deliveries=deliveries,
        failures=failures,
        started=started,
        finished=dt.datetime.now(CONTRACT_TZ),
        made_by=who_exports(),
        every_town=set(towns) == set(binding.towns),
    )


def _write_report(report: HandoverReport, root: Path) -> tuple[dict[str, Path], str | None]:
    """The report's files, or none and why (the deliveries stand; the command exits 1)."""
    try:
        return write_report(report, root), None
    except (DocumentError, OSError) as error:
        return {}, f"the report could not be written in {report_folder(root, report.fiscal_year)}: {error}"


def _report_json(report: HandoverReport, written: dict[str, Path], problem: str | None) -> dict[str, Any]:
    return {**report.to_json(), "files": {k: str(v) for k, v in written.items()}, "report_error": problem}


def _report_written(written: dict[str, Path], problem: str | None) -> None:
    if problem:
        err.print(f"[bold red]error:[/] {problem}", highlight=False)
    else:
        print_written(out, "年度末データ納品報告書 / hand-over report", written)


def _export_json(r: TownExport) -> dict[str, Any]:
    return {
        "town": r.town,
        "ok": r.ok,
        "error": r.error,
        "folder": str(r.folder),
        "snapshot": r.snapshot,
        "files": {w.path.name: {"records": w.rows, "bytes": w.bytes, "sha256": w.sha256} for _, w in r.files},
        "gaiji": r.gaiji,
        "seconds": round(r.seconds, 2),
    }


def _export_table(results: list[TownExport], year: int) -> None:
    table = Table(title=f"handover export: fiscal year {year}, {len(results)} towns")
    for column in ("town", "files", "records", "外字", "snapshot (WAL)", "seconds", "result"):
        table.add_column(column)
    for r in results:
        table.add_row(
            f"{r.town} {r.name}",
            str(len(r.files)),
            f"{sum(w.rows for _, w in r.files):,}",
            str(r.gaiji),
            r.snapshot.get("lsn", ""),
            f"{r.seconds:.1f}",
            "ok" if r.ok else f"FAILED: {r.error}",
            style="" if r.ok else "red",
        )
    out.print(table)


def _package_table(packages: list[Package], failed: dict[str, str], year: int) -> None:
    table = Table(title=f"handover package: fiscal year {year}")
    for column in ("town", "package", "size", "SHA-256", "納品書"):
        table.add_column(column)
    for p in packages:
        size = p.path.stat().st_size
        table.add_row(p.town, p.path.name, f"{size / 1e6:.1f} MB", p.sha256[:16] + "…", str(p.nouhinsho_pdf))
    for town, reason in failed.items():
        table.add_row(town, f"FAILED: {reason}", "", "", "", style="red")
    out.print(table)


def _deliver_table(results: list[TownDelivery], year: int) -> None:
    table = Table(title=f"handover deliver: fiscal year {year}")
    for column in ("town", "server", "files", "what was done", "seconds", "result"):
        table.add_column(column)
    for r in results:
        actions = sorted({f.action.split(" at ")[0] for f in r.files})
        table.add_row(
            r.town,
            r.host,
            str(len(r.files)),
            ", ".join(actions),
            f"{r.seconds:.1f}",
            "delivered, verified" if r.ok else f"FAILED: {r.error}",
            style="" if r.ok else "red",
        )
    out.print(table)


def _run_table(report: HandoverReport) -> None:
    """One line per town, those that failed first (as the report)."""
    table = Table(title=f"handover run: fiscal year {report.fiscal_year}, {len(report.towns)} towns")
    for column in ("town", "records", "package", "snapshot (WAL)", "delivered at", "result"):
        table.add_column(column, justify="right" if column in ("records", "package") else "left")
    for t in report.towns:
        failure = t.failure
        table.add_row(
            f"{t.town} {t.name}",
            f"{t.records:,}" if t.files else "",
            f"{t.package_bytes / 1e6:.1f} MB" if t.package_bytes is not None and t.ok else "",
            t.snapshot.get("lsn", ""),
            t.delivered_at or "",
            "delivered, verified" if failure is None else f"FAILED at {failure.stage}: {failure.reason}",
            style="" if failure is None else "red",
        )
    out.print(table)
    out.print(
        f"{len(report.delivered)} of {len(report.towns)} towns delivered, {report.records:,} records, "
        f"{report.bytes_delivered:,} bytes",
        highlight=False,
    )


def _towns_and_year(
    inventory: Inventory, binding: EnvironmentBinding, towns: list[str] | None, fiscal_year: str | None
) -> tuple[list[str], int]:
    """The towns asked for (all of the environment's by default) and the fiscal year (the current)."""
    with invalid_input_exits():
        chosen = [inventory.town(t).id for t in towns] if towns else list(binding.towns)
    unknown = [t for t in chosen if t not in binding.towns]
    if unknown:
        fail(f"not in environment {binding.name}: {', '.join(unknown)}")
    try:
        year = parse_fiscal_year(fiscal_year, dt.datetime.now(CONTRACT_TZ).date())
    except ValueError as error:
        fail(f"--fiscal-year: {error}")
    return chosen, year
