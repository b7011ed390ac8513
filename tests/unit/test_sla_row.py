"""One SLA result's row (monitoring/sla/row.py) is what the JSON, the CSV and the town's HTML table are
made of: the fields their readers know, in the order they know, with the values each shows."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from fractions import Fraction

import numpy as np

from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ
from monitoring.sla.calendar import Window, span_period
from monitoring.sla.engine import SeriesMinutes
from monitoring.sla.fetch import Key
from monitoring.sla.render import render_html
from monitoring.sla.report import assemble_report, evaluate_all, report_csv, report_json
from monitoring.sla.row import COLUMNS, CSV_COLUMNS, HTML_COLUMNS, JSON_ORDER, result_row

INV = load_inventory()
PERIOD = span_period(datetime(2026, 11, 25, 0, tzinfo=CONTRACT_TZ), datetime(2026, 11, 26, 0, tzinfo=CONTRACT_TZ))


def nine_to_half_past(window: Window, keys: list[Key]) -> dict[Key, SeriesMinutes]:
    """ina's first system down 09:00-09:30 (office hours), its second without data; the rest up."""
    first, second = keys[0], keys[1]
    start = window.index(datetime(2026, 11, 25, 9, 0, tzinfo=CONTRACT_TZ))
    out = {k: SeriesMinutes.all_up() for k in keys}
    out[first] = SeriesMinutes(np.arange(start, start + 30), np.zeros(0, dtype=np.int64))
    out[second] = SeriesMinutes.all_missing(window)
    return out


REPORT = assemble_report(INV, PERIOD, evaluate_all(INV, PERIOD, ["ina"], nine_to_half_past), "synthetic")


def test_the_json_and_csv_keep_their_fields_and_order() -> None:
    assert CSV_COLUMNS == [
        "town",
        "town_name",
        "system",
        "system_name",
        "tier",
        "calendar",
        "scheduled_minutes",
        "maintenance_minutes",
        "downtime_minutes",
        "no_data_minutes",
        "availability_percent",
        "target_percent",
        "met",
        "credit_percent",
        "incidents_counted",
        "incidents_not_counted",
    ]
    [system, *_] = report_json(REPORT)["towns"][0]["systems"]
    assert list(system) == [*JSON_ORDER, "incidents", "data_gaps", "notes"]
    assert sorted(JSON_ORDER) == sorted(c.json_name for c in COLUMNS if c.json)  # every JSON field, once
    lines = list(csv.reader(io.StringIO(report_csv(REPORT))))
    assert lines[0] == CSV_COLUMNS and {len(line) for line in lines} == {len(CSV_COLUMNS)}


def test_one_row_gives_each_output_its_form_of_the_value() -> None:
    ina = REPORT.town("ina")
    down, missing = ina.systems[0], ina.systems[1]
    row = result_row(INV, down, contractual=True)
    assert row["availability_percent"] == float(down.availability) and down.availability < 100
    assert row.json()["availability_percent"] == round(float(down.availability), 6)
    assert Fraction(row.json()["availability_exact"]) == down.availability
    assert row.json()["name"] == row["system_name"] == INV.system_by_id[down.system].name
    cells = dict(zip(CSV_COLUMNS, row.csv(), strict=True))
    assert cells["availability_percent"] == f"{float(down.availability):.6f}"
    assert cells["met"] == "no" and cells["incidents_counted"] == 1 and cells["town_name"] == "伊奈町"
    nothing = result_row(INV, missing, contractual=False)
    assert dict(zip(CSV_COLUMNS, nothing.csv(), strict=True))["credit_percent"] is None  # an empty cell
    assert nothing.json()["credit_percent"] is None  # the every-minute view computes no credit


def test_the_html_table_shows_the_rows_columns() -> None:
    html = render_html(REPORT, ["ina"])
    headings = "".join(f'<th>{c.ja} <span class="en">{c.en}</span></th>' for c in HTML_COLUMNS)
    assert headings in html
    assert " | ".join(f"{c.ja} {c.en}" for c in HTML_COLUMNS) == (
        "システム system | 区分 tier | 計画稼働分 scheduled | 保守分 maint. | 停止分 down | 欠測分 no data | "
        "稼働率 availability | 目標 target | 判定 result | 減額率 credit | 計算 how"
    )
    first = INV.system_by_id[REPORT.town("ina").systems[0].system]
    assert f'<td>{first.name} <span class="en">{first.name_en}</span></td>' in html
    assert '<span class="missed">未達 missed</span>' in html
