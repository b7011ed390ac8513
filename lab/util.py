"""Small helpers shared by the lab modules: bounded subprocesses and the root check. The process
helpers (pid and start time, stop by pid) are the toolkit's (`toolkit.processes`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

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
