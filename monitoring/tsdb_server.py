"""Debian's `prometheus` started the one way this project starts it, and a Prometheus serving an
existing TSDB directory for the length of a `with` block.

`prometheus_argv` is shared by `monitor up` (monitoring/server.py) and by `serving_tsdb`, so every
Prometheus of ours listens on loopback only, keeps what it is given for as long as asked, and needs
no console files. `serving_tsdb` is for data written by promtool's backfill (the SLA tests' month,
the 1,700-town benchmark's cache): no scrape targets, retention far beyond the data (a backfilled
month is old by the time it is read, and the default 15 days would delete it at once), stopped by
the pid it started, also when the block fails.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .promapi import PrometheusAPI

KEEP_EVERYTHING = "100y"
NO_SCRAPES = "global:\n  scrape_interval: 15s\nscrape_configs: []\n"


def prometheus_argv(config: Path, data: Path, port: int, retention: str, *extra: str) -> list[str]:
    return [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.console.templates=/dev/null",
        "--web.console.libraries=/dev/null",
        *extra,
    ]


@dataclass(frozen=True)
class ServingTsdb:
    api: PrometheusAPI
    pid: int  # Prometheus' own: a command prefix such as `nice` execs it in the same process


@contextmanager
def serving_tsdb(
    data: Path,
    work: Path,
    port: int,
    *,
    prefix: Sequence[str] = (),
    ready_timeout: float = 60,
    api_timeout: float = 120,
) -> Iterator[ServingTsdb]:
    """Prometheus on `data` at 127.0.0.1:`port`, its configuration and log in `work`; `prefix`
    runs it under e.g. nice. Ready when the block starts (a large TSDB takes a while to open)."""
    config, log = work / "prometheus.yml", work / "prometheus.log"
    config.write_text(NO_SCRAPES)
    process = subprocess.Popen(
        [*prefix, *prometheus_argv(config, data, port, KEEP_EVERYTHING)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        api = PrometheusAPI(f"http://127.0.0.1:{port}", timeout=api_timeout)
        deadline = time.monotonic() + ready_timeout
        while not api.ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not start on {data}: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield ServingTsdb(api, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
