"""The lab's record of what it created, a JSON file outside the repo.

Every namespace, link, bridge, container, nftables table, route, process (pid + start time) and
fault the lab creates is written here *before or right after* it is created, so that `down()` after a
crash knows it. `down()` does not trust it alone: it also scans the system for names with the prefix.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path("/var/lib/municloud/lab")

EMPTY: dict[str, Any] = {
    "topology": None,
    "prefix": None,
    "namespaces": [],
    "links": [],  # interface names in the root namespace (bridges, veth ends)
    "containers": [],
    "nft_tables": [],  # [{"ns": ns or "", "family": .., "name": ..}]
    "routes": [],  # routes added in the root namespace
    "processes": {},  # key -> {"pid", "start", "what"}
    "faults": [],  # [{"id", "kind", "target", ...}]
    "phase": "empty",
}


class LabState:
    """Thread-safe, crash-safe (atomic rename) view of the state file."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / "state.json"
        self._lock = threading.RLock()
        self.data: dict[str, Any] = json.loads(json.dumps(EMPTY))
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
                self.data.update(loaded)
            except (OSError, ValueError):
                pass  # a torn file: down() still finds everything on the system

    def save(self) -> None:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True))
            os.replace(tmp, self.path)

    # ---- recording helpers (each saves at once) -------------------------------------------------
    def add(self, key: str, value: Any) -> None:
        with self._lock:
            if value not in self.data[key]:
                self.data[key].append(value)
                self.save()

    def remove(self, key: str, value: Any) -> None:
        with self._lock:
            if value in self.data[key]:
                self.data[key].remove(value)
                self.save()

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.data[key] = value
            self.save()

    def set_process(self, name: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            if record is None:
                self.data["processes"].pop(name, None)
            else:
                self.data["processes"][name] = record
            self.save()

    def reset(self) -> None:
        with self._lock:
            self.data = json.loads(json.dumps(EMPTY))
            self.save()


@contextlib.contextmanager
def exclusive(state_dir: Path, what: str) -> Iterator[None]:
    """One lab operation at a time. The kernel drops the lock when the holder dies."""
    from lab.util import LabError

    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LabError(f"another lab operation is running (lock {state_dir / 'lock'}); {what} not started") from exc
        yield
    finally:
        os.close(fd)
