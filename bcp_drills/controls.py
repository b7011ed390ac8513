"""The drills' Chaos Toolkit control: a failed step of the method interrupts the drill (Chaos
Toolkit would go on with the next step), so that the rollbacks run at once. A failed rollback does
not stop the other rollbacks."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import InterruptExecution


def before_activity_control(context: dict[str, Any], **_: Any) -> None:
    """The step running now, in the drill's folder (`current-step`): for the operator watching a
    long drill, and for the tests that interrupt a drill at a chosen step."""
    from .drill import current

    try:
        drill = current()
    except RuntimeError:
        return
    (drill.out_dir / "current-step").write_text(f"{context.get('name', '')}\n")


def after_activity_control(
    context: dict[str, Any], state: dict[str, Any], experiment: dict[str, Any] | None = None, **_: Any
) -> None:
    method = {activity.get("name") for activity in (experiment or {}).get("method", [])}
    if state.get("status") == "failed" and context.get("name") in method:
        raise InterruptExecution(f"step '{context.get('name')}' failed: the drill stops and rolls back")
