"""The fast probe streams of a drill: one process per town in the town's own network (the lab's
client namespace), started before the method and stopped after the rollbacks, and what they say:
outages per town to the millisecond, and the heartbeat writes the RPO is measured from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_PORT = 8080  # the business app (playbooks' group_vars: business_app_port)
HEARTBEAT_INTERVAL_MS = 200  # a town's heartbeat writes (the RPO is counted in them)

# The drill's own load on the one service: every town's HTTPS probes and heartbeat writes, and the
# probe processes that send them, all on the lab's machine. On the full lab (18 towns, reads every
# 100 ms, writes every 200 ms: 270 requests a second) they took most of a core of two, and the
# service under test answered slower than the probes wait (towns "out" again and again after the
# first recovery). A town's interval widens so that all towns together stay within these rates; the
# journal records the intervals used (the outages' resolution).
MAX_REQUESTS_PER_SECOND = {"http": 100, "write": 40}


def stream_interval_ms(kind: str, wanted_ms: int, towns: int) -> int:
    """A town's probe interval: `wanted_ms`, widened when `towns` probing at it would exceed the
    kind's budget (tcp probes are a connection each, not a request: never widened)."""
    budget = MAX_REQUESTS_PER_SECOND.get(kind)
    if budget is None or towns <= 0:
        return wanted_ms
    return max(wanted_ms, -(-towns * 1000 // budget))


@dataclass
class Sample:
    at: float
    ok: bool
    detail: str


@dataclass
class Outage:
    start: float  # the first failed probe
    end: float | None  # the first good probe after it (None: never came back)
    failures: int

    @property
    def ms(self) -> float | None:
        return None if self.end is None else (self.end - self.start) * 1000


@dataclass(frozen=True)
class PlannedOutage:
    """A method step during which the service may stop, e.g. the fail-back's switch-over."""

    step: str
    start: float  # the step's start and end
    end: float
    seconds: float  # the longest outage it may cause

    def covers(self, outage: Outage) -> bool:
        """`outage` began while the step ran and ended within what the step may cause."""
        return self.start <= outage.start <= self.end and outage.ms is not None and outage.ms <= self.seconds * 1000


def planned_during(outage: Outage, planned: list[PlannedOutage]) -> PlannedOutage | None:
    """The step with a planned outage that was running when `outage` began (within its allowance or not)."""
    return next((p for p in planned if p.start <= outage.start <= p.end), None)


@dataclass
class Stream:
    town: str
    kind: str  # tcp | http | write
    path: Path
    process: subprocess.Popen[bytes] | None = None
    interval_ms: int | None = None  # how often it probed (None: not started by this drill)
    _offset: int = 0
    samples: list[Sample] = field(default_factory=list)
    # The stop-condition watcher and the steps both read: one at a time, or the offset tears lines.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> list[Sample]:
        """Samples written since the last read (the file grows while the probe runs)."""
        with self._lock:
            return self._read()

    def _read(self) -> list[Sample]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        new = []
        for line in complete.decode().splitlines():
            parts = line.split(" ", 2)
            new.append(Sample(float(parts[0]), parts[1] == "1", parts[2] if len(parts) > 2 else ""))
        self.samples += new
        return new

    def outages(self, since: float) -> list[Outage]:
        """Runs of failed probes at or after `since`, each ended by the next good probe."""
        runs: list[Outage] = []
        current: Outage | None = None
        for s in self.samples:
            if s.at < since:
                continue
            if not s.ok:
                if current is None:
                    current = Outage(s.at, None, 0)
                current.failures += 1
            elif current is not None:
                current.end = s.at
                runs.append(current)
                current = None
        if current is not None:
            runs.append(current)
        return runs

    def failing_for(self, now: float) -> float:
        """Seconds this stream has been failing without a good probe (0 when the last was good)."""
        last_ok = None
        first_bad_after = None
        for s in reversed(self.samples):
            if s.ok:
                last_ok = s.at
                break
            first_bad_after = s.at
        if first_bad_after is None:
            return 0.0
        return now - first_bad_after if last_ok is None or first_bad_after > last_ok else 0.0

    def good_since(self, seconds: float, now: float, after: float | None = None) -> bool:
        """The last `seconds` of probes were all good (and there were some), and they all came
        after `after` (the fault: good probes from before it prove nothing)."""
        start = now - seconds
        if after is not None and start < after:
            return False
        recent = [s for s in self.samples if s.at >= start]
        return bool(recent) and all(s.ok for s in recent) and self.samples[0].at <= start


def start_stream(
    town: str,
    kind: str,
    netns: str,
    host: str,
    interval_ms: int,
    duration: float,
    out_dir: Path,
    systems: list[str] | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Stream:
    """One fast probe stream from `netns`; `tls` (the CA, the town's key and certificate) makes the
    http and write probes speak HTTPS as the town (the tcp probe opens the port only)."""
    path = out_dir / f"{town}.{kind}.probe"
    path.unlink(missing_ok=True)
    # Probes do not wait for each other (see fastprobe), so a generous timeout costs no resolution
    # and a loaded machine's slow answer is not taken for an outage.
    timeout = 0.3 if kind == "tcp" else 1.0
    cmd = [
        "ip",
        "netns",
        "exec",
        netns,
        sys.executable,
        "-m",
        "bcp_drills.fastprobe",
        "--mode",
        kind,
        "--host",
        host,
        "--port",
        str(SERVICE_PORT),
        "--town",
        town,
        "--systems",
        ",".join(systems or []),
        "--interval",
        str(interval_ms / 1000),
        "--timeout",
        str(timeout),
        "--duration",
        str(duration),
        "--out",
        str(path),
    ]
    if tls is not None and kind != "tcp":
        cmd += ["--ca", str(tls[0]), "--cert", str(tls[1])]
    # Its own session: a Ctrl-C at the terminal reaches the drill, which stops the probes itself.
    process = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    return Stream(town, kind, path, process, interval_ms)


def stop_streams(streams: list[Stream], grace: float = 3.0) -> None:
    for s in streams:
        if s.process is not None and s.process.poll() is None:
            os.killpg(s.process.pid, signal.SIGTERM)  # the probe's own session: ours, by pid
    deadline = time.monotonic() + grace
    for s in streams:
        if s.process is None:
            continue
        try:
            s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(s.process.pid, signal.SIGKILL)
            s.process.wait()
        s.read()
