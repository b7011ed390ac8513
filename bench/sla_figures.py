"""Benchmarks of SLA measurement:
- the month's SLA evaluation and data files (JSON, CSV) for the 18 towns x their systems, on
  synthetic per-minute data (1 outage and 1 data gap per system, so every code path runs), target
  under 10 s; the Prometheus read is not in this figure (see README: left out at this scale);
- the whole report set with HTML and PDF documents (summary + one per town), measured, our target;
- one scrape of a town's probe exporter (prometheus_client's HTTP server, 28 systems, histograms
  included), median of 50, target under 50 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry, start_http_server

from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ
from monitoring.probe_exporter import ProbeConfig, Prober
from monitoring.sla.calendar import Window, month_period
from monitoring.sla.engine import SeriesMinutes
from monitoring.sla.render import write_report_set
from monitoring.sla.report import SlaReportData, evaluate_all, write_data_files


def _synthetic(window: Window, keys: list[tuple[str, str]]) -> dict[tuple[str, str], SeriesMinutes]:
    rng = np.random.default_rng(6)
    out = {}
    for key in keys:
        start = int(rng.integers(0, window.minutes - 120))
        gap = int(rng.integers(0, window.minutes - 30))
        out[key] = SeriesMinutes(np.arange(start, start + int(rng.integers(1, 90))), np.arange(gap, gap + 10))
    return out


def _report() -> tuple[SlaReportData, float]:
    inventory = load_inventory()
    period = month_period("2026-05")
    started = time.perf_counter()
    towns = evaluate_all(inventory, period, [t.id for t in inventory.towns], _synthetic)
    data = SlaReportData(
        period,
        datetime.now(CONTRACT_TZ),
        "synthetic",
        inventory,
        towns,
        inventory.sla.min_outage_seconds,
        inventory.sla.measurement.down_minute_failed_share,
        inventory.sla.measurement.no_data,
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_data_files(data, Path(tmp), "sla")
    return data, time.perf_counter() - started


def _scrape_ms() -> float:
    inventory = load_inventory()
    town = inventory.town("ina")
    systems = tuple((s.id, s.tier) for s in inventory.subscribed_systems(town))
    config = ProbeConfig(town="ina", target="http://127.0.0.1:9", systems=systems)
    registry = CollectorRegistry()
    prober = Prober(config, registry)
    for system, tier in systems:  # as after a round: every gauge and histogram has a value
        prober.success.labels("ina", system, tier).set(1)
        prober.duration.labels("ina", system, tier).observe(0.01)
    server = start_http_server(0, addr="127.0.0.1", registry=registry)
    port = server[0].server_port if isinstance(server, tuple) else None
    if port is None:  # prometheus_client < 0.17 returns nothing: find the thread's server
        raise RuntimeError("prometheus_client too old to report the port")
    url = f"http://127.0.0.1:{port}/metrics"
    times = []
    for _ in range(50):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=5) as answer:
            answer.read()
        times.append((time.perf_counter() - t) * 1000)
    server[0].shutdown()
    return statistics.median(times)


def run() -> list[dict[str, object]]:
    data, seconds = _report()
    systems = sum(len(t.systems) for t in data.towns)
    rows: list[dict[str, object]] = [
        {
            "figure": f"SLA month evaluation + JSON/CSV, {len(data.towns)} towns, {systems} (town, system)",
            "target": "< 10 s",
            "measured": f"{seconds:.2f} s",
            "met": seconds < 10,
            "profile": "full inventory, synthetic minutes (no Prometheus read)",
        }
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_report_set(data, Path(tmp))
    docs = time.perf_counter() - started
    rows.append(
        {
            "figure": f"SLA documents: summary + {len(data.towns)} towns, HTML/PDF/CSV/JSON ({len(files)} files)",
            "target": "< 120 s (ours)",
            "measured": f"{docs:.1f} s",
            "met": docs < 120,
            "profile": "full inventory, weasyprint + matplotlib",
        }
    )
    ms = _scrape_ms()
    rows.append(
        {
            "figure": "one scrape of a town's probe exporter (28 systems)",
            "target": "< 50 ms",
            "measured": f"{ms:.1f} ms (median of 50)",
            "met": ms < 50,
            "profile": "prometheus_client HTTP server, loopback",
        }
    )
    return rows
