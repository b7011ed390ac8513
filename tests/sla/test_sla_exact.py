"""Exact numbers: a month backfilled into a real Prometheus, the report against numbers worked out
by hand here, and against a PromQL computation over the same recording rules."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from inventory.loader import Inventory
from monitoring.sla.calendar import month_period, window_for
from monitoring.sla.engine import SystemResult
from monitoring.sla.fetch import BAD_SERIES
from monitoring.sla.report import build_report

from .backfill import BackfilledPrometheus
from .conftest import MONTH, jst

OFFICE_DAYS = 18  # 21 weekdays in May 2026, less Mon 4, Tue 5 and the substitute holiday Wed 6
OFFICE_MINUTES = OFFICE_DAYS * 525  # 08:30-17:15 = 525 minutes
EXTENDED_MINUTES = 31 * 990  # 06:30-23:00 = 990 minutes, every day of May


def _systems(report) -> dict[tuple[str, str], SystemResult]:
    return {(s.town, s.system): s for t in report.towns for s in t.systems}


def test_exact_numbers_of_the_test_contract(prometheus: BackfilledPrometheus, contract_inventory: Inventory) -> None:
    report = build_report(contract_inventory, month_period(MONTH), prometheus.api, ["ina", "ogose"])
    got = _systems(report)

    registry = got[("ina", "resident-registry")]
    scheduled = OFFICE_MINUTES - 120  # the test maintenance window, Wed 20th 13:00-15:00
    assert (registry.service_minutes, registry.maintenance_minutes) == (9450, 120)
    assert registry.scheduled_minutes == scheduled == 9330
    assert registry.downtime_minutes == 10 + 30  # the 13th's 10 min, the 29th's 16:45-17:15
    assert registry.no_data_minutes == 20
    assert registry.availability == Fraction(100 * (9330 - 40 - 20), 9330)  # 99.3569...%
    assert (registry.met, registry.credit_percent) == (False, 25.0)  # critical: 99.0 <= a < 99.5
    outages = {o.start: o for o in registry.outages}
    assert len(outages) == 6
    blip = outages[jst(12, 10)]
    assert (blip.counted, blip.length_seconds) == (False, 120) and "shorter" in blip.reason
    assert (outages[jst(13, 14)].counted, outages[jst(13, 14)].scheduled_minutes) == (True, 10)
    assert not outages[jst(20, 13, 30)].counted and "maintenance" in outages[jst(20, 13, 30)].reason
    assert not outages[jst(21, 20)].counted and "outside service hours" in outages[jst(21, 20)].reason
    assert not outages[jst(6, 10)].counted and "outside service hours" in outages[jst(6, 10)].reason
    night = outages[jst(29, 16, 45)]
    assert (night.end, night.length_seconds, night.scheduled_minutes, night.counted) == (
        jst(30, 1),
        8 * 3600 + 15 * 60,
        30,
        True,
    )
    assert [(g.start, g.end, g.scheduled_minutes) for g in registry.gaps] == [(jst(25, 9), jst(25, 9, 20), 20)]

    payment = got[("ina", "convenience-store-payment")]
    assert payment.calendar == "extended"
    assert payment.scheduled_minutes == EXTENDED_MINUTES - 120 == 30570
    assert payment.downtime_minutes == 20 + 2 + 30  # across midnight, the month's end, Children's Day
    assert payment.no_data_minutes == 0
    assert payment.availability == Fraction(100 * (30570 - 52), 30570)  # 99.8299...%
    assert (payment.met, payment.credit_percent) == (True, 0.0)
    month_end = next(o for o in payment.outages if o.start == jst(31, 22, 58))
    assert (month_end.length_seconds, month_end.scheduled_minutes) == (67 * 60, 2)  # measured whole

    silent = got[("ogose", "resident-registry")]
    assert silent.no_data_minutes == silent.scheduled_minutes == 9330
    assert silent.availability == 0 and silent.credit_percent == 50.0  # missing is never perfect
    assert report.data_gaps == 20 + 9330 and not report.complete


def test_no_data_excluded_policy(prometheus: BackfilledPrometheus, contract_inventory: Inventory) -> None:
    sla = contract_inventory.sla
    excluded = sla.model_copy(update={"measurement": sla.measurement.model_copy(update={"no_data": "excluded"})})
    import dataclasses

    inventory = dataclasses.replace(contract_inventory, sla=excluded)
    got = _systems(build_report(inventory, month_period(MONTH), prometheus.api, ["ina", "ogose"]))
    registry = got[("ina", "resident-registry")]
    assert registry.availability == Fraction(100 * (9330 - 20 - 40), 9330 - 20)
    silent = got[("ogose", "resident-registry")]
    assert (silent.availability, silent.met, silent.credit_percent) == (None, None, 0.0)  # null, never 100


def test_shipped_contract_and_reconciliation_with_promql(
    prometheus: BackfilledPrometheus, shipped_inventory: Inventory
) -> None:
    """The shipped contract (1 min minimum, no maintenance inside service hours): by hand, then the
    same availability from PromQL over the recording rule, span by scheduled span, to 0.001 pp."""
    period = month_period(MONTH)
    report = build_report(shipped_inventory, period, prometheus.api, ["ina", "ogose"])
    got = _systems(report)
    registry = got[("ina", "resident-registry")]
    # the 2-minute blip and the outage on the 20th now count: 2 + 10 + 30 + 30
    assert (registry.scheduled_minutes, registry.downtime_minutes, registry.no_data_minutes) == (9450, 72, 20)
    assert registry.availability == Fraction(100 * (9450 - 92), 9450)
    payment = got[("ina", "convenience-store-payment")]
    assert (payment.scheduled_minutes, payment.downtime_minutes) == (30690, 54)

    from monitoring.sla.calendar import maintenance_mask, service_mask
    from monitoring.sla.engine import masks, runs

    window = window_for(period, shipped_inventory.sla.min_outage_seconds)
    for (town, system), result in got.items():
        cal = shipped_inventory.calendar_by_id[result.calendar]
        m = masks(
            window, service_mask(window, cal), maintenance_mask(window, shipped_inventory.sla.maintenance_windows)
        )
        scheduled = down = measured = 0
        for lo, hi in runs(np.flatnonzero(m.scheduled)):
            # a recorded sample covers the minute before it and lies within 250 ms after that
            # minute's end (the group's offset): the span's samples are those in (a + 30 s, b + 30 s]
            at = window.moment(hi).timestamp() + 30
            length_ms = (hi - lo) * 60_000 - 1
            sel = f'{BAD_SERIES}{{town="{town}",system="{system}"}}[{length_ms}ms]'
            down += int(prometheus.api.scalar(f"sum(sum_over_time({sel}))", at) or 0)
            measured += int(prometheus.api.scalar(f"sum(count_over_time({sel}))", at) or 0)
            scheduled += hi - lo
        promql = 100 * (scheduled - down - (scheduled - measured)) / scheduled
        assert abs(promql - float(result.availability)) < 0.001, (town, system, promql, float(result.availability))


def test_minutes_are_recorded_on_the_minute(prometheus: BackfilledPrometheus) -> None:
    """The backfilled recording rule has one sample per minute, within 250 ms after the minute's end."""
    at = jst(13, 14, 10).timestamp() + 1
    series = prometheus.api.query(f'{BAD_SERIES}{{town="ina",system="resident-registry"}}[10m]', at)
    values = series[0].values
    ends = [jst(13, 14, 1).timestamp() + 60 * k for k in range(10)]
    assert len(values) == 10
    assert all(0 <= t - end < 0.25 for (t, _), end in zip(values, ends, strict=True)), values
    assert all(v == 1 for _, v in values)  # 14:00-14:10 down
