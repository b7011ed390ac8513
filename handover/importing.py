"""`municloud handover import`: a verified package loaded back into a new, empty schema, then compared
with the town's own tables record for record: the proof that a town could really leave with it.

The package's records are read against their layouts (reading.py) and streamed into psql on the
database primary over SSH (`COPY ... FROM STDIN` in one transaction: the schema holds all of them or
does not exist). The comparison runs in the database: per table the count and an MD5 over every
record in order, the source's half-width kana written full-width as the export writes them (its
one transformation, NFKC), the 個人住民税 of the package's fiscal year only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from residents.seeding import schema_of
from residents.synthetic import TABLES, schema_sql

from .database import Primary
from .export import GAIJI_FILE, MANIFEST
from .layouts import Layout
from .reading import read_gaiji_list, read_records

SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
APP_ROLE = "business_app"  # the tables belong to the service's role, as the tenants' do
NULL = "\\N"  # what a missing value reads as in the comparison


class ImportRefused(ValueError):
    """The target schema is not a new one, or the package does not match this environment."""


@dataclass
class TableComparison:
    table: str
    source: int
    imported: int
    equal: bool


@dataclass
class ImportResult:
    town: str
    schema: str
    fiscal_year: int
    tables: list[TableComparison] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return bool(self.tables) and all(t.equal for t in self.tables)


def _kana_columns(layouts: dict[str, Layout]) -> set[tuple[str, str]]:
    return {(r.source, i.column) for lay in layouts.values() for r in lay.records for i in r.items if i.type == "kana"}


def import_script_head(schema: str) -> str:
    return "\n".join(
        [
            "\\set ON_ERROR_STOP on",
            "BEGIN;",
            f"CREATE SCHEMA {schema} AUTHORIZATION {APP_ROLE};",
            f"SET LOCAL ROLE {APP_ROLE};",
            schema_sql(schema),
            "RESET ROLE;",
            "",
        ]
    )


def comparison_query(town: str, schema: str, fiscal_year: int, kana: set[tuple[str, str]]) -> str:
    """Per table: the source's count and digest, the import's count and digest (CSV, one row each)."""

    def digest(source: str, table: str, normalised: bool) -> str:
        parts = []
        for column in TABLES[table]:
            value = f"{column}::text"
            if normalised and (table, column) in kana:
                value = f"normalize({column}, NFKC)"
            parts.append(f"coalesce({value}, '{NULL}')")
        where = f" WHERE fiscal_year = {int(fiscal_year)}" if "fiscal_year" in TABLES[table] else ""
        row = " || '|' || ".join(parts)
        return (
            f"(SELECT count(*) FROM {source}.{table}{where}), "
            f"(SELECT md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) FROM "
            f"(SELECT {row} AS r FROM {source}.{table}{where}) x)"
        )

    source = schema_of(town)
    selects = [f"SELECT '{table}', {digest(source, table, True)}, {digest(schema, table, False)}" for table in TABLES]
    return "COPY (" + " UNION ALL ".join(selects) + ") TO STDOUT (FORMAT csv);"


def import_package(
    inventory: Inventory,
    binding: EnvironmentBinding,
    folder: Path,
    layouts: dict[str, Layout],
    schema: str,
    workdir: Path,
) -> ImportResult:
    """Load the opened package in `folder` into the new schema `schema`, then compare."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    town, year = manifest["town"], manifest["fiscal_year"]
    if not SCHEMA_NAME.match(schema) or schema.startswith(("town_", "pg_")) or schema == "public":
        raise ImportRefused(f"'{schema}': the import goes into a new schema of its own (lower case, not town_*)")
    if town not in binding.towns:
        raise ImportRefused(f"the package is {town}'s, which environment {binding.name} does not have")
    primary = Primary(inventory, binding, workdir)
    exists = primary.run(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'")
    if exists.strip() != "0":
        raise ImportRefused(f"schema {schema} exists already: the import goes into a new, empty schema")
    gaiji = read_gaiji_list(folder / GAIJI_FILE)
    by_table: dict[str, list[tuple[Layout, object]]] = {}
    for entry in manifest["files"]:
        layout = layouts[entry["layout"]]
        record = next(r for r in layout.records if r.id == entry["record"])
        by_table.setdefault(record.source, []).append((layout, record))

    with primary.session() as psql:
        psql.write(import_script_head(schema))
        for table, columns in TABLES.items():
            for layout, record in by_table.get(table, []):
                path = folder / next(
                    e["file"] for e in manifest["files"] if (e["layout"], e["record"]) == (layout.id, record.id)
                )
                psql.write(f"COPY {schema}.{table} ({', '.join(columns)}) FROM STDIN (FORMAT csv);\n")
                line = io.StringIO()
                writer = csv.writer(line, lineterminator="\n")
                for row in read_records(layout, record, path, gaiji):  # type: ignore[arg-type]
                    line.seek(0)
                    line.truncate()
                    writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
                    psql.write(line.getvalue())
                psql.write("\\.\n")
        psql.write("COMMIT;\n")
    result = ImportResult(town, schema, year)
    answer = primary.run(comparison_query(town, schema, year, _kana_columns(layouts)))
    for table, source_count, source_md5, imported_count, imported_md5 in csv.reader(io.StringIO(answer)):
        result.tables.append(
            TableComparison(
                table,
                int(source_count),
                int(imported_count),
                (source_count, source_md5) == (imported_count, imported_md5),
            )
        )
    return result
