"""One (town, system) SLA result as a row: its fields in order, each with its labels, its name in the
CSV and the JSON, and how the town's HTML table shows it. The JSON (report.system_json), the CSV
(report.report_csv) and the HTML table (render, the template's `cell`) all take the row from
`result_row`, so a field is added, renamed or reworded in one place.

The row's order is the tables' (the CSV's columns, the HTML table's); the JSON keeps the order its
readers have always had (JSON_ORDER: the keys costs/sla_report.py reads first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from inventory.loader import Inventory
from inventory.model.systems import BusinessSystem

from .engine import SystemResult

Value = str | int | float | bool | None


class Measured(NamedTuple):
    """What a row is made of: one town's result for one system, and whether the report's view is the
    contract's (only then is a credit computed)."""

    result: SystemResult
    town_name: str
    system: BusinessSystem
    contractual: bool


def _same(value: Value) -> Value:
    return value


def _six_places(value: Value) -> Value:
    """The JSON's percentages: rounded to 6 places (the exact value is `availability_exact`)."""
    return None if value is None else round(float(value), 6)


def _six_decimals(value: Value) -> Value:
    return "" if value is None else f"{float(value):.6f}"


def _yes_no(value: Value) -> Value:
    return "" if value is None else ("yes" if value else "no")


@dataclass(frozen=True)
class Column:
    """One field of the row. `html` is the kind of cell the town's HTML table shows it in (the
    template's `cell` macro), None when the table leaves it out."""

    key: str  # the CSV's column, and the JSON's key unless `json_key` names another one
    ja: str
    en: str
    value: Callable[[Measured], Value]
    csv: bool = True
    json: bool = True
    json_key: str | None = None
    html: str | None = None
    to_json: Callable[[Value], Value] = _same
    to_csv: Callable[[Value], Value] = _same  # csv writes None as an empty cell

    @property
    def json_name(self) -> str:
        return self.json_key or self.key


COLUMNS: tuple[Column, ...] = (
    Column("town", "団体ID", "town id", lambda m: m.result.town, json=False),
    Column("town_name", "団体", "town", lambda m: m.town_name, json=False),
    Column("system", "システムID", "system id", lambda m: m.result.system),
    Column("system_name", "システム", "system", lambda m: m.system.name, json_key="name", html="name"),
    Column("name_en", "英語名", "English name", lambda m: m.system.name_en, csv=False),  # the HTML: beside the name
    Column("tier", "区分", "tier", lambda m: m.result.tier, html="text"),
    Column("calendar", "サービス時間帯", "calendar", lambda m: m.result.calendar),
    Column("service_minutes", "サービス時間内の分", "service min", lambda m: m.result.service_minutes, csv=False),
    Column("scheduled_minutes", "計画稼働分", "scheduled", lambda m: m.result.scheduled_minutes, html="number"),
    Column("maintenance_minutes", "保守分", "maint.", lambda m: m.result.maintenance_minutes, html="number"),
    Column("downtime_minutes", "停止分", "down", lambda m: m.result.downtime_minutes, html="number"),
    Column("no_data_minutes", "欠測分", "no data", lambda m: m.result.no_data_minutes, html="no-data"),
    Column(
        "availability_percent",
        "稼働率",
        "availability",
        lambda m: m.result.availability_percent,
        html="availability",
        to_json=_six_places,
        to_csv=_six_decimals,
    ),
    Column(
        "availability_exact",
        "稼働率(分数)",
        "availability as a fraction",
        lambda m: None if (a := m.result.availability) is None else f"{a.numerator}/{a.denominator}",
        csv=False,
    ),
    Column("target_percent", "目標", "target", lambda m: m.result.target_percent, html="percent"),
    Column("met", "判定", "result", lambda m: m.result.met, html="met", to_csv=_yes_no),
    Column(
        "credit_percent",
        "減額率",
        "credit",
        lambda m: m.result.credit_percent if m.contractual else None,
        html="credit",
    ),
    Column("incidents_counted", "計上障害", "incidents counted", lambda m: len(m.result.counted_outages), json=False),
    Column(
        "incidents_not_counted",
        "対象外障害",
        "incidents not counted",
        lambda m: len(m.result.outages) - len(m.result.counted_outages),
        json=False,
    ),
    Column("no_data_policy", "欠測の扱い", "no-data policy", lambda m: m.result.no_data_policy, csv=False),
    Column("formula", "計算", "how", lambda m: m.result.formula(), csv=False, html="text"),
)
CSV_COLUMNS = [c.key for c in COLUMNS if c.csv]
HTML_COLUMNS = [c for c in COLUMNS if c.html]
JSON_ORDER = (
    "system",
    "tier",
    "availability_percent",
    "credit_percent",
    "name",
    "name_en",
    "calendar",
    "target_percent",
    "met",
    "availability_exact",
    "service_minutes",
    "maintenance_minutes",
    "scheduled_minutes",
    "downtime_minutes",
    "no_data_minutes",
    "no_data_policy",
    "formula",
)


_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
_BY_JSON_NAME = {c.json_name: i for i, c in enumerate(COLUMNS) if c.json}
# what each output takes, worked out once: a report of 1,700 towns makes some 250,000 rows
_JSON = [(key, _BY_JSON_NAME[key], COLUMNS[_BY_JSON_NAME[key]].to_json) for key in JSON_ORDER]
_CSV = [(i, c.to_csv) for i, c in enumerate(COLUMNS) if c.csv]
_HTML = [i for i, c in enumerate(COLUMNS) if c.html]


@dataclass(frozen=True)
class Cell:
    column: Column
    value: Value


@dataclass(frozen=True, slots=True)
class Row:
    """One result's values, in COLUMNS' order."""

    values: tuple[Value, ...]

    def __getitem__(self, key: str) -> Value:
        return self.values[_INDEX[key]]

    def json(self) -> dict[str, Value]:
        """The JSON's fields, in JSON_ORDER."""
        return {key: to_json(self.values[i]) for key, i, to_json in _JSON}

    def csv(self) -> list[Value]:
        return [to_csv(self.values[i]) for i, to_csv in _CSV]

    def html(self) -> list[Cell]:
        """The cells of the town's HTML table, in HTML_COLUMNS' order."""
        return [Cell(COLUMNS[i], self.values[i]) for i in _HTML]


def result_row(inventory: Inventory, result: SystemResult, contractual: bool) -> Row:
    """The row of one (town, system) result; `contractual`: the report's view is the contract's (else
    no credit: credit_percent None)."""
    measured = Measured(
        result, inventory.town_by_id[result.town].name, inventory.system_by_id[result.system], contractual
    )
    return Row(tuple(c.value(measured) for c in COLUMNS))
