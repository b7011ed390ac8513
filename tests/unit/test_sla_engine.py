"""The SLA formula on synthetic minutes (no Prometheus): calendars, maintenance, the minimum outage,
no-data policies, penalty bands, and the generated Prometheus rules checked by promtool."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime
from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ, PenaltyBand, ServiceCalendar
from monitoring.rules import evaluation_offset, minute_group_name
from monitoring.sla.calendar import (
    around_the_clock,
    is_service_day,
    maintenance_mask,
    month_period,
    service_mask,
    span_period,
    window_for,
)
from monitoring.sla.engine import SeriesMinutes, credit_for, evaluate, masks, runs
from municloud.cli.main import app

INV = load_inventory()
OFFICE = INV.calendar_by_id["office"]


def jst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CONTRACT_TZ)


def test_month_is_a_calendar_month_in_japan_time() -> None:
    p = month_period("2027-02")
    assert (p.start.isoformat(), p.end.isoformat(), p.minutes) == (
        "2027-02-01T00:00:00+09:00",
        "2027-03-01T00:00:00+09:00",
        28 * 1440,
    )
    assert month_period("2026-12").end == jst(2027, 1, 1)
    assert span_period(datetime(2026, 5, 1), datetime(2026, 6, 1)).month == "2026-05"
    assert span_period(datetime(2026, 5, 1), datetime(2026, 5, 15)).month is None
    with pytest.raises(ValueError):
        month_period("2026-13")


def test_business_days_holidays_and_year_end() -> None:
    assert is_service_day(date(2026, 5, 1), OFFICE)  # Friday
    assert not is_service_day(date(2026, 5, 6), OFFICE)  # substitute holiday (jpholiday)
    assert not is_service_day(date(2026, 12, 29), OFFICE) and not is_service_day(date(2027, 1, 4 - 1), OFFICE)
    assert is_service_day(date(2026, 12, 28), OFFICE) and is_service_day(date(2027, 1, 4), OFFICE)
    extended = INV.calendar_by_id["extended"]
    assert is_service_day(date(2026, 5, 5), extended) and not is_service_day(date(2027, 1, 1), extended)
    # January 2027: 1st-3rd closed, the 11th is Coming-of-Age Day: 19 business days of 525 minutes
    p = month_period("2027-01")
    w = window_for(p, 60)
    assert int((service_mask(w, OFFICE) & w.in_period()).sum()) == 19 * 525


def test_maintenance_windows_monthly_and_once() -> None:
    p = month_period("2027-03")
    w = window_for(p, 60)
    mask = maintenance_mask(w, INV.sla.maintenance_windows) & w.in_period()
    # 3rd Sunday (21st) 01:00-05:00 and the once window 27th 18:00 - 28th 18:00
    assert int(mask.sum()) == 4 * 60 + 24 * 60
    assert mask[w.index(jst(2027, 3, 21, 1))] and not mask[w.index(jst(2027, 3, 21, 5))]


def _evaluate(
    calendar: ServiceCalendar, down: list[tuple[datetime, datetime]], missing=(), inventory=INV, month="2026-05"
):
    p = month_period(month)
    w = window_for(p, inventory.sla.min_outage_seconds)
    maint = maintenance_mask(w, inventory.sla.maintenance_windows)
    m = masks(w, service_mask(w, calendar), maint)

    def idx(spans):
        return (
            np.concatenate([np.arange(w.index(a), w.index(b)) for a, b in spans])
            if spans
            else np.zeros(0, dtype=np.int64)
        )

    data = SeriesMinutes(idx(down), idx(list(missing)))
    return evaluate("ina", "resident-registry", INV.tier_by_id["critical"], calendar.id, inventory.sla, m, data, maint)


def test_availability_by_hand() -> None:
    r = _evaluate(
        OFFICE, [(jst(2026, 5, 13, 14), jst(2026, 5, 13, 14, 10))], [(jst(2026, 5, 25, 9), jst(2026, 5, 25, 9, 20))]
    )
    assert (r.scheduled_minutes, r.downtime_minutes, r.no_data_minutes) == (9450, 10, 20)
    assert r.availability == Fraction(100 * 9420, 9450) and r.credit_percent == 10.0 and r.met is False
    assert r.formula() == "(9450 - 10 - 20) / 9450 = 99.683%"


def test_minimum_outage_and_reasons() -> None:
    sla = INV.sla.model_copy(update={"min_outage_seconds": 300})
    inv = dataclasses.replace(INV, sla=sla)
    r = _evaluate(
        OFFICE,
        [
            (jst(2026, 5, 13, 14), jst(2026, 5, 13, 14, 4)),
            (jst(2026, 5, 13, 15), jst(2026, 5, 13, 15, 5)),
            (jst(2026, 5, 17, 2), jst(2026, 5, 17, 3)),
        ],
        inventory=inv,
    )
    assert [(o.counted, o.length_seconds) for o in r.outages] == [(False, 240), (True, 300), (False, 3600)]
    assert "shorter" in r.outages[0].reason and "maintenance" in r.outages[2].reason
    assert r.downtime_minutes == 5


def test_twenty_four_seven_calendar_counts_across_midnight() -> None:
    always = around_the_clock()
    r = _evaluate(always, [(jst(2026, 5, 9, 23, 50), jst(2026, 5, 10, 0, 20))])
    assert r.service_minutes == 31 * 1440 and r.maintenance_minutes == 240  # 3rd Sunday 01:00-05:00
    assert r.downtime_minutes == 30


def test_no_data_is_never_perfect() -> None:
    p = month_period("2026-05")
    w = window_for(p, 60)
    maint = maintenance_mask(w, INV.sla.maintenance_windows)
    m = masks(w, service_mask(w, OFFICE), maint)
    r = evaluate(
        "ina",
        "resident-registry",
        INV.tier_by_id["critical"],
        "office",
        INV.sla,
        m,
        SeriesMinutes.all_missing(w),
        maint,
    )
    assert r.availability == 0 and r.credit_percent == 50.0 and r.no_data_minutes == 9450


def test_penalty_bands_are_exact_at_the_edges() -> None:
    bands = INV.tier_by_id["critical"].penalty_bands
    assert credit_for(Fraction(100), bands) == 0
    assert credit_for(Fraction(999, 10), bands) == 0  # 99.9 exactly: the top band
    assert credit_for(Fraction(999, 10) - Fraction(1, 10**9), bands) == 10
    assert credit_for(Fraction(99), bands) == 25 and credit_for(Fraction(0), bands) == 50
    assert credit_for(None, bands) == 0
    with pytest.raises(ValueError):
        credit_for(Fraction(50), [PenaltyBand(min_percent=90, max_percent=100, credit_percent=0)])


def test_runs() -> None:
    assert runs(np.array([1, 2, 3, 7, 9, 10])) == [(1, 4), (7, 8), (9, 11)]
    assert runs(np.array([], dtype=np.int64)) == []


def test_minute_group_is_evaluated_on_the_minute() -> None:
    # the offset formula reproduces what Prometheus 2.42 did: this group on this path ran at :47.003
    assert abs(evaluation_offset("/tmp/bfdbg/work/rules.yml", "municloud-sla-minutes") - 47.003322868) < 1e-6
    name = minute_group_name("/var/lib/municloud/monitoring/lab/config/sla-recording.rules.yml")
    assert evaluation_offset("/var/lib/municloud/monitoring/lab/config/sla-recording.rules.yml", name) < 0.25


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus)")
def test_generated_rules_pass_promtool(tmp_path) -> None:
    result = CliRunner().invoke(app, ["monitor", "config", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.output
    recording = str((tmp_path / "sla-recording.rules.yml").resolve())
    assert f"Load {recording} from exactly this path" in " ".join(result.output.split()), result.output
    text = (tmp_path / "sla-alerts.rules.yml").read_text()
    assert "MunicloudErrorBudgetBurnPage" in text and "absent_over_time" in text  # thresholds as numbers
    assert "0.0144" in text  # 14.4 x the critical budget (0.1%)


def test_cli_input_errors_and_unreachable_prometheus(tmp_path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["sla", "report", "--month", "2026-13"]).exit_code == 2
    assert runner.invoke(app, ["sla", "report", "--month", "2026-05", "--from", "2026-05-01"]).exit_code == 2
    assert runner.invoke(app, ["sla", "report", "--month", "2026-05", "--town", "atlantis"]).exit_code == 2
    gone = runner.invoke(
        app,
        [
            "sla",
            "report",
            "--month",
            "2026-05",
            "--town",
            "ina",
            "--prometheus",
            "http://127.0.0.1:9",
            "--out",
            str(tmp_path),
        ],
    )
    assert gone.exit_code == 1 and "cannot reach Prometheus" in gone.output


def test_schedule_prints_timer_and_cron() -> None:
    result = CliRunner().invoke(app, ["sla", "schedule", "--out", "/srv/sla"])
    assert result.exit_code == 0
    assert "OnCalendar=*-*-01 06:00:00 Asia/Tokyo" in result.output
    assert 'TZ=Asia/Tokyo date +\\%d\\%H)" = "0106"' in result.output and "--month previous" in result.output
