"""One broken rule, with the detail that locates it."""

from __future__ import annotations

import dataclasses

from rayjob_operator.model.base import Rule


@dataclasses.dataclass(frozen=True)
class Violation:
    rule: Rule
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.rule.message}: {self.detail}" if self.detail else self.rule.message
