"""Change windows (wan.yaml `change_control`): may a change go ahead now?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, WEEKDAYS, MaintenanceWindow, to_contract_time


@dataclass(frozen=True)
class WindowVerdict:
    open: bool
    reason: str


def _in(window: MaintenanceWindow, local: datetime) -> bool:
    if window.recurrence == "once":
        start, end = window.local_period()
        return start <= local < end
    assert window.weekday is not None and window.start is not None and window.end is not None
    if WEEKDAYS[local.weekday()] != window.weekday:
        return False
    if window.recurrence == "monthly" and (local.day - 1) // 7 + 1 != window.nth:
        return False
    now = local.time()
    return window.start <= now and (now < window.end or window.end == time.max)


def change_window(inventory: Inventory, environment: str, now: datetime | None = None) -> WindowVerdict:
    control = inventory.wan.change_control
    if environment in control.unrestricted_environments:
        return WindowVerdict(True, f"environment '{environment}' may be changed at any time (wan.yaml)")
    local = to_contract_time(now or datetime.now(CONTRACT_TZ))
    for window in control.windows:
        if _in(window, local):
            return WindowVerdict(True, f"inside change window '{window.id}' ({window.name})")
    names = ", ".join(w.id for w in control.windows) or "none configured"
    return WindowVerdict(
        False,
        f"{local:%a %Y-%m-%d %H:%M} Japan time is outside every change window (wan.yaml change_control: {names})",
    )
