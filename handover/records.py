"""Writing one record type of a layout: each row's items formatted and checked, then written as CSV
or fixed-length records in the layout's encoding, streaming (memory does not grow with the rows).

Nothing is replaced or cut silently. A value that breaks the layout (too many digits, not digits, a
code not in its table, a required item empty, a date that is not one) fails the record with
`RecordValueError`, naming the record (its key), the item and the value. A character the layout's
encoding lacks (CP932 has no 𠮷) fails it the same way, unless the layout keeps a 外字 list: then
the character is written as 〓 (the geta mark, the usual stand-in) and listed beside the files with
the record, the item and the character, so the receiving system can restore it. Half-width kana
(ｻﾄｳ, as old systems kept them) in a kana item is written full-width (サトウ), and counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from residents.synthetic import codes

from .layouts import Item, Layout, Record

GETA = "〓"  # written for a 外字 the encoding lacks, when the layout keeps a 外字 list
_HALFWIDTH_KANA = range(0xFF61, 0xFFA0)


class RecordValueError(ValueError):
    """A value that cannot be written in the layout: the record, the item, the value, why."""

    def __init__(self, record: str, key: str, item: str, value: object, reason: str) -> None:
        super().__init__(f"{record} {key}: {item} = {value!r}: {reason}")
        self.record, self.key, self.item, self.value, self.reason = record, key, item, value, reason


@dataclass(frozen=True)
class Gaiji:
    """One character the encoding lacks, kept in the 外字 list."""

    record: str
    key: str
    item: str
    character: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.character):04X}"


@dataclass
class WrittenFile:
    path: Path
    record: str
    rows: int = 0
    sha256: str = ""
    bytes: int = 0
    gaiji: list[Gaiji] = field(default_factory=list)
    normalised_kana: int = 0  # half-width kana values written full-width


@cache
def _eras() -> list[tuple[dt.date, str]]:
    """(first day, two-digit 年号コード), newest first."""
    table = codes()["era"]
    return sorted(((dt.date.fromisoformat(str(v["first_day"])), k) for k, v in table.items()), reverse=True)


def wareki(day: dt.date) -> str:
    """GGYYMMDD: 2019-05-01 is 05010501 (令和元年), 2019-04-30 is 04310430 (平成31年)."""
    for first, era in _eras():
        if day >= first:
            return f"{era}{day.year - first.year + 1:02d}{day.month:02d}{day.day:02d}"
    raise ValueError(f"{day} is before the first era in the code table")


class _Formatter:
    def __init__(self, layout: Layout, record: Record, written: WrittenFile) -> None:
        self.layout = layout
        self.record = record
        self.written = written
        self.tables = codes()

    def row(self, row: Mapping[str, object]) -> list[str]:
        key = "/".join(str(row.get(k)) for k in self.record.key_columns)
        return [self.value(item, row.get(item.column), key) for item in self.record.items]

    def value(self, item: Item, raw: object, key: str) -> str:
        def refuse(reason: str) -> RecordValueError:
            return RecordValueError(self.record.name, key, item.name, raw, reason)

        if raw is None or raw == "":
            if item.required:
                raise refuse("required, but empty")
            return ""
        text = str(raw)
        if item.type in ("digits", "integer"):
            digits = text[1:] if item.type == "integer" and text.startswith("-") else text
            if not digits.isascii() or not digits.isdigit():
                raise refuse("not a number")
            if item.digits is not None and len(digits) > item.digits:
                raise refuse(f"{len(digits)} digits, the layout allows {item.digits}")
            return text
        if item.type in ("wareki", "date"):
            try:
                day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(text)
                return wareki(day) if item.type == "wareki" else day.strftime("%Y%m%d")
            except ValueError as error:
                raise refuse(f"not a date ({error})") from None
        if item.type == "code":
            if text not in self.tables[str(item.codes)]:
                raise refuse(f"not in the code table {item.codes} ({', '.join(self.tables[str(item.codes)])})")
            return text
        if item.type == "kana" and any(ord(c) in _HALFWIDTH_KANA for c in text):
            text = unicodedata.normalize("NFKC", text)
            self.written.normalised_kana += 1
        if item.digits is not None and len(text) > item.digits:
            raise refuse(f"{len(text)} characters, the layout allows {item.digits}")
        return self.encodable(item, text, key, refuse)

    def encodable(self, item: Item, text: str, key: str, refuse) -> str:  # type: ignore[no-untyped-def]
        encoding = self.layout.encoding
        try:
            text.encode(encoding)
            return text
        except UnicodeEncodeError:
            pass
        out = []
        for ch in text:
            try:
                ch.encode(encoding)
                out.append(ch)
            except UnicodeEncodeError:
                if self.layout.gaiji != "list":
                    raise refuse(f"{ch} (U+{ord(ch):04X}) cannot be written in {encoding}") from None
                self.written.gaiji.append(Gaiji(self.record.name, key, item.name, ch))
                out.append(GETA)
        return "".join(out)


def _fixed(layout: Layout, record: Record, values: list[str]) -> bytes:
    out = bytearray()
    for item, value in zip(record.items, values, strict=True):
        data = value.encode(layout.encoding)
        width = item.width(layout.encoding)
        if len(data) > width:  # the digits were checked: only a wide text can get here
            raise RecordValueError(record.name, "?", item.name, value, f"{len(data)} bytes, the field has {width}")
        pad = width - len(data)
        numeric = item.type in ("digits", "integer")
        out += (b"0" * pad + data) if numeric and value else (data + b" " * pad)
    return bytes(out) + b"\r\n"


class RecordWriter:
    """One record type's file, written a row at a time (the export feeds several from one stream).
    `close()` finishes it; `abort()` removes it: never a half-written file beside the good ones."""

    def __init__(self, layout: Layout, record: Record, path: Path) -> None:
        self.layout = layout
        self.record = record
        self.written = WrittenFile(path, record.id)
        self._formatter = _Formatter(layout, record, self.written)
        self._digest = hashlib.sha256()
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\r\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("wb")
        if layout.format == "csv" and layout.header:
            self._emit(self._csv_row([item.name for item in record.items]))

    def _emit(self, data: bytes) -> None:
        self._handle.write(data)
        self._digest.update(data)
        self.written.bytes += len(data)

    def _csv_row(self, values: list[str]) -> bytes:
        self._line.seek(0)
        self._line.truncate()
        self._csv.writerow(values)
        return self._line.getvalue().encode(self.layout.encoding)

    def add(self, row: Mapping[str, object]) -> None:
        values = self._formatter.row(row)
        fixed = self.layout.format == "fixed"
        self._emit(_fixed(self.layout, self.record, values) if fixed else self._csv_row(values))
        self.written.rows += 1

    def close(self) -> WrittenFile:
        self._handle.close()
        self.written.sha256 = self._digest.hexdigest()
        return self.written

    def abort(self) -> None:
        self._handle.close()
        self.written.path.unlink(missing_ok=True)


def write_records(layout: Layout, record: Record, rows: Iterable[Mapping[str, object]], path: Path) -> WrittenFile:
    """Write `rows` (dicts by column) as `record` of `layout` to `path`; the count, the SHA-256, the
    外字 met and the kana normalised. RecordValueError on the first value that cannot be written
    (the file is then removed)."""
    writer = RecordWriter(layout, record, path)
    try:
        for row in rows:
            writer.add(row)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def write_gaiji_list(gaiji: list[Gaiji], path: Path) -> Path:
    """外字一覧 (UTF-8 CSV, beside the files): the record, its key, the item, the character, its code point."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["レコード", "キー", "項目", "文字", "コードポイント"])
        for g in gaiji:
            writer.writerow([g.record, g.key, g.item, g.character, g.codepoint])
    return path
