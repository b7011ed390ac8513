"""A real Prometheus holding a month of probe data with known outages, built the documented way:
`promtool tsdb create-blocks-from openmetrics` for the probes' samples, then
`promtool tsdb create-blocks-from rules` for the recording rules, both into the data directory of a
Prometheus started by the test (on a free port, stopped by pid at the end)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from inventory.loader import Inventory
from monitoring.promapi import PrometheusAPI
from monitoring.rules import recording_rules

PROBE_OFFSETS = (5, 20, 35, 50)  # the probes' seconds within each minute, 15 s apart


@dataclass(frozen=True)
class ProbeSeries:
    town: str
    system: str
    tier: str
    down: list[tuple[datetime, datetime]]  # probes fail in [start, end)
    gaps: list[tuple[datetime, datetime]]  # no probe result at all in [start, end)


def openmetrics(series: Iterable[ProbeSeries], start: datetime, end: datetime) -> Iterator[str]:
    yield "# HELP municloud_probe_success 1 if the last probe succeeded\n"
    yield "# TYPE municloud_probe_success gauge\n"
    first, last = int(start.timestamp()), int(end.timestamp())
    for s in series:
        labels = f'municloud_probe_success{{town="{s.town}",system="{s.system}",tier="{s.tier}"}}'
        down = [(int(a.timestamp()), int(b.timestamp())) for a, b in s.down]
        gaps = [(int(a.timestamp()), int(b.timestamp())) for a, b in s.gaps]
        lines = []
        for minute in range(first, last, 60):
            for offset in PROBE_OFFSETS:
                t = minute + offset
                if any(a <= t < b for a, b in gaps):
                    continue
                value = 0 if any(a <= t < b for a, b in down) else 1
                lines.append(f"{labels} {value} {t}\n")
        yield "".join(lines)
    yield "# EOF\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class BackfilledPrometheus:
    api: PrometheusAPI
    data_dir: Path
    process: subprocess.Popen[bytes]


def _start(data: Path, config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.console.templates=/dev/null",
            "--web.console.libraries=/dev/null",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    api = PrometheusAPI(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while not api.ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"prometheus did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _promtool(*args: str) -> None:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"promtool {' '.join(args[:3])} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


@contextmanager
def backfilled_prometheus(
    inventory: Inventory, series: list[ProbeSeries], start: datetime, end: datetime, workdir: Path
) -> Iterator[BackfilledPrometheus]:
    """Probe data for [start, end) (whole minutes), the recording rules evaluated on every minute."""
    data, work = workdir / "data", workdir / "work"
    for d in (data, work):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    om = work / "probes.om"
    with om.open("w") as f:
        f.writelines(openmetrics(series, start, end))
    _promtool("tsdb", "create-blocks-from", "openmetrics", str(om), str(data))
    om.unlink()
    rules = work / "rules.yml"
    rules.write_text(yaml.safe_dump(recording_rules(inventory, str(rules))))
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": []}))
    port = free_port()
    process = _start(data, config, port, work / "prometheus.log")
    try:
        rule_blocks = work / "rule-blocks"
        _promtool(
            "tsdb",
            "create-blocks-from",
            "rules",
            f"--start={int(start.timestamp())}",
            f"--end={int(end.timestamp()) + 60}",
            f"--url=http://127.0.0.1:{port}",
            f"--output-dir={rule_blocks}",
            "--eval-interval=60s",
            str(rules),
        )
        _stop(process)
        for block in rule_blocks.iterdir():
            shutil.move(str(block), str(data / block.name))
        process = _start(data, config, port, work / "prometheus.log")
        yield BackfilledPrometheus(PrometheusAPI(f"http://127.0.0.1:{port}"), data, process)
    finally:
        _stop(process)


def minutes(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(minutes=1))
