"""The SLA measurement on the small lab: the probe exporters on the towns' in-office servers, a real
Prometheus (`monitor up`) scraping them and the WAN exporter; a cut of both of ina's circuits, then a
cut of DC1, show up as downtime for exactly the affected towns and systems."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from inventory.model.sla import CONTRACT_TZ
from monitoring.promapi import PrometheusAPI
from monitoring.server import prometheus_url
from monitoring.sla.calendar import around_the_clock, span_period
from monitoring.sla.fetch import fetch_minutes
from monitoring.sla.report import evaluate_all

from .conftest import SmallLab, municloud_cli

pytestmark = pytest.mark.lab
PORT = 19090 + 2  # beside other engineers' labs


def _next_minute(moment: datetime) -> datetime:
    return (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _wait_for_minute() -> datetime:
    now = datetime.now(CONTRACT_TZ)
    start = _next_minute(now)
    time.sleep((start - now).total_seconds() + 0.5)
    return start


def test_circuit_and_dc_cuts_show_as_downtime(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    up = municloud_cli("monitor", "up", "--port", str(PORT), "--wan-port", str(PORT + 1))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        url = prometheus_url("lab")
        assert url
        api = PrometheusAPI(url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(api.query('up{job="municloud-probe"} == 1', time.time())) < 3:
            time.sleep(3)
        status = municloud_cli("monitor", "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        assert {t["town"] for t in json.loads(status.stdout)["targets"] if t["job"] == "municloud-probe"} == set(
            lab.towns
        )

        start = _wait_for_minute()
        time.sleep(120)  # two good minutes
        lab.lab.fault_cut_link("ina-primary")
        lab.lab.fault_cut_link("ina-backup")
        time.sleep(150)
        wan = api.query('municloud_wan_bgp_session_up{town="ina"}', time.time())
        lab.lab.heal()
        time.sleep(90)
        lab.lab.fault_isolate_site("dc1")
        time.sleep(150)
        lab.lab.heal()
        time.sleep(150)
        end = _next_minute(datetime.now(CONTRACT_TZ)) - timedelta(minutes=1)
        time.sleep(70)  # the last minute recorded

        # every minute of the test counts: a 24/7 calendar
        always = around_the_clock("office")
        inventory = lab.inventory
        sla = inventory.sla.model_copy(update={"calendars": [always, always.model_copy(update={"id": "extended"})]})
        import dataclasses

        inventory = dataclasses.replace(inventory, sla=sla)
        period = span_period(start, end)
        towns = evaluate_all(inventory, period, list(lab.towns), lambda w, keys: fetch_minutes(api, w, keys))
        by_town = {t.town: t for t in towns}
        ina_down = {s.system: s.downtime_minutes for s in by_town["ina"].systems}
        others = {t: {s.system: s.downtime_minutes for s in by_town[t].systems} for t in lab.towns if t != "ina"}
        # ina: the circuit cut (about 2.5 min) and the DC cut (about 2.5 min); the others: the DC cut only
        assert all(4 <= m <= 8 for m in ina_down.values()), ina_down
        for town, down in others.items():
            assert all(2 <= m <= 4 for m in down.values()), (town, down)
        assert all(t.no_data_minutes == 0 for t in towns), [(t.town, t.no_data_minutes) for t in towns]
        # the WAN exporter saw ina's sessions down during the circuit cut
        assert wan and all(s.values[-1][1] == 0 for s in wan), wan

        report = municloud_cli(
            "sla", "report", "--from", start.isoformat(), "--to", end.isoformat(), "--no-pdf", "--json"
        )
        assert report.returncode in (0, 1), report.stderr[-2000:]
        assert {t["town"] for t in json.loads(report.stdout)["towns"]} == set(lab.towns)
    finally:
        down = municloud_cli("monitor", "down")
        assert down.returncode == 0, down.stdout + down.stderr
