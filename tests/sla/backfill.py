"""A real Prometheus holding a month of probe data with known outages, built the documented way:
`promtool tsdb create-blocks-from openmetrics` for the probes' samples, then
`promtool tsdb create-blocks-from rules` for the recording rules, both into the data directory of a
Prometheus started by the test (on a free port, stopped by pid at the end)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from inventory.loader import Inventory
from monitoring.promapi import PrometheusAPI
from monitoring.rules import recording_rules
from monitoring.tsdb_server import serving_tsdb

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


@dataclass(frozen=True)
class BackfilledPrometheus:
    api: PrometheusAPI
    data_dir: Path


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
    port = free_port()
    rule_blocks = work / "rule-blocks"
    with serving_tsdb(data, work, port):  # promtool evaluates the rules through Prometheus' API
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
    for block in rule_blocks.iterdir():  # Prometheus loads blocks when it starts: moved in while stopped
        shutil.move(str(block), str(data / block.name))
    with serving_tsdb(data, work, port) as served:
        yield BackfilledPrometheus(served.api, data)


def minutes(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(minutes=1))
