"""Where network changes keep their state: outside the source tree, under the state directory.

<state>/network/plans/<plan-id>.json     plans written by `net plan`
<state>/network/changes/<change-id>.json the journal of each apply (who, which devices, how far)
<state>/network/locks/<device>.lock      one lock per device (flock: released if the process dies)
<state>/network/backups/                 a git repository: every device's running config
<state>/network/audit.jsonl              the audit log
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.settings import state_dir


def network_dir() -> Path:
    return state_dir() / "network"


def plans_dir() -> Path:
    return network_dir() / "plans"


def changes_dir() -> Path:
    return network_dir() / "changes"


def locks_dir() -> Path:
    return network_dir() / "locks"


def backups_dir() -> Path:
    return network_dir() / "backups"


def audit_path() -> Path:
    return network_dir() / "audit.jsonl"


def who() -> str:
    """The operator, as the audit log records them (sudo keeps the real user in SUDO_USER)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    real = os.environ.get("SUDO_USER")
    return f"{real} (as {user})@{socket.gethostname()}" if real else f"{user}@{socket.gethostname()}"


def write_json(path: Path, data: Any) -> None:
    """Atomically: a reader never sees half a file, and a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


class LockHeld(RuntimeError):
    """Another change holds a device's lock."""


@contextmanager
def device_locks(devices: list[str], holder: str) -> Iterator[None]:
    """Hold every device's lock for the duration, or raise LockHeld naming who holds which. The
    kernel releases a lock when its process dies, so a killed apply never leaves a lock behind (its
    journal says what it left unfinished)."""
    locks_dir().mkdir(parents=True, exist_ok=True)
    handles = []
    try:
        busy = []
        for device in sorted(devices):
            path = locks_dir() / f"{device}.lock"
            handle = open(path, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                busy.append(f"{device} ({handle.read().strip() or 'unknown holder'})")
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{holder}, pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            handle.flush()
            handles.append(handle)
        if busy:
            raise LockHeld("another change holds the lock of: " + "; ".join(busy))
        yield
    finally:
        for handle in handles:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
