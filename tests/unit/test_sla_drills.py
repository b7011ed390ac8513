"""The period's BCP drills in the SLA report (no Prometheus: synthetic minutes): which journals are
the period's, exactly the (town, system) pairs a drill touched, the engine's minutes over each drill's
run, unusable files named in warnings, and the every-minute view against the contract's calendar."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from bcp_drills.journal import validate_journal
from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ
from monitoring.sla.calendar import Period, span_period
from monitoring.sla.drills import explain, find_journals
from monitoring.sla.engine import SeriesMinutes, SpanMinutes
from monitoring.sla.render import render_html, write_report_set
from monitoring.sla.report import SlaReportData, assemble_report, evaluate_all, report_json
from municloud.cli.main import app

from . import drill_journals as dj

INV = load_inventory()
TOWNS = ["ina", "ogose", "higashichichibu"]
FAULT = datetime.fromtimestamp(dj.FAULT_AT, CONTRACT_TZ)  # Friday 2026-11-27 18:30 JST: after office hours


def jst(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=CONTRACT_TZ)


def write(folder: Path, name: str, journal: dict[str, Any] | str) -> Path:
    path = folder / name / "journal.json"
    path.parent.mkdir(parents=True)
    path.write_text(journal if isinstance(journal, str) else json.dumps(journal, ensure_ascii=False))
    return path


def at(start: datetime, seconds: float = 60, **kwargs: Any) -> dict[str, Any]:
    """A journal whose run starts at `start` and lasts `seconds`."""
    journal = dj.journal(started=start.timestamp(), **kwargs)
    ended = (start + timedelta(seconds=seconds)).isoformat()
    journal["end"] = journal["municloud"]["ended"] = ended
    return journal


def down_at(*spans: tuple[datetime, datetime], pairs: set[tuple[str, str]]):
    """Prometheus' minutes: the given (town, system) pairs down over the spans, everything else up."""

    def minutes(window, keys):
        down = np.concatenate([np.arange(window.index(a), window.index(b)) for a, b in spans])
        return {
            k: SeriesMinutes(down, np.zeros(0, dtype=np.int64)) if k in pairs else SeriesMinutes.all_up() for k in keys
        }

    return minutes


def report_of(
    folder: Path, period: Period, minutes=None, every_minute: bool = False, towns: list[str] = TOWNS
) -> SlaReportData:
    minutes = minutes or (lambda window, keys: {k: SeriesMinutes.all_up() for k in keys})
    reports = evaluate_all(INV, period, towns, minutes, every_minute)
    return assemble_report(INV, period, reports, "synthetic", every_minute, (folder, "lab"))


def test_only_the_journals_whose_run_overlaps_the_period(tmp_path: Path) -> None:
    period = span_period(jst(27, 18), jst(27, 19))
    write(tmp_path, "20261127-092900-inside", at(jst(27, 18, 29)))
    write(tmp_path, "20261127-085930-across-start", at(jst(27, 17, 59, 30)))  # 17:59:30-18:00:30
    write(tmp_path, "20261127-095930-across-end", at(jst(27, 18, 59, 30)))
    write(tmp_path, "20261127-085800-before", at(jst(27, 17, 58)))  # ends 17:59
    write(tmp_path, "20261127-100000-after", at(jst(27, 19)))  # starts at the period's end
    found, warnings = find_journals(tmp_path, "lab", period)
    assert [p.parent.name for p, _ in found] == [
        "20261127-085930-across-start",
        "20261127-092900-inside",
        "20261127-095930-across-end",
    ]
    assert warnings == []
    write(tmp_path, "prod-drill", at(jst(27, 18, 10)) | {})
    prod = json.loads((tmp_path / "prod-drill" / "journal.json").read_text())
    prod["municloud"]["environment"] = "prod"
    (tmp_path / "prod-drill" / "journal.json").write_text(json.dumps(prod))
    found, warnings = find_journals(tmp_path, "lab", period)
    assert len(found) == 3 and len(warnings) == 1 and "environment 'prod', not 'lab'" in warnings[0]


def test_exactly_the_pairs_the_drill_touched(tmp_path: Path) -> None:
    # passing(): ina (2 systems) and ogose (1) failed; higashichichibu's probes never failed
    journal = dj.passing()
    unrecovered = dj.outage("higashichichibu", "juki-net", None, recovered=False)
    journal["municloud"]["outages"].append(unrecovered)  # never recovered: outage_ms null, touched all the same
    write(tmp_path, "20261127-093000-wan", journal)
    report = report_of(tmp_path, span_period(jst(27, 18), jst(27, 19)))
    data = report_json(report)
    [drill] = data["drills"]
    assert {(t["town"], t["system"]) for t in drill["touched"]} == {
        ("ina", "resident-registry"),
        ("ina", "national-pension"),
        ("ogose", "resident-registry"),
        ("higashichichibu", "juki-net"),
    }
    assert (drill["scenario"], drill["title_ja"], drill["verdict"]) == (
        "wan-primary-circuit-loss",
        "主回線断",
        "passed",
    )
    ina = next(t for t in drill["touched"] if t["system"] == "resident-registry" and t["town"] == "ina")
    assert ina["outage_ms"] == 452.3 and ina["town_name"] == "伊奈町" and ina["system_name"]

    # a town's report: its own rows only; a drill that did not probe from the town is not listed
    assert {t["town"] for t in report_json(report, ["ogose"])["drills"][0]["touched"]} == {"ogose"}
    write(tmp_path, "20261127-093500-ina-only", at(jst(27, 18, 35)) | {})
    only = json.loads((tmp_path / "20261127-093500-ina-only" / "journal.json").read_text())
    only["municloud"]["towns"] = [{"id": "ina", "name": "伊奈町"}]
    only["municloud"]["affected_towns"] = ["ina"]
    (tmp_path / "20261127-093500-ina-only" / "journal.json").write_text(json.dumps(only))
    report = report_of(tmp_path, span_period(jst(27, 18), jst(27, 19)))
    assert len(report_json(report, ["ina"])["drills"]) == 2 and len(report_json(report, ["ogose"])["drills"]) == 1


def test_the_minutes_counted_while_each_drill_ran(tmp_path: Path) -> None:
    """ina / resident-registry down 10:31-10:33 (inside the first drill's run) and 11:00-11:02 (no
    drill): each drill gets only the minutes of its own run; a pair with no down minute explains why."""
    write(
        tmp_path,
        "20261126-013000-wan",
        at(jst(26, 10, 30), 240, outages=[dj.outage("ina", "resident-registry", 95_000.0)]),
    )
    write(
        tmp_path,
        "20261126-014000-wan",
        at(jst(26, 10, 40), 120, outages=[dj.outage("ina", "resident-registry", 450.0)]),
    )
    minutes = down_at(
        (jst(26, 10, 31), jst(26, 10, 33)), (jst(26, 11), jst(26, 11, 2)), pairs={("ina", "resident-registry")}
    )
    report = report_of(tmp_path, span_period(jst(26, 10), jst(26, 12)), minutes)  # a Thursday, office hours
    registry = next(r for r in report.town("ina").systems if r.system == "resident-registry")
    assert registry.downtime_minutes == 4  # the engine's own count over the period is unchanged
    first, second = (d["touched"][0] for d in report_json(report)["drills"])
    assert (first["sla_counted_minutes"], first["sla_down_minutes"], first["scheduled_minutes"]) == (2, 2, 4)
    assert first["explanation"] == "2 scheduled minute(s) counted as downtime"
    assert (second["sla_counted_minutes"], second["sla_down_minutes"], second["scheduled_minutes"]) == (0, 0, 2)
    assert second["explanation"].startswith("shorter than a minute (450.0 ms)")


def test_a_drill_after_office_hours_counts_only_in_the_every_minute_view(tmp_path: Path) -> None:
    write(
        tmp_path,
        "20261127-093000-wan",
        at(FAULT - timedelta(seconds=20), 180, outages=[dj.outage("ina", "resident-registry", 95_000.0)]),
    )
    minutes = down_at((jst(27, 18, 30), jst(27, 18, 32)), pairs={("ina", "resident-registry")})
    period = span_period(jst(27, 18), jst(27, 19))
    contract = report_json(report_of(tmp_path, period, minutes))["drills"][0]["touched"][0]
    assert (contract["sla_counted_minutes"], contract["sla_down_minutes"], contract["scheduled_minutes"]) == (0, 2, 0)
    assert contract["explanation"] == "2 down minute(s) measured, not counted: outside the service calendar"
    every = report_json(report_of(tmp_path, period, minutes, every_minute=True))["drills"][0]["touched"][0]
    assert (every["sla_counted_minutes"], every["scheduled_minutes"]) == (2, 4)


def test_every_minute_schedules_every_minute_and_computes_no_credit(tmp_path: Path) -> None:
    # Sunday 2026-11-15 is the 3rd Sunday: the shipped contract's maintenance 01:00-05:00
    period = span_period(jst(15, 0), jst(15, 6))
    contract = report_of(tmp_path, period, towns=["ina"])
    every = report_of(tmp_path, period, every_minute=True, towns=["ina"])
    payment = ("ina", "convenience-store-payment")
    by_system = {
        name: {(t.town, r.system): r for t in rep.towns for r in t.systems}
        for name, rep in (("c", contract), ("e", every))
    }
    assert by_system["c"][("ina", "resident-registry")].scheduled_minutes == 0  # office hours: a Sunday
    assert by_system["c"][payment].scheduled_minutes == 0  # the extended hours start at 06:30
    assert all(r.scheduled_minutes == 360 and r.maintenance_minutes == 0 for r in by_system["e"].values())
    assert all(r.calendar == "around-the-clock" for r in by_system["e"].values())
    data = report_json(every)
    assert (data["view"], data["contractual"]) == ("every-minute", False)
    assert all(s["credit_percent"] is None for t in data["towns"] for s in t["systems"])
    assert report_json(contract)["contractual"] is True
    assert "not the contract" in render_html(every) and "not the contract" not in render_html(contract)


def test_unusable_files_are_named_and_the_report_still_written(tmp_path: Path) -> None:
    drills = tmp_path / "drills"
    write(drills, "20261127-093000-wan", dj.passing())
    write(drills, "20261127-093100-broken", "{ not json")
    no_municloud = dj.passing()
    del no_municloud["municloud"]
    write(drills, "20261127-093200-plain", no_municloud)
    bad_verdict = dj.passing()
    bad_verdict["municloud"]["verdict"] = "sort of"
    write(drills, "20261127-093300-verdict", bad_verdict)
    (drills / "20261127-093400-running").mkdir()
    (drills / "20261127-093400-running" / "ina.tcp.probe").write_text("")
    old = write(drills, "20261001-010000-old-broken", "[]")
    os.utime(old, (jst(1, 0).timestamp() - 86400 * 30,) * 2)
    os.utime(old.parent, (jst(1, 0).timestamp() - 86400 * 30,) * 2)

    report = report_of(drills, span_period(jst(27, 0), jst(28, 0)))
    warnings = report_json(report)["drill_warnings"]
    assert len(report_json(report)["drills"]) == 1
    text = "\n".join(warnings)
    assert "20261127-093100-broken/journal.json: not a valid drill journal" in text and "not JSON" in text
    assert "20261127-093200-plain/journal.json" in text and "no 'municloud' key" in text
    assert "20261127-093300-verdict/journal.json" in text and "municloud.verdict" in text
    assert "20261127-093400-running: no journal.json" in text
    assert "old-broken" not in text  # written a month before the period: not this report's
    assert len(warnings) == 4
    written = write_report_set(report, tmp_path / "out", pdf=False)
    html = (tmp_path / "out" / "sla-20261127T0000-20261128T0000.html").read_text()
    assert "期間中のBCP訓練" in html and "BCP drills in the period" in html and "not JSON" in html
    assert (tmp_path / "out" / "towns" / "ogose" / "sla-20261127T0000-20261128T0000-ogose-drills.csv") in written


def test_drills_csv_and_town_html_keep_to_their_town(tmp_path: Path) -> None:
    write(tmp_path, "20261127-093000-wan", dj.passing())
    report = report_of(tmp_path, span_period(jst(27, 18), jst(27, 19)))
    out = tmp_path / "out"
    write_report_set(report, out, pdf=False)
    stem = "sla-20261127T1800-20261127T1900"
    rows = list(csv.DictReader(io.StringIO((out / f"{stem}-drills.csv").read_text(encoding="utf-8-sig"))))
    assert {(r["town"], r["system"]) for r in rows} == {
        ("ina", "resident-registry"),
        ("ina", "national-pension"),
        ("ogose", "resident-registry"),
    }
    ogose = out / "towns" / "ogose"
    rows = list(csv.DictReader(io.StringIO((ogose / f"{stem}-ogose-drills.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["town"], r["system"], r["outage_ms"]) for r in rows] == [("ogose", "resident-registry", "610.5")]
    html = (ogose / f"{stem}-ogose.html").read_text()
    drills_section = html[html.index("期間中のBCP訓練") : html.index("算定方法")]
    assert "越生町" in drills_section and "伊奈町" not in drills_section and "610.5 ms" in drills_section


def test_left_out_or_no_drills() -> None:
    report = report_of(Path("/nonexistent"), span_period(jst(27, 18), jst(27, 19)), towns=["ina"])
    assert report_json(report)["drills"] == [] and "no drill ran in the period" in render_html(report)
    reports = evaluate_all(INV, report.period, ["ina"], lambda w, keys: {k: SeriesMinutes.all_up() for k in keys})
    left_out = assemble_report(INV, report.period, reports, "synthetic")
    assert report_json(left_out)["drills"] is None and "期間中のBCP訓練" not in render_html(left_out)


@pytest.mark.parametrize(
    ("ms", "span", "expected"),
    [
        (450.0, SpanMinutes(2, 2, 2, 0, 0, 0, ()), "shorter than a minute (450.0 ms): no minute had 50% or more"),
        (95_000.0, SpanMinutes(2, 2, 2, 0, 0, 0, ()), "below the contract's failed-share threshold"),
        (450.0, SpanMinutes(2, 0, 0, 0, 0, 0, ()), "; the drill also ran outside the service calendar"),
        (450.0, SpanMinutes(2, 2, 0, 0, 0, 0, ()), "; the drill also ran in a maintenance window"),
        (450.0, SpanMinutes(2, 2, 2, 0, 0, 2, ()), "no Prometheus probe data while the drill ran"),
        (450.0, SpanMinutes(3, 3, 3, 0, 0, 1, ()), "; 1 minute(s) without probe data"),
    ],
)
def test_why_nothing_was_counted(ms: float, span: SpanMinutes, expected: str) -> None:
    outage = validate_journal(dj.journal(outages=[dj.outage("ina", "resident-registry", ms)])).municloud.outages[0]
    assert expected in explain(outage, span, 0.5)


def test_cli_drill_options_are_checked(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["sla", "report", "--month", "2026-11", "--drills", str(tmp_path), "--no-drills"])
    assert both.exit_code == 2 and "not both" in both.output
    missing = runner.invoke(app, ["sla", "report", "--month", "2026-11", "--drills", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    helptext = runner.invoke(app, ["sla", "report", "--help"], env={"COLUMNS": "200"}).output
    assert "--every-minute" in helptext and "--no-drills" in helptext
