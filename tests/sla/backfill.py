"""A real Prometheus holding a month of probe data with known outages, built the documented way:
`promtool tsdb create-blocks-from openmetrics` for the probes' samples, then
`promtool tsdb create-blocks-from rules` for the recording rules, both into the data directory of a
Prometheus started by the test (on a free port, stopped by pid at the end)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from inventory.loader import Inventory
from monitoring.promapi import PrometheusAPI
from monitoring.rules import recording_rules
from monitoring.tsdb_server import serving_tsdb

PROBE_OFFSETS = (5, 20, 35, 50)  # the probes' seconds within each minute, 15 s apart
PROBE_METRIC = "municloud_probe_success"
# promtool (2.42) reads its whole input once for each 2 h block the input spans: a month in one file
# was read ~370 times over (66 s here), a file per block costs a promtool start each (40 s). A file
# per day (12 blocks, multiples of 2 h since the epoch, so no block is split between two files)
# costs both a little: 12 reads of a day's file, 33 starts.
FILE_SECONDS = 24 * 3600
PROMTOOL_RUNS = 4  # a promtool run mostly waits on its block writes: four side by side halve the time


@dataclass(frozen=True)
class ProbeSeries:
    town: str
    system: str
    tier: str
    down: list[tuple[datetime, datetime]]  # probes fail in [start, end)
    gaps: list[tuple[datetime, datetime]]  # no probe result at all in [start, end)


def openmetrics(series: Iterable[ProbeSeries], start: datetime, end: datetime) -> Iterator[str]:
    yield f"# HELP {PROBE_METRIC} 1 if the last probe succeeded\n"
    yield f"# TYPE {PROBE_METRIC} gauge\n"
    first, last = int(start.timestamp()), int(end.timestamp())
    for s in series:
        labels = f'{PROBE_METRIC}{{town="{s.town}",system="{s.system}",tier="{s.tier}"}}'
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


def file_spans(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at the multiples of FILE_SECONDS since the epoch."""
    at = start
    while at < end:
        boundary = datetime.fromtimestamp((int(at.timestamp()) // FILE_SECONDS + 1) * FILE_SECONDS, at.tzinfo)
        yield at, min(boundary, end)
        at = boundary


def per_day(step: Callable[[tuple[datetime, datetime]], None], start: datetime, end: datetime) -> None:
    """`step` for each file span of [start, end), PROMTOOL_RUNS at a time: the spans' 2 h blocks
    never overlap, so the promtool runs write side by side into one directory."""
    with ThreadPoolExecutor(max_workers=PROMTOOL_RUNS) as pool:
        for _ in pool.map(step, file_spans(start, end)):
            pass  # re-raises a failed run's error


def probe_rules(inventory: Inventory, rule_file: str) -> dict[str, Any]:
    """The recording rule groups computed from the probes' success gauge, the one metric written
    here: the others (error ratios from the probes' counters) would record nothing, and promtool
    would still send them one query per rule and 2 h block."""
    groups = recording_rules(inventory, rule_file)["groups"]
    return {"groups": [g for g in groups if all(PROBE_METRIC in r["expr"] for r in g["rules"])]}


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
    inventory: Inventory,
    series: list[ProbeSeries],
    start: datetime,
    end: datetime,
    workdir: Path,
    rules_named_for: str | None = None,
) -> Iterator[BackfilledPrometheus]:
    """Probe data for [start, end) (whole minutes), the recording rules evaluated on every minute;
    `rules_named_for`: generate the rules for another path than the one they are loaded from (their
    minutes then fall off the minute, as from an operator's own copy of the rules)."""
    data, work = workdir / "data", workdir / "work"
    for d in (data, work):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    def import_probes(span: tuple[datetime, datetime]) -> None:
        om = work / f"probes-{int(span[0].timestamp())}.om"
        with om.open("w") as f:
            f.writelines(openmetrics(series, *span))
        _promtool("tsdb", "create-blocks-from", "openmetrics", "--quiet", str(om), str(data))
        om.unlink()

    per_day(import_probes, start, end)
    rules = work / "rules.yml"
    rules.write_text(yaml.safe_dump(probe_rules(inventory, rules_named_for or str(rules))))
    port = free_port()
    rule_blocks = work / "rule-blocks"

    def evaluate_rules(span: tuple[datetime, datetime]) -> None:
        _promtool(
            "tsdb",
            "create-blocks-from",
            "rules",
            "--quiet",
            f"--start={int(span[0].timestamp())}",
            f"--end={int(span[1].timestamp()) - 1}",  # promtool's end is included
            f"--url=http://127.0.0.1:{port}",
            f"--output-dir={rule_blocks}",
            "--eval-interval=60s",
            str(rules),
        )

    with serving_tsdb(data, work, port):  # promtool evaluates the rules through Prometheus' API
        per_day(evaluate_rules, start, end + timedelta(minutes=1))  # the minute ending at `end` too
    for block in rule_blocks.iterdir():  # Prometheus loads blocks when it starts: moved in while stopped
        shutil.move(str(block), str(data / block.name))
    with serving_tsdb(data, work, port) as served:
        yield BackfilledPrometheus(served.api, data)


def minutes(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(minutes=1))
