"""The hand-over layouts as data (handover/layouts/*.yaml): per business area its record types, each
item's name as the specification writes it, its type and digits, whether it is required, its code
table (residents/codes.yaml), and the file's format (CSV or fixed length) and encoding (UTF-8, or
CP932 where a receiving system asks).

A layout is checked before anything is exported: the shape of the file (pydantic, as the inventory
is) and the rules below, each broken one a problem naming the file, the entry and the rule:
- an item's column must be a column of its record's table (residents/synthetic.py's TABLES);
- a code item names a code table that exists, and only a code item names one;
- text, kana, digits and integer items say their digits (a date's and a code's width are known);
- item names are unique within a record, record ids within a layout, and a record's key columns
  are columns of its table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inventory.problems import InventoryError, Problem
from inventory.schema_errors import schema_problems
from inventory.source import SourceFile
from residents.synthetic import TABLES, codes

LAYOUTS_DIR = Path(__file__).with_name("layouts")
WIDTH_KNOWN = ("wareki", "date", "code")  # types whose width the layout need not give
WAREKI_WIDTH = 8  # GGYYMMDD: the two-digit 年号コード, then year of the era, month, day
DATE_WIDTH = 8  # YYYYMMDD

ItemType = Literal["digits", "integer", "text", "kana", "wareki", "date", "code"]
Name = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Model):
    name: Name  # as the specification writes it (住民票コード)
    column: Name
    type: ItemType
    digits: Annotated[int, Field(gt=0, le=1000)] | None = None
    required: bool = True
    codes: str | None = None  # the code table (codes.yaml) of a code item

    def width(self, encoding: str) -> int:
        """The item's width in a fixed-length record, in bytes of `encoding`."""
        if self.type == "wareki":
            return WAREKI_WIDTH
        if self.type == "date":
            return DATE_WIDTH
        if self.type == "code":
            return max(len(k) for k in codes()[str(self.codes)])
        assert self.digits is not None  # the rules require it
        if self.type in ("text", "kana"):
            return self.digits * (2 if encoding == "cp932" else 3)  # a full-width character's bytes
        return self.digits


class Record(_Model):
    id: Name
    name: Name
    source: Name  # the table (residents/schema.sql)
    key: str | list[str]  # what names one record in an error message
    items: list[Item] = Field(min_length=1)

    @property
    def key_columns(self) -> list[str]:
        return [self.key] if isinstance(self.key, str) else list(self.key)


class Layout(_Model):
    id: Name
    name: Name  # the business area (住民基本台帳)
    follows: Name  # the specification and version it follows (SAMPLE until replaced)
    format: Literal["csv", "fixed"]
    encoding: Literal["utf-8", "cp932"] = "utf-8"
    header: bool = True  # CSV only: the item names as the first row
    gaiji: Literal["list", "refuse"] = "refuse"  # a character the encoding lacks: 外字 list, or the export fails
    records: list[Record] = Field(min_length=1)


class LayoutError(InventoryError):
    """A layout file that cannot be used; `problems` name the file, the entry and the rule."""

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(f"{len(self.problems)} problem(s) in the hand-over layouts")
        return "\n".join(lines)


def load_layouts(folder: Path = LAYOUTS_DIR) -> dict[str, Layout]:
    """Every layout in `folder` (*.yaml), checked; LayoutError lists every problem of every file."""
    problems: list[Problem] = []
    layouts: dict[str, Layout] = {}
    for path in sorted(folder.glob("*.yaml")):
        source, problem = SourceFile.read(path, _display(path))
        if problem is not None:
            problems.append(problem)
            continue
        try:
            layout = Layout.model_validate(source.data)
        except ValidationError as error:
            problems += schema_problems(source, Layout, error)
            continue
        found = rule_problems(source, layout)
        if layout.id in layouts:
            found.append(source.problem(("id",), f"layout id '{layout.id}' is used by another file too"))
        problems += found
        if not found:
            layouts[layout.id] = layout
    if not layouts and not problems:
        problems.append(Problem(_display(folder), None, "", "", "no layout files (*.yaml)"))
    if problems:
        raise LayoutError(problems)
    return layouts


def rule_problems(source: SourceFile, layout: Layout) -> list[Problem]:
    found: list[Problem] = []
    tables = codes()
    seen_records: set[str] = set()
    for r, record in enumerate(layout.records):
        where = ("records", r)
        if record.id in seen_records:
            found.append(source.problem((*where, "id"), f"record id '{record.id}' is used twice in this layout"))
        seen_records.add(record.id)
        columns = TABLES.get(record.source)
        if columns is None:
            found.append(
                source.problem((*where, "source"), f"no table '{record.source}' (tables: {', '.join(TABLES)})")
            )
            continue
        for key in record.key_columns:
            if key not in columns:
                found.append(source.problem((*where, "key"), f"the key column '{key}' is not in {record.source}"))
        names: set[str] = set()
        for i, item in enumerate(record.items):
            at = (*where, "items", i)
            if item.name in names:
                found.append(source.problem((*at, "name"), f"item name '{item.name}' is used twice in this record"))
            names.add(item.name)
            if item.column not in columns:
                found.append(source.problem((*at, "column"), f"no column '{item.column}' in table {record.source}"))
            if item.type == "code" and item.codes not in tables:
                found.append(
                    source.problem(
                        (*at, "codes"),
                        f"a code item names its code table (residents/codes.yaml: {', '.join(tables)})",
                    )
                )
            if item.type != "code" and item.codes is not None:
                found.append(source.problem((*at, "codes"), f"only a code item has a code table, not a {item.type}"))
            if item.type not in WIDTH_KNOWN and item.digits is None:
                found.append(source.problem((*at, "digits"), f"a {item.type} item says its digits"))
    return found


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(LAYOUTS_DIR.parent.parent))
    except ValueError:
        return str(path)
