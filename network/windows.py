"""Change windows (wan.yaml `change_control`): may a change go ahead now?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, to_contract_time


@dataclass(frozen=True)
class WindowVerdict:
    open: bool
    reason: str


def change_window(inventory: Inventory, environment: str, now: datetime | None = None) -> WindowVerdict:
    control = inventory.wan.change_control
    if environment in control.unrestricted_environments:
        return WindowVerdict(True, f"environment '{environment}' may be changed at any time (wan.yaml)")
    local = to_contract_time(now or datetime.now(CONTRACT_TZ))
    for window in control.windows:
        if window.contains(local):
            return WindowVerdict(True, f"inside change window '{window.id}' ({window.name})")
    names = ", ".join(w.id for w in control.windows) or "none configured"
    return WindowVerdict(
        False,
        f"{local:%a %Y-%m-%d %H:%M} Japan time is outside every change window (wan.yaml change_control: {names})",
    )
