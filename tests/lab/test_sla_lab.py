"""The SLA measurement on the small lab: the probe exporters on the towns' in-office servers, a real
Prometheus (`monitor up`) scraping them and the WAN exporter. A cut of both of ina's circuits is
downtime for ina only; a cut of DC1 at the same time is downtime for nobody else (the service moves
to DC2 and the business app reads from DC2's standby at once); a cut of both DCs is downtime for
every town. (The first two share one phase: four minutes less of a test that waits on whole minutes.)"""

from __future__ import annotations

import dataclasses
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

from .conftest import SMALL_SLOT, SmallLab, municloud_cli

pytestmark = pytest.mark.lab
PORT = 19190 + 10 * SMALL_SLOT  # each test slot its own ports, beside a developer's 9090


def _next_minute(moment: datetime) -> datetime:
    return (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _wait_for_minute() -> datetime:
    now = datetime.now(CONTRACT_TZ)
    start = _next_minute(now)
    time.sleep((start - now).total_seconds() + 0.5)
    return start


def test_circuit_and_dc_cuts_show_as_downtime(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    ports = ["--port", str(PORT), "--wan-port", str(PORT + 1), "--alertmanager-port", str(PORT + 2)]
    up = municloud_cli("monitor", "up", *ports, "--mail-port", str(PORT + 3))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        url = prometheus_url("lab")
        assert url
        api = PrometheusAPI(url)
        deadline = time.monotonic() + 180  # every target scraped once (a new target's health is "unknown")
        status = municloud_cli("monitor", "status", "--json")
        while status.returncode != 0 and time.monotonic() < deadline:
            time.sleep(5)
            status = municloud_cli("monitor", "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        assert {t["town"] for t in json.loads(status.stdout)["targets"] if t["job"] == "municloud-probe"} == set(
            lab.towns
        )

        start = _wait_for_minute()
        time.sleep(60)  # a good minute
        phases: dict[str, tuple[datetime, datetime]] = {}

        def phase(name: str, *faults: tuple[str, str]) -> None:
            began = datetime.now(CONTRACT_TZ)
            for kind, target in faults:
                if kind == "isolate_links":  # one fault over both DCs' links (their interconnect once)
                    lab.lab.fault_isolate_site(links=target.split(","))
                else:
                    getattr(lab.lab, kind)(target)
            time.sleep(150)
            lab.lab.heal()
            phases[name] = (began, datetime.now(CONTRACT_TZ))
            time.sleep(90)  # recovered, and a good minute between phases

        phase(
            "ina-circuits-and-dc1",
            ("fault_cut_link", "ina-primary"),
            ("fault_cut_link", "ina-backup"),
            ("fault_isolate_site", "dc1"),  # the service moves to DC2, reads from its standby
        )
        wan = api.query('min_over_time(municloud_wan_bgp_session_up{town="ina"}[4m])', time.time() - 90)
        both_links = sorted({lk.name for site in ("dc1", "dc2") for lk in lab.topo.links_of_site(site)})
        phase("both-dcs", ("isolate_links", ",".join(both_links)))
        end = _next_minute(datetime.now(CONTRACT_TZ)) - timedelta(minutes=1)
        time.sleep(70)  # the last minute recorded

        # every minute of the test counts: a 24/7 calendar
        always = around_the_clock("office")
        sla = lab.inventory.sla.model_copy(update={"calendars": [always, always.model_copy(update={"id": "extended"})]})
        inventory = dataclasses.replace(lab.inventory, sla=sla)

        def downtime(a: datetime, b: datetime, whole_minutes: bool = False) -> dict[str, dict[str, int]]:
            """Per town and system: the downtime minutes of [a, b], widened to the minute after b
            (recovery) unless whole_minutes."""
            period = span_period(a, b if whole_minutes else _next_minute(b) + timedelta(minutes=1))
            towns = evaluate_all(inventory, period, list(lab.towns), lambda w, keys: fetch_minutes(api, w, keys))
            assert all(t.no_data_minutes == 0 for t in towns), [(t.town, t.no_data_minutes) for t in towns]
            return {t.town: {s.system: s.downtime_minutes for s in t.systems} for t in towns}

        cut = downtime(*phases["ina-circuits-and-dc1"])
        assert all(2 <= m <= 4 for m in cut["ina"].values()), cut["ina"]
        assert all(m == 0 for town in lab.towns if town != "ina" for m in cut[town].values()), cut
        both = downtime(*phases["both-dcs"])
        assert all(2 <= m <= 4 for town in lab.towns for m in both[town].values()), both
        whole = downtime(start, end, whole_minutes=True)
        assert all(4 <= m <= 8 for m in whole["ina"].values()), whole["ina"]
        # the WAN exporter saw both of ina's sessions go down during the circuit cut
        assert {s.labels["circuit"] for s in wan if s.values[-1][1] == 0} == {"primary", "backup"}, wan

        report = municloud_cli(
            "sla", "report", "--from", start.isoformat(), "--to", end.isoformat(), "--no-pdf", "--json"
        )
        assert report.returncode in (0, 1), report.stderr[-2000:]
        assert {t["town"] for t in json.loads(report.stdout)["towns"]} == set(lab.towns)
    finally:
        down = municloud_cli("monitor", "down")
        assert down.returncode == 0, down.stdout + down.stderr
