"""`municloud handover export`: per town, one consistent snapshot of its records written in every
layout (handover/layouts/), with a manifest.

The snapshot is one `REPEATABLE READ READ ONLY` transaction on the database primary, its WAL position
and time recorded: every file of a town comes from the same instant, whatever the service writes
meanwhile, and the export never changes the database. It runs as psql on the database server over
SSH (the operations center reaches the servers only so; the database listens to the app servers
alone), its `COPY ... TO STDOUT` streamed back and written a row at a time: memory does not grow
with the number of residents. A value the layout cannot take fails that town's export with the
record, the item and the value (handover/records.py), its files removed; the other towns go on.

Layout per town: <out>/<fiscal year>/<town>/
    <layout>-<record>.csv | .dat     one file per record type (CSV or fixed length)
    gaiji.csv                         外字一覧, when a layout keeps one and a character needed it
    manifest.json                     town, fiscal year, layouts and their versions, the snapshot,
                                      every file with its record count and SHA-256, who and when
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ
from residents.seeding import schema_of
from residents.synthetic import TABLES

from .database import Primary
from .layouts import Layout, Record
from .records import RecordValueError, RecordWriter, WrittenFile, write_gaiji_list

MARKER = "@@municloud"  # a row of its own between the COPY outputs (no record's first column starts so)
MANIFEST = "manifest.json"
GAIJI_FILE = "gaiji.csv"


@dataclass
class TownExport:
    town: str
    name: str
    fiscal_year: int
    folder: Path
    snapshot: dict[str, str] = field(default_factory=dict)  # host, lsn, time
    files: list[tuple[Layout, WrittenFile]] = field(default_factory=list)
    gaiji: int = 0
    normalised_kana: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def manifest(self, who: str, made_at: dt.datetime) -> dict[str, Any]:
        return {
            "town": self.town,
            "town_name": self.name,
            "fiscal_year": self.fiscal_year,
            "layouts": sorted({(lay.id, lay.name, lay.follows) for lay, _ in self.files}),
            "snapshot": self.snapshot,
            "files": [
                {
                    "file": w.path.name,
                    "layout": lay.id,
                    "record": w.record,
                    "format": lay.format,
                    "encoding": lay.encoding,
                    "records": w.rows,
                    "bytes": w.bytes,
                    "sha256": w.sha256,
                }
                for lay, w in self.files
            ],
            "gaiji": {"file": GAIJI_FILE, "characters": self.gaiji} if self.gaiji else None,
            "half_width_kana_written_full_width": self.normalised_kana,
            "made_by": who,
            "made_at": made_at.isoformat(),
        }


def export_script(town: str, fiscal_year: int, tables: list[str]) -> str:
    """psql script: one read-only snapshot; its position and time, then each table in key order."""
    schema = schema_of(town)
    lines = [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
        f"\\echo {MARKER} snapshot",
        "COPY (SELECT pg_current_wal_lsn()::text, now()::text) TO STDOUT (FORMAT csv);",
    ]
    for table in tables:
        columns = TABLES[table]
        where = f" WHERE fiscal_year = {int(fiscal_year)}" if "fiscal_year" in columns else ""
        order = ", ".join(columns[:2] if table in ("movements", "nhi_eligibility") else columns[:1])
        if table == "resident_tax":
            order = "resident_code"
        lines += [
            f"\\echo {MARKER} table {table}",
            f"COPY (SELECT {', '.join(columns)} FROM {schema}.{table}{where} ORDER BY {order}) TO STDOUT (FORMAT csv);",
        ]
    return "\n".join([*lines, "COMMIT;", ""])


def sections(rows: Iterator[list[str]]) -> Iterator[tuple[str, Iterator[list[str]]]]:
    """(section, its rows) from the stream: `snapshot`, then `table <name>` each."""
    pending: list[str] | None = None

    def body() -> Iterator[list[str]]:
        nonlocal pending
        for row in rows:
            if len(row) == 1 and row[0].startswith(MARKER + " "):
                pending = row
                return
            yield row

    for row in rows:
        if len(row) == 1 and row[0].startswith(MARKER + " "):
            pending = row
            break
    while pending is not None:
        name, pending = pending[0][len(MARKER) + 1 :], None
        part = body()
        yield name, part
        for _ in part:  # what the caller did not read
            pass


def export_town(
    inventory: Inventory,
    binding: EnvironmentBinding,
    layouts: dict[str, Layout],
    town: str,
    fiscal_year: int,
    out_root: Path,
    who: str,
    workdir: Path,
) -> TownExport:
    started = time.monotonic()
    folder = out_root / str(fiscal_year) / town
    result = TownExport(town, inventory.town(town).name, fiscal_year, folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    by_table: dict[str, list[tuple[Layout, Record]]] = {}
    for layout in layouts.values():
        for record in layout.records:
            by_table.setdefault(record.source, []).append((layout, record))
    primary = Primary(inventory, binding, workdir)
    host = primary.host
    process = primary.popen()
    writers: list[tuple[Layout, RecordWriter]] = []
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(export_script(town, fiscal_year, list(by_table)).encode("utf-8"))
        process.stdin.close()
        # CSV's own line handling (a quoted field may hold a newline): no newline translation
        stream = io.TextIOWrapper(process.stdout, encoding="utf-8", newline="")
        for section, rows in sections(csv.reader(stream)):
            if section == "snapshot":
                lsn, at = next(rows)
                result.snapshot = {"host": host.name, "lsn": lsn, "time": at}
                continue
            table = section.removeprefix("table ")
            writers = [
                (layout, RecordWriter(layout, record, folder / f"{layout.id}-{record.id}.{_suffix(layout)}"))
                for layout, record in by_table[table]
            ]
            columns = TABLES[table]
            for row in rows:
                values = dict(zip(columns, (v if v != "" else None for v in row), strict=True))
                for _, writer in writers:
                    writer.add(values)
            result.files += [(layout, writer.close()) for layout, writer in writers]
            writers = []
        errors = process.stderr.read() if process.stderr else b""
        process.wait(timeout=60)
        if process.returncode != 0:
            raise primary.failed(errors)
        if not result.snapshot:
            raise RuntimeError(f"no snapshot from {host.name}")
    except (RecordValueError, RuntimeError, OSError, ValueError) as error:
        for _, writer in writers:
            writer.abort()
        if process.poll() is None:
            process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)
        result.error = str(error)
        result.files = []
        result.seconds = time.monotonic() - started
        return result
    gaiji = [g for _, w in result.files for g in w.gaiji]
    if gaiji:
        write_gaiji_list(gaiji, folder / GAIJI_FILE)
    result.gaiji = len(gaiji)
    result.normalised_kana = sum(w.normalised_kana for _, w in result.files)
    made_at = dt.datetime.now(CONTRACT_TZ)
    (folder / MANIFEST).write_text(
        json.dumps(result.manifest(who, made_at), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    result.seconds = time.monotonic() - started
    return result


def _suffix(layout: Layout) -> str:
    return "csv" if layout.format == "csv" else "dat"


def who_exports() -> str:
    return f"{os.environ.get('SUDO_USER') or getpass.getuser()}@{socket.gethostname()}"


def export(
    inventory: Inventory,
    binding: EnvironmentBinding,
    layouts: dict[str, Layout],
    towns: list[str],
    fiscal_year: int,
    out_root: Path,
    workdir: Path,
    progress: Callable[[str, int, int], None] = lambda what, done, total: None,
) -> list[TownExport]:
    """Every town in turn (one snapshot each); a town that fails is reported and the others go on."""
    who = who_exports()
    results = []
    workdir.mkdir(parents=True, exist_ok=True)
    for i, town in enumerate(towns):
        progress(town, i, len(towns))
        results.append(export_town(inventory, binding, layouts, town, fiscal_year, out_root, who, workdir))
    progress("done", len(towns), len(towns))
    return results


def fiscal_year_of(day: dt.date) -> int:
    """Japan's fiscal year: April to March (2027-03-31 is in fiscal year 2026)."""
    return day.year if day.month >= 4 else day.year - 1


FIRST_FISCAL_YEAR = 2000


def parse_fiscal_year(text: str | None, today: dt.date) -> int:
    """A fiscal year as asked for: YYYY (the year its April is in), `current` (also when none is given)
    or `previous` (the one that ended last March: what the hand-over delivers after the 31st).
    ValueError naming the rule otherwise: not such a word, before 2000, not begun yet."""
    current = fiscal_year_of(today)
    word = (text or "current").strip().lower()
    if word == "current":
        return current
    if word == "previous":
        return current - 1
    if not (word.isascii() and word.isdigit() and len(word) == 4):
        raise ValueError(
            f"fiscal year {text!r}: give YYYY (the year its April is in: 2026 is April 2026 to March 2027), "
            "'current' or 'previous'"
        )
    year = int(word)
    if year < FIRST_FISCAL_YEAR:
        raise ValueError(f"fiscal year {year}: before {FIRST_FISCAL_YEAR}, no hand-over covers it")
    if year > current:
        raise ValueError(
            f"fiscal year {year}: has not begun (the current one is {current}, April {current} to March {current + 1})"
        )
    return year
