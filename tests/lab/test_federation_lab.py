"""Monitoring through regional Prometheus servers and a global one, on the small lab: `monitor up
--regional` runs one regional server per node of the scale plan and a global server federating
their SLA minutes, while a single Prometheus of the usual configuration scrapes the same probes
beside them. The minutes the SLA report reads through the global view equal the single server's
minute for minute (ina's circuits cut: its down minutes too); a regional server stopped is a data
gap for exactly its towns in the global view, never uptime."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from inventory.model.sla import CONTRACT_TZ
from monitoring.federation import federation_lags
from monitoring.promapi import PrometheusAPI
from monitoring.prometheus_config import write_config
from monitoring.server import REGIONAL_PREFIX, MonitorPaths, prometheus_url, read_record
from monitoring.sla.calendar import Window, span_period
from monitoring.sla.fetch import fetch_minutes
from monitoring.tsdb_server import prometheus_argv
from toolkit.processes import ProcRef, stop_processes, wait_until

from .conftest import SMALL_SLOT, SmallLab, municloud_cli

pytestmark = pytest.mark.lab
PORT = 19390 + 10 * SMALL_SLOT  # beside the SLA and alert tests' ports
SINGLE_PORT = PORT + 9  # the regional servers take PORT + 5 and up (monitoring/server.py)
LOST_S = 150  # ina cut off and a regional server down: two whole minutes at least


def _next_minute(moment: datetime) -> datetime:
    return (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(CONTRACT_TZ)).total_seconds()))


def test_the_global_view_equals_a_single_server_and_a_lost_regional_server_is_a_gap(
    provisioned_lab: SmallLab, tmp_path: Path
) -> None:
    lab = provisioned_lab
    keys = [(t, s) for t in lab.towns for s in lab.inventory.town(t).subscriptions]
    # the single server, as `monitor up` would run it alone, on its own data
    single_files = write_config(lab.inventory, lab.environment(), tmp_path / "single")
    log = (tmp_path / "single.log").open("wb")
    argv = prometheus_argv(single_files.config, tmp_path / "single-data", SINGLE_PORT, "1d")
    single_process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    single_ref = ProcRef.of(single_process.pid)
    up = municloud_cli(
        "monitor", "up", "--regional", "--port", str(PORT), "--wan-port", str(PORT + 1),
        "--alertmanager-port", str(PORT + 2), "--mail-port", str(PORT + 3),
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        record = read_record(MonitorPaths.for_env("lab"))
        regional = sorted(n for n in record if n.startswith(REGIONAL_PREFIX))
        assert len(regional) >= 2, list(record)
        single = PrometheusAPI(f"http://127.0.0.1:{SINGLE_PORT}")
        assert wait_until(single.ready, 60, 0.5)
        deadline = time.monotonic() + 180
        status = municloud_cli("monitor", "status", "--json")
        while status.returncode != 0 and time.monotonic() < deadline:
            time.sleep(5)
            status = municloud_cli("monitor", "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        served = {name: sorted(_towns_of(name)) for name in regional}
        assert sorted(t for towns in served.values() for t in towns) == sorted(lab.towns), served
        global_url = prometheus_url("lab")
        assert global_url == f"http://127.0.0.1:{PORT}"
        glob = PrometheusAPI(global_url)

        start = _next_minute(datetime.now(CONTRACT_TZ))
        # a good minute, and how long a recorded minute takes to reach the global view: under a
        # minute, or the next one would replace it on the regional server before it is federated
        lags = federation_lags(glob, (start + timedelta(seconds=80) - datetime.now(CONTRACT_TZ)).total_seconds())
        assert lags and max(lags) < 60, lags
        # at once: ina's circuits cut (its down minutes, on the server that serves it) and the
        # regional server that does not serve ina lost (a gap for its towns)
        lost = next(n for n in regional if "ina" not in served[n])
        lost_towns = set(served[lost])
        stopped = datetime.now(CONTRACT_TZ)
        lab.lab.fault_cut_link("ina-primary")
        lab.lab.fault_cut_link("ina-backup")
        assert stop_processes([record[lost].ref], grace=10.0) == []
        time.sleep(LOST_S)
        lab.lab.heal()
        again = municloud_cli(
            "monitor", "up", "--regional", "--port", str(PORT), "--wan-port", str(PORT + 1),
            "--alertmanager-port", str(PORT + 2), "--mail-port", str(PORT + 3),
        )  # fmt: skip
        assert again.returncode == 0, again.stdout + again.stderr
        end = _next_minute(datetime.now(CONTRACT_TZ))  # the minute the heal fell in, whole
        _sleep_until(end + timedelta(seconds=25))  # its sample recorded (0.25 s) and federated (< 15 s)

        window = Window(span_period(start, end), timedelta(0))
        by_global = fetch_minutes(glob, window, keys)
        by_single = fetch_minutes(single, window, keys)
        gap = slice(window.index(stopped) + 1, window.index(stopped + timedelta(seconds=LOST_S)) - 1)
        for key in keys:
            g, s = by_global[key], by_single[key]
            assert list(s.missing) == [], (key, s.missing)  # the single server measured every minute
            if key[0] in lost_towns:
                # the lost server's minutes are a gap in the global view, never uptime; the rest equal
                gap_minutes = set(range(gap.start, gap.stop))
                assert gap_minutes <= set(g.missing), (key, g.missing, gap)
                assert set(g.down) <= set(s.down), key
            else:
                assert np.array_equal(g.down, s.down) and np.array_equal(g.missing, s.missing), (key, g, s)
        assert all(len(by_single[("ina", s)].down) >= 2 for s in lab.inventory.town("ina").subscriptions)
        print(
            f"regional servers {served}; federation lag {min(lags):.1f}-{max(lags):.1f} s; "
            f"{lost} stopped {LOST_S} s: a gap for {sorted(lost_towns)} only"
        )
    finally:
        stop_processes([single_ref] if single_ref else [], grace=10.0)
        lab.lab.heal()
        down = municloud_cli("monitor", "down")
        assert down.returncode == 0, down.stdout + down.stderr


def _towns_of(name: str) -> set[str]:
    """The towns a regional server scrapes, from its generated configuration."""
    import yaml

    folder = MonitorPaths.for_env("lab").config_dir / name.removeprefix(REGIONAL_PREFIX)
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    return {
        sc["labels"]["town"]
        for job in config["scrape_configs"]
        if job["job_name"] == "municloud-probe"
        for sc in job["static_configs"]
    }
