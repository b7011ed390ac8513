"""`municloud drill ...`: the BCP drills. `report` turns drill journals into the drill reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bcp_drills.journal import Journal, JournalError, read_journal
from bcp_drills.report import render_annual, render_drill
from bcp_drills.report.render import drill_stem
from bcp_drills.verdicts import verdict_label
from inventory.problems import InventoryError
from toolkit.documents import DocumentError

from ..checks import load_inventory
from .common import Exit, err, fail, out, print_json
from .drill_run_cmd import list_scenarios, run
from .options import JsonOption

app = typer.Typer(
    help=(
        "BCP drills (BCP訓練): scripted failovers with measured RTO and RPO, guaranteed fail-back, "
        "and the drill reports."
    ),
    no_args_is_help=True,
)
app.command("list")(list_scenarios)
app.command("run")(run)


def _system_names() -> dict[str, str]:
    """The systems' Japanese names from the inventory; ids (said on stderr) when it does not load."""
    try:
        return {system.id: system.name for system in load_inventory().systems}
    except InventoryError as error:
        err.print(
            f"[yellow]note:[/] the inventory has {len(error.problems)} problem(s): systems are shown by their ids",
            highlight=False,
        )
        return {}


def _read_all(paths: list[Path]) -> list[tuple[Path, dict[str, Any], Journal]]:
    """Every journal, or every problem of every bad one on stderr and exit 2 (nothing written)."""
    journals, problems = [], []
    for path in paths:
        try:
            data, model = read_journal(path)
        except JournalError as error:
            problems += error.problems
        else:
            journals.append((path, data, model))
    if problems:
        for problem in problems:
            err.print(problem, highlight=False, markup=False, soft_wrap=True)
        bad = len({p.split(": ", 1)[0] for p in problems})
        fail(f"{bad} of {len(paths)} file(s) are not usable drill journals; no report was written")
    return journals


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


@app.command("report")
def report(
    journals: Annotated[
        list[Path],
        typer.Argument(
            help="Drill journals (JSON, as `drill run` writes them). One: its report; several: the annual report too.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where to write the reports (made if missing).")] = Path(
        "drill-reports"
    ),
    as_json: JsonOption = False,
) -> None:
    """Write each journal's drill report (HTML, PDF, JSON); given several, the annual report too.

    The drill report (BCP訓練報告): per town and system the RTO and RPO target against the actual
    with pass or fail, a chart of outage per town, the timeline of every step (who or what
    performed it), the observations and the verdict (合格 passed / 指摘事項あり合格 passed with
    findings / 不合格 failed).

    Given several journals, also the annual report (年間BCP訓練報告) over all of them: per scenario its
    runs, per town the worst and median outage across drills and whether the targets were met, every
    observation, an overall verdict. Dry runs are listed but not counted in the figures.

    Exit 0 when every report was written, 1 when one could not be (a missing font, an unwritable
    folder), 2 when a file is not a readable drill journal (nothing is written then).
    """
    read = _read_all(journals)
    names = _system_names()
    stems = _unique([drill_stem(model) for _, _, model in read])
    names_of_files = [path.name for path, _, _ in read]
    # each journal named by its file, unless the files share a name (journal.json in a folder per drill)
    labels = _unique(names_of_files) if len(set(names_of_files)) == len(names_of_files) else stems
    written: list[tuple[str, str, str, Path]] = []
    try:
        for (path, data, model), stem in zip(read, stems, strict=True):
            paths = render_drill(data, out_dir, names, stem=stem)
            written += [(path.name, verdict_label(model.municloud.verdict), kind, p) for kind, p in paths.items()]
        if len(read) > 1:
            paths = render_annual([data for _, data, _ in read], out_dir, names, labels=labels)
            verdict = _annual_verdict(paths["json"])
            written += [(f"annual ({len(read)} drills)", verdict, kind, p) for kind, p in paths.items()]
    except (DocumentError, OSError) as error:
        _summary(written, as_json)
        fail(f"the report could not be written: {error}", Exit.FAILED)
    _summary(written, as_json)


def _annual_verdict(json_path: Path) -> str:
    """The annual verdict, as the report's JSON says it."""
    return verdict_label(json.loads(json_path.read_text(encoding="utf-8"))["verdict"])


def _summary(written: list[tuple[str, str, str, Path]], as_json: bool = False) -> None:
    if as_json:  # one entry per report, its files by kind (html, pdf, json)
        reports: dict[str, dict] = {}
        for _source, verdict, kind, path in written:
            # one entry per report, named by its files' stem (drill-<scenario>-<start>, or the annual
            # report's): the journals' own names may all be journal.json
            stem = path.stem.removesuffix("-outage")  # the chart is <stem>-outage.png
            entry = reports.setdefault(stem, {"what": stem, "verdict": verdict, "files": {}})
            entry["files"][kind] = str(path)
        print_json({"reports": list(reports.values())})
        return
    table = Table(title="drill reports written", title_justify="left")
    for column in ("report of", "verdict", "kind", "file"):
        table.add_column(column)
    for source, verdict, kind, path in written:
        table.add_row(source, verdict, kind, str(path))
    out.print(table)
