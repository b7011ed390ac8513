"""One running drill: what the activities act on and what they record. The activities (Chaos
Toolkit python providers) find it with `current()`: chaostoolkit-lib calls them with the arguments
of the scenario file only, so the drill is the process-wide context they share."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from lab.engine import Lab
from pki.authority import Authority

from .fastprobe import client_context
from .probes import Stream
from .scenario import Scenario


@dataclass
class Drill:
    scenario: Scenario
    inventory: Inventory
    binding: EnvironmentBinding
    towns: list[str]  # every town of the drill (probed)
    selected: list[str]  # the towns chosen with --town (all by default)
    operator: str
    dry_run: bool
    out_dir: Path
    lab: Lab | None
    pki: Authority  # the towns' certificates: the service speaks mutual TLS
    streams: dict[str, Stream] = field(default_factory=dict)  # town -> service probe
    writes: dict[str, Stream] = field(default_factory=dict)  # town -> heartbeat writes
    fault_at: dict[str, float] = field(default_factory=dict)  # town -> when the fault reached it
    first_fault_at: float | None = None
    rpo: dict[str, Any] | None = None
    incident_at: float | None = None  # when a town's data was destroyed (the data-destruction drill)
    restore: dict[str, Any] | None = None  # the point-in-time restore that undid it
    observations: list[str] = field(default_factory=list)
    stop_condition: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def affected(self) -> list[str]:
        if self.scenario.affects == "none":
            return []
        return list(self.selected if self.scenario.affects == "selected-towns" else self.towns)

    def faulted(self, towns: list[str]) -> None:
        """Record that the fault reaches `towns` now."""
        now = time.time()
        with self.lock:
            for town in towns:
                self.fault_at.setdefault(town, now)
            if self.first_fault_at is None:
                self.first_fault_at = now

    def observe(self, text: str) -> None:
        with self.lock:
            if text not in self.observations:
                self.observations.append(text)

    def refresh(self) -> None:
        for stream in [*self.streams.values(), *self.writes.values()]:
            stream.read()

    def town_tls(self, town: str) -> tuple[Path, Path]:
        """The CA to pin and the town's key and certificate (checked: PkiError names the file)."""
        return self.pki.ca_cert_path, self.pki.town_identity(town)

    def operations_tls(self) -> ssl.SSLContext:
        """The operations center's TLS client (reads heartbeat ids, no tenant's data)."""
        return client_context(self.pki.ca_cert_path, self.pki.operations_identity())

    def need_lab(self) -> Lab:
        if self.lab is None:
            raise RuntimeError(
                f"environment '{self.binding.name}' has no lab to inject faults into: in production this "
                "step is a manual one (see the scenario's manual steps)"
            )
        return self.lab


_current: Drill | None = None


def current() -> Drill:
    if _current is None:
        raise RuntimeError("no drill is running")
    return _current


def set_current(drill: Drill | None) -> None:
    global _current
    _current = drill
