"""Small helpers shared by the lab modules: bounded subprocesses, the root check, and the progress
and thread pool that `up` and `down` share. The process helpers (pid and start time, stop by pid)
are the toolkit's (`toolkit.processes`)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEFAULT_TIMEOUT = 60.0
Progress = Callable[[str, int, int], None]  # (what is being done, units done, units in all)


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


class Ticker:
    """Counts the units of work done (from several threads) and reports each step to `progress`."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self.lock = threading.Lock()

    def __call__(self, what: str, units: int = 1) -> None:
        with self.lock:
            self.done = min(self.total, self.done + units)
            if self.progress:
                self.progress(what, self.done, self.total)


def parallel(
    fn: Callable[[Any], None], items: Sequence[Any], workers: int, what: str, raise_errors: bool = True
) -> None:
    """`fn` on every item, `workers` at a time; one LabError naming every item that failed."""
    if not items:
        return
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = {pool.submit(fn, item): item for item in items}
        for fut, item in futures.items():
            try:
                fut.result(timeout=600)
            except Exception as exc:
                errors.append(f"{what} {getattr(item, 'name', item)}: {exc}")
    if errors and raise_errors:
        raise LabError("; ".join(errors))
