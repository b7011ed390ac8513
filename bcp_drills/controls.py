"""The drills' Chaos Toolkit control: a failed step of the method interrupts the drill (Chaos
Toolkit would go on with the next step), so that the rollbacks run at once. A failed rollback does
not stop the other rollbacks."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import InterruptExecution


def after_activity_control(
    context: dict[str, Any], state: dict[str, Any], experiment: dict[str, Any] | None = None, **_: Any
) -> None:
    method = {activity.get("name") for activity in (experiment or {}).get("method", [])}
    if state.get("status") == "failed" and context.get("name") in method:
        raise InterruptExecution(f"step '{context.get('name')}' failed: the drill stops and rolls back")
