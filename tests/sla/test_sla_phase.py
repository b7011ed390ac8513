"""Recorded minutes off the minute (rules loaded from another path than they were named for) are
refused by the report with the reason and the fix, never counted as calendar minutes; minutes on
the minute (the month fixture) are read as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inventory.loader import Inventory
from monitoring.rules import evaluation_offset, minute_group_name
from monitoring.sla.calendar import month_period
from monitoring.sla.phase import OffPhaseMinutes
from monitoring.sla.report import build_report

from .backfill import BackfilledPrometheus, backfilled_prometheus
from .conftest import MONTH, REGISTRY, jst


def path_elsewhere(loaded_from: Path) -> str:
    """A path an operator's own Prometheus might read a copy from, chosen so that rules named for it
    but loaded from `loaded_from` (pytest's tmp path, different each run) land well off the minute."""
    for n in range(1000):
        elsewhere = f"/etc/prometheus/rules.d/municloud-sla-{n}.yml"
        if 5 < evaluation_offset(str(loaded_from), minute_group_name(elsewhere)) < 55:
            return elsewhere
    raise AssertionError(f"no path found whose rules land off the minute when loaded from {loaded_from}")


def test_minutes_recorded_off_the_minute_are_refused_with_the_reason_and_the_fix(
    tmp_path: Path, shipped_inventory: Inventory
) -> None:
    if not (shutil.which("promtool") and shutil.which("prometheus")):
        pytest.skip("needs Debian's prometheus package (prometheus, promtool)")
    loaded_from = tmp_path / "work" / "rules.yml"  # where backfilled_prometheus writes and reads them
    elsewhere = path_elsewhere(loaded_from)
    offset = evaluation_offset(str(loaded_from), minute_group_name(elsewhere))
    start, end = jst(13, 13), jst(13, 15)  # two hours with a 10-minute outage (REGISTRY)
    with (
        backfilled_prometheus(shipped_inventory, [REGISTRY], start, end, tmp_path, rules_named_for=elsewhere) as p,
        pytest.raises(OffPhaseMinutes) as refused,
    ):
        build_report(shipped_inventory, month_period(MONTH), p.api, ["ina"])
    message = str(refused.value)
    assert f"lie {offset:.1f} s after the minute" in message, message
    assert "municloud monitor config" in message and "re-record" in message


def test_minutes_on_the_minute_pass_the_check(prometheus: BackfilledPrometheus, shipped_inventory: Inventory) -> None:
    report = build_report(shipped_inventory, month_period(MONTH), prometheus.api, ["ina"])
    assert report.towns, "the aligned month is read"
