"""Standard ``metav1.Condition`` lists: set a condition, keeping its transition time when unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from rayjob_operator.model.raycluster import Condition

Status = Literal["True", "False", "Unknown"]


def set_condition(
    conditions: list[Condition] | None,
    type: str,
    status: bool | Status,
    *,
    reason: str,
    message: str = "",
    now: datetime,
    generation: int | None = None,
) -> list[Condition]:
    value: Status = ("True" if status else "False") if isinstance(status, bool) else status
    current = list(conditions or [])
    previous = next((c for c in current if c.type == type), None)
    changed_status = previous is None or previous.status != value
    updated = Condition(
        type=type,
        status=value,
        reason=reason,
        message=message,
        last_transition_time=now if changed_status or previous is None else previous.last_transition_time,
        observed_generation=generation,
    )
    if previous is not None and previous == updated:
        return current
    return [updated if c.type == type else c for c in current] if previous else [*current, updated]


def condition_is_true(conditions: list[Condition] | None, type: str) -> bool:
    return any(c.type == type and c.status == "True" for c in conditions or [])
