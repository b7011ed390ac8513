"""`municloud handover ...`: the fiscal-year data hand-over (年度末データ納品)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from handover.export import export, fiscal_year_of
from handover.layouts import LayoutError, load_layouts
from inventory.model.sla import CONTRACT_TZ
from toolkit.settings import state_dir

from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json, progress_bar
from .options import EnvOption, JsonOption, TownsOption

app = typer.Typer(
    help="The fiscal-year data hand-over (年度末データ納品): every town's records in the intermediate standard "
    "layout (中間標準レイアウト; the layouts are data in handover/layouts/), one consistent snapshot per town.",
    no_args_is_help=True,
)


@app.command("export")
def export_command(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    fiscal_year: Annotated[
        int | None,
        typer.Option("--fiscal-year", min=2000, max=2100, help="The fiscal year (April-March); default: the current."),
    ] = None,
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
    with invalid_input_exits():
        chosen = [inventory.town(t).id for t in towns] if towns else list(binding.towns)
    unknown = [t for t in chosen if t not in binding.towns]
    if unknown:
        fail(f"not in environment {env}: {', '.join(unknown)}")
    year = fiscal_year or fiscal_year_of(dt.datetime.now(CONTRACT_TZ).date())
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
