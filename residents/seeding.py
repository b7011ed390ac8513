"""Loading a synthetic dataset into the tenants' schemas: the files `synthetic.generate` writes, kept
once per dataset on the operations machine, and per town the SQL that loads them on the database
primary in one transaction (its tables created, emptied, filled with COPY, the dataset recorded), so
that a town holds either the whole dataset or what it held before."""

from __future__ import annotations

import shutil
from pathlib import Path

from .synthetic import TABLES, Dataset, generate, schema_sql

COMPLETE = "complete"  # written last: a folder without it was cut short and is made again


def schema_of(town: str) -> str:
    """A town's schema (the postgresql role's and the service's rule)."""
    return "town_" + town.replace("-", "_")


def load_sql(town: str, app_role: str, remote_dir: str, fingerprint: str, residents: int) -> str:
    """psql script: one town's records from the gzip'd CSV files in `remote_dir` on the database
    host. The tables belong to the service's role (`app_role`); COPY runs as the superuser."""
    schema = schema_of(town)
    copies = [
        f"COPY {schema}.{table} ({', '.join(columns)}) "
        f"FROM PROGRAM 'gzip -dc {remote_dir}/{table}.csv.gz' (FORMAT csv);"
        for table, columns in TABLES.items()
    ]
    emptied = ", ".join(f"{schema}.{t}" for t in [*reversed(TABLES), "seed"])
    return "\n".join(
        [
            "\\set ON_ERROR_STOP on",
            "BEGIN;",
            f"SET LOCAL ROLE {app_role};",
            schema_sql(schema),
            "RESET ROLE;",
            f"TRUNCATE {emptied};",
            *copies,
            f"INSERT INTO {schema}.seed (dataset, residents) VALUES ('{fingerprint}', {int(residents)});",
            "COMMIT;",
            *(f"ANALYZE {schema}.{t};" for t in TABLES),
            "",
        ]
    )


def loaded_query(towns: list[str], fingerprint: str) -> str:
    """SQL answering the towns (comma-separated) whose schema holds exactly this dataset."""
    values = ", ".join(f"('{t}', '{schema_of(t)}')" for t in towns)
    return (
        "SELECT coalesce(string_agg(town, ','), '') FROM (VALUES "
        + values
        + ") v(town, s) WHERE to_regclass(s || '.seed') IS NOT NULL AND query_to_xml(format("
        + f"'SELECT 1 FROM %I.seed WHERE dataset = %L', s, '{fingerprint}'), false, true, '')::text <> ''"
    )


def dataset_files(data: Dataset, root: Path, app_role: str, remote_root: str) -> Path:
    """The dataset's folder under `root` (<root>/<fingerprint>/<town>/{<table>.csv.gz, load.sql}),
    generated once and reused; older datasets' folders are removed (each holds a population)."""
    folder = root / data.fingerprint
    if not (folder / COMPLETE).exists():
        partial = root / f"{data.fingerprint}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        root.chmod(0o700)
        generate(data, partial)
        for town in data.towns:
            sql = load_sql(town.id, app_role, f"{remote_root}/{town.id}", data.fingerprint, town.residents)
            (partial / town.id / "load.sql").write_text(sql, encoding="utf-8")
        (partial / COMPLETE).write_text(data.fingerprint + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    for other in root.iterdir():
        if other.name != data.fingerprint:
            shutil.rmtree(other, ignore_errors=True)
    return folder
