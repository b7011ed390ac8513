"""`municloud handover ...`: the fiscal-year data hand-over (年度末データ納品)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from handover.delivery import DeliveryRefused, deliver_town, package_files
from handover.export import export, fiscal_year_of
from handover.importing import ImportRefused, import_package
from handover.layouts import LayoutError, load_layouts
from handover.package import (
    TownKeyError,
    identity,
    keys_dir,
    package_town,
    packages_dir,
    recipient,
    verify_package,
)
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ
from toolkit.documents import DocumentError
from toolkit.settings import state_dir

from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json, progress_bar
from .options import EnvOption, JsonOption, TownsOption

FiscalYearOption = Annotated[
    int | None,
    typer.Option("--fiscal-year", min=2000, max=2100, help="The fiscal year (April-March); default: the current."),
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
    try:
        layouts = load_layouts()
    except LayoutError as error:
        for problem in error.problems:
            err.print(str(problem), highlight=False, markup=False)
        fail(f"{len(error.problems)} problem(s) in the hand-over layouts: nothing was exported")
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    root = out_dir or state_dir() / "handover" / env
    with progress_bar(f"handover export FY{year}") as progress:
        results = export(inventory, binding, layouts, chosen, year, root, state_dir() / "handover" / ".ssh", progress)
    if as_json:
        print_json(
            {
                "fiscal_year": year,
                "ok": all(r.ok for r in results),
                "towns": [
                    {
                        "town": r.town,
                        "ok": r.ok,
                        "error": r.error,
                        "folder": str(r.folder),
                        "snapshot": r.snapshot,
                        "files": {w.path.name: {"records": w.rows, "sha256": w.sha256} for _, w in r.files},
                        "gaiji": r.gaiji,
                        "seconds": round(r.seconds, 2),
                    }
                    for r in results
                ],
            }
        )
    else:
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
    exports = state_dir() / "handover" / env / str(year)
    keys = keys_dir(state_dir(), env)
    missing = [t for t in chosen if not (exports / t / "manifest.json").exists()]
    if missing:
        fail(f"no export of fiscal year {year} for {', '.join(missing)} under {exports}: run `handover export`")
    try:
        recipients = {t: recipient(keys, t, make_if_missing=binding.lab is not None) for t in chosen}
    except TownKeyError as error:
        fail(f"nothing was packaged: {error}")
    packages, failed = [], {}
    with progress_bar(f"handover package FY{year}") as progress:
        for i, town in enumerate(chosen):
            progress(town, i, len(chosen))
            try:
                packages.append(package_town(exports / town, recipients[town], packages_dir(env, year)))
            except (OSError, DocumentError) as error:
                failed[town] = str(error)
        progress("done", len(chosen), len(chosen))
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
        table = Table(title=f"handover package: fiscal year {year}")
        for column in ("town", "package", "size", "SHA-256", "納品書"):
            table.add_column(column)
        for p in packages:
            size = p.path.stat().st_size
            table.add_row(p.town, p.path.name, f"{size / 1e6:.1f} MB", p.sha256[:16] + "…", str(p.nouhinsho_pdf))
        for town, reason in failed.items():
            table.add_row(town, f"FAILED: {reason}", "", "", "", style="red")
        out.print(table)
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
    as_json: JsonOption = False,
) -> None:
    """Deliver each town's package (`handover package` first) over SFTP to the receiving account on the
    town's in-office server: the package, its checksum, the manifest and the 納品書. The server's host
    key is pinned; each town's own delivery key logs in to that town's server only. Every file is read
    back from the far side and checked before it takes its name; a cut transfer resumes, a re-run
    skips what is there and whole, and sends again what differs.

    Exit 0 when every town's files are delivered and verified, 1 when a town failed (the others go on),
    2 on bad input (an unknown town, a town with no package, a package that is another town's).
    """
    inventory, binding = binding_or_exit(env)
    chosen, year = _towns_and_year(inventory, binding, towns, fiscal_year)
    packages = packages_dir(env, year)
    files = {t: package_files(packages, t, year) for t in chosen}
    missing = sorted({str(p) for t in chosen for p in files[t] if not p.exists()})
    if missing:
        fail(f"nothing was delivered: missing {', '.join(missing[:4])} (`handover package` makes them)")
    results = []
    total = sum(p.stat().st_size for t in chosen for p in files[t])
    with progress_bar(f"handover deliver FY{year}") as progress:
        sent = 0

        def moved(n: int) -> None:
            nonlocal sent
            sent += n
            progress("sending", sent, max(total, sent))

        for town in chosen:
            try:
                results.append(deliver_town(binding, town, files[town], moved))
            except DeliveryRefused as error:
                fail(f"{town}: {error}")
        progress("done", total, total)
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
                    }
                    for r in results
                ],
            }
        )
    else:
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
    if not all(r.ok for r in results):
        raise typer.Exit(int(Exit.FAILED))


def _towns_and_year(
    inventory: Inventory, binding: EnvironmentBinding, towns: list[str] | None, fiscal_year: int | None
) -> tuple[list[str], int]:
    """The towns asked for (all of the environment's by default) and the fiscal year (the current)."""
    with invalid_input_exits():
        chosen = [inventory.town(t).id for t in towns] if towns else list(binding.towns)
    unknown = [t for t in chosen if t not in binding.towns]
    if unknown:
        fail(f"not in environment {binding.name}: {', '.join(unknown)}")
    return chosen, fiscal_year or fiscal_year_of(dt.datetime.now(CONTRACT_TZ).date())
