"""Processes of ours, identified by pid and kernel start time so that a recycled pid is never
signalled, stopped by pid (never by name), and recorded in a state directory so that whatever they
live off (a lab) stops them too. Used by the lab's routers and containers and by the monitoring's
Prometheus and exporters alike."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds passed. Bounded."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass(frozen=True)
class ProcRef:
    """A process identified by pid and kernel start time, so a recycled pid is never signalled."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcRef | None:
        start = proc_start_time(pid)
        return None if start is None else cls(pid, start)

    def alive(self) -> bool:
        return proc_start_time(self.pid) == self.start

    def to_json(self) -> dict[str, int]:
        return {"pid": self.pid, "start": self.start}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> ProcRef:
        return cls(int(data["pid"]), int(data["start"]))


def proc_start_time(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    state = fields[0]
    if state == "Z":
        return None
    return int(fields[19])


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def stop_processes(refs: Sequence[ProcRef], grace: float = 5.0) -> list[ProcRef]:
    """SIGTERM every process (in the given order), wait up to `grace` s, SIGKILL survivors.

    Returns the processes still alive afterwards (normally none). Only these pids are signalled.
    """
    live = [r for r in refs if r.alive()]
    for ref in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ref.pid, signal.SIGTERM)
    wait_until(lambda: not any(r.alive() for r in live), grace, 0.05)
    for ref in live:
        if ref.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(ref.pid, signal.SIGKILL)
    wait_until(lambda: not any(r.alive() for r in live), 3.0, 0.05)
    return [r for r in live if r.alive()]


# ---- processes of other parts that depend on a lab (Prometheus scraping it, say) -----------------------
ATTACHED_DIR = "attached"


def attach_process(state_dir: Path, name: str, ref: ProcRef) -> Path:
    """Record a process started outside the lab but living off it, so `lab down` stops it too (by
    pid and start time, never by name)."""
    path = state_dir / ATTACHED_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ref.to_json()))
    return path


def detach_process(state_dir: Path, name: str) -> None:
    (state_dir / ATTACHED_DIR / f"{name}.json").unlink(missing_ok=True)


def attached_processes(state_dir: Path) -> list[tuple[Path, ProcRef]]:
    found = []
    for path in sorted((state_dir / ATTACHED_DIR).glob("*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            found.append((path, ProcRef.from_json(json.loads(path.read_text()))))
    return found
