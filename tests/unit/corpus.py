"""Loading of the validation corpus (tests/data/corpus): one RayJob per file, tagged on its first line."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from rayjob_operator.model import rules
from rayjob_operator.model.base import Rule

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
_TAG = re.compile(r"^# expect: (valid|invalid (?P<rule>\S+))$")


@dataclasses.dataclass(frozen=True)
class Case:
    path: Path
    manifest: dict[str, Any]
    rule: Rule | None  # None: the manifest is valid

    @property
    def name(self) -> str:
        return self.path.stem


def all_rules() -> dict[str, Rule]:
    return {r.id: r for r in vars(rules).values() if isinstance(r, Rule)}


def load_cases() -> list[Case]:
    known = all_rules()
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        text = path.read_text()
        match = _TAG.match(text.splitlines()[0])
        if match is None:
            raise ValueError(f"{path}: the first line must be '# expect: valid' or '# expect: invalid <rule-id>'")
        rule_id = match.group("rule")
        if rule_id is not None and rule_id not in known:
            raise ValueError(f"{path}: unknown rule id {rule_id!r}")
        cases.append(Case(path, yaml.safe_load(text), known[rule_id] if rule_id else None))
    return cases
