"""Change windows (wan.yaml `change_control`): may a change go ahead now, and in which window?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, MaintenanceWindow, to_contract_time


@dataclass(frozen=True)
class WindowVerdict:
    open: bool
    reason: str


@dataclass(frozen=True)
class OpenWindow:
    """The occurrence of a change window a moment falls in: [start, end) as naive Japan times."""

    window: MaintenanceWindow
    start: datetime
    end: datetime


def window_at(inventory: Inventory, now: datetime | None = None) -> OpenWindow | None:
    """The change window occurrence `now` is inside (its end tells how long a change may run:
    the silence of a `net apply` lasts until then), or None outside every window."""
    local = to_contract_time(now or datetime.now(CONTRACT_TZ))
    for window in inventory.wan.change_control.windows:
        # the occurrence overlapping the one microsecond at `local` is the one that contains it
        for start, end in window.occurrences(local, local + timedelta(microseconds=1)):
            return OpenWindow(window, start, end)
    return None


def change_window(inventory: Inventory, environment: str, now: datetime | None = None) -> WindowVerdict:
    control = inventory.wan.change_control
    if environment in control.unrestricted_environments:
        return WindowVerdict(True, f"environment '{environment}' may be changed at any time (wan.yaml)")
    local = to_contract_time(now or datetime.now(CONTRACT_TZ))
    inside = window_at(inventory, local)
    if inside is not None:
        return WindowVerdict(True, f"inside change window '{inside.window.id}' ({inside.window.name})")
    names = ", ".join(w.id for w in control.windows) or "none configured"
    return WindowVerdict(
        False,
        f"{local:%a %Y-%m-%d %H:%M} Japan time is outside every change window (wan.yaml change_control: {names})",
    )
