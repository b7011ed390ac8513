"""The carrier wide-area network (広域NW): carrier edge routers, BGP and BFD settings (wan.yaml)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .base import Asn, Hostname, InventoryModel, NonEmptyText, Slug
from .sla import MaintenanceWindow


class CarrierEdge(InventoryModel):
    id: Slug
    name: Hostname


class Carrier(InventoryModel):
    name: NonEmptyText
    asn: Asn
    edges: Annotated[list[CarrierEdge], Field(min_length=2)]


class Bfd(InventoryModel):
    transmit_interval_ms: Annotated[int, Field(ge=10, le=60000)]
    receive_interval_ms: Annotated[int, Field(ge=10, le=60000)]
    detect_multiplier: Annotated[int, Field(ge=2, le=255)]


class BgpTimers(InventoryModel):
    keepalive_s: Annotated[int, Field(ge=1)]
    hold_s: Annotated[int, Field(ge=3)]

    @model_validator(mode="after")
    def _hold_covers_keepalives(self) -> BgpTimers:
        if self.hold_s < 3 * self.keepalive_s:
            raise ValueError(f"hold_s ({self.hold_s}) must be at least three keepalives ({3 * self.keepalive_s})")
        return self


class FailoverTarget(InventoryModel):
    """How fast a town on this kind of failure detection must be back on its other circuit."""

    failover_target_ms: Annotated[int, Field(gt=0)]


class TimerDetection(BgpTimers, FailoverTarget):
    """Short BGP timers, for platforms whose BGP has no BFD (both ends of the session run them)."""


class FailureDetection(InventoryModel):
    """A silent circuit loss noticed by BFD, or by short BGP timers where a platform has no BFD
    (inventory/platforms.py says which platform does which)."""

    bfd: FailoverTarget
    bgp_timers: TimerDetection

    def failover_target_ms(self, detection: str) -> int:
        """How soon a town whose router detects by `detection` (a platform's `failure_detection`:
        bfd or bgp-timers) must be on its other circuit."""
        return (self.bfd if detection == "bfd" else self.bgp_timers).failover_target_ms


class PathPreference(InventoryModel):
    primary_local_preference: Annotated[int, Field(ge=0)]
    backup_local_preference: Annotated[int, Field(ge=0)]
    backup_as_path_prepend: Annotated[int, Field(ge=0, le=10)]

    @model_validator(mode="after")
    def _primary_wins(self) -> PathPreference:
        if self.primary_local_preference <= self.backup_local_preference:
            raise ValueError("primary_local_preference must be higher than backup_local_preference")
        return self


class ChangeControl(InventoryModel):
    """When `municloud net apply` may change the routers (Japan time). Outside every window only an
    emergency change (`--emergency --reason ...`, recorded in the audit log) goes ahead. Environments
    listed as unrestricted (the lab) may be changed at any time."""

    unrestricted_environments: list[Slug] = []
    windows: list[MaintenanceWindow] = []  # same shapes as sla.yaml's: weekly, monthly (n-th), once


class WanFile(InventoryModel):
    carrier: Carrier
    bgp: BgpTimers
    bfd: Bfd
    failure_detection: FailureDetection
    path_preference: PathPreference
    change_control: ChangeControl = ChangeControl()
