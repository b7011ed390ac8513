"""Reading a layout's files back: every record parsed against its layout, each item to the value of
its column (a 和暦 date to its date, a fixed-length field without its padding, a 〓 restored from the
外字 list). What `handover verify` checks a package with and `handover import` loads it with.

A record that does not fit (another number of fields or bytes, a value its type refuses, a code not
in its table, a required item empty) raises `RecordValueError` naming the file's record number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from residents.synthetic import codes

from .layouts import Item, Layout, Record
from .records import GETA, RecordValueError


@cache
def _era_starts() -> dict[str, dt.date]:
    return {k: dt.date.fromisoformat(str(v["first_day"])) for k, v in codes()["era"].items()}


def from_wareki(text: str) -> dt.date:
    """05010501 is 2019-05-01 (令和元年5月1日); a date before its era's first day is refused."""
    if len(text) != 8 or not text.isdigit() or text[:2] not in _era_starts():
        raise ValueError(f"not a GGYYMMDD date with a known era code: {text!r}")
    first = _era_starts()[text[:2]]
    day = dt.date(first.year + int(text[2:4]) - 1, int(text[4:6]), int(text[6:8]))
    if day < first:
        raise ValueError(f"{text}: before the first day of its era ({first})")
    return day


def read_records(
    layout: Layout, record: Record, path: Path, gaiji: dict[tuple[str, str], list[str]] | None = None
) -> Iterator[dict[str, str | None]]:
    """The records of `path` as {column: value or None}, in file order. `gaiji`: (key, item) -> the
    characters the 外字 list gives for that item's 〓 marks, in order."""
    tables = codes()
    key_items = [i for c in record.key_columns for i in record.items if i.column == c]

    def parse(n: int, fields: list[str]) -> dict[str, str | None]:
        if len(fields) != len(record.items):
            raise RecordValueError(record.name, f"record {n}", "*", len(fields), f"{len(record.items)} fields expected")
        key = "/".join(fields[record.items.index(i)].strip() for i in key_items)
        row: dict[str, str | None] = {}
        for item, raw in zip(record.items, fields, strict=True):
            row[item.column] = _value(item, raw, record, key, tables, gaiji)
        return row

    data = path.read_bytes()
    if layout.format == "csv":
        rows = csv.reader(data.decode(layout.encoding).splitlines(keepends=True))
        if layout.header:
            header = next(rows, [])
            if header != [item.name for item in record.items]:
                raise RecordValueError(record.name, "header", "*", header, "not the layout's item names")
        for n, fields in enumerate(rows, start=1):
            yield parse(n, fields)
        return
    widths = [item.width(layout.encoding) for item in record.items]
    for n, line in enumerate(data.split(b"\r\n"), start=1):
        if not line:
            continue
        if len(line) != sum(widths):
            raise RecordValueError(record.name, f"record {n}", "*", len(line), f"{sum(widths)} bytes expected")
        fields, at = [], 0
        for width in widths:
            fields.append(line[at : at + width].decode(layout.encoding).rstrip(" "))
            at += width
        yield parse(n, fields)


def _value(
    item: Item,
    raw: str,
    record: Record,
    key: str,
    tables: dict,
    gaiji: dict[tuple[str, str], list[str]] | None,
) -> str | None:
    def refuse(reason: str) -> RecordValueError:
        return RecordValueError(record.name, key, item.name, raw, reason)

    if raw == "":
        if item.required:
            raise refuse("required, but empty")
        return None
    if item.type in ("digits", "integer"):
        digits = raw[1:] if item.type == "integer" and raw.startswith("-") else raw
        if not (digits.isascii() and digits.isdigit()):
            raise refuse("not a number")
        return raw
    if item.type in ("wareki", "date"):
        try:
            day = from_wareki(raw) if item.type == "wareki" else dt.datetime.strptime(raw, "%Y%m%d").date()
        except ValueError as error:
            raise refuse(str(error)) from None
        return day.isoformat()
    if item.type == "code" and raw not in tables[str(item.codes)]:
        raise refuse(f"not in the code table {item.codes}")
    if GETA in raw and gaiji:
        listed = list(gaiji.get((key, item.name), []))
        raw = "".join(listed.pop(0) if ch == GETA and listed else ch for ch in raw)
    return raw


def read_gaiji_list(path: Path) -> dict[tuple[str, str], list[str]]:
    """The 外字 list (handover/records.py's write_gaiji_list) as (key, item) -> characters in order."""
    found: dict[tuple[str, str], list[str]] = {}
    if not path.exists():
        return found
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        for _record, key, item, character, _codepoint in rows:
            found.setdefault((key, item), []).append(character)
    return found
