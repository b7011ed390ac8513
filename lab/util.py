"""Small helpers shared by the lab modules: bounded subprocesses, root check, process identity."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 60.0


class LabError(RuntimeError):
    """Something in the lab failed; the message names what failed and what was left as it was."""


class NotRootError(LabError):
    """The lab needs root (namespaces, bridges, nftables, LXC). The CLI turns this into exit 2."""


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "the lab needs root: it creates network namespaces, bridges, nftables tables and LXC "
            "containers. Run it as root (e.g. `sudo municloud lab up`)."
        )


def run(
    cmd: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a timeout; raise LabError naming the command when it fails."""
    try:
        proc = subprocess.run(
            list(cmd),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from exc
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {cmd[0]} (run `make setup` to install the lab's packages)") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {detail}")
    return proc


def ok(cmd: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Run a command; True if it exited 0 (never raises for a failing command)."""
    try:
        return run(cmd, timeout=timeout, check=False).returncode == 0
    except LabError:
        return False


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
    import signal

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
