"""The benchmark's outputs: one table (markdown, printed) and one JSON document, with ours ÷ KubeRay. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from rayjob_bench import stats
from rayjob_bench.config import Mode, OperatorName
from rayjob_bench.results import METRICS, Metric

Figures = Mapping[str, float | int | None]
MISSING = "–"


@dataclasses.dataclass(frozen=True)
class RunReport:
    operator: OperatorName
    mode: Mode
    n: int
    figures: Figures
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "operator": self.operator.value,
            "mode": self.mode.value,
            "n": self.n,
            "figures": dict(self.figures),
            "details": dict(self.details),
        }


def ratios(reports: Sequence[RunReport]) -> dict[str, dict[str, dict[str, float | None]]]:
    """mode → KubeRay variant → metric → ours ÷ that variant (only where both ran)."""
    found: dict[str, dict[str, dict[str, float | None]]] = {}
    for mode in dict.fromkeys(r.mode for r in reports):
        ours = _find(reports, mode, OperatorName.OURS)
        if ours is None:
            continue
        for theirs in (r for r in reports if r.mode is mode and r.operator.is_kuberay):
            found.setdefault(mode.value, {})[theirs.operator.value] = {
                m.key: stats.ratio(_num(ours.figures.get(m.key)), _num(theirs.figures.get(m.key)))
                for m in METRICS
                if m.ratio
            }
    return found


def _find(reports: Sequence[RunReport], mode: Mode, operator: OperatorName) -> RunReport | None:
    return next((r for r in reports if r.mode is mode and r.operator is operator), None)


def _num(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def format_value(value: float | int | None, digits: int) -> str:
    if value is None:
        return MISSING
    return f"{value:.{digits}f}"


def format_ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}×"


def _columns(reports: Sequence[RunReport], found: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Any]]:
    """(header, how to get the cell for a metric) for every run, then the ratio columns of its mode."""
    columns: list[tuple[str, Any]] = []
    for mode in dict.fromkeys(r.mode for r in reports):
        for report in (r for r in reports if r.mode is mode):
            columns.append((f"{mode.short} {report.operator.value}", report))
        for variant in found.get(mode.value, {}):
            columns.append((f"{mode.short} ours/{variant}", found[mode.value][variant]))
    return columns


def _cell(source: Any, metric: Metric) -> str:
    if isinstance(source, RunReport):
        return format_value(source.figures.get(metric.key), metric.digits)
    return format_ratio(source.get(metric.key)) if metric.ratio else ""


def table(reports: Sequence[RunReport]) -> str:
    """A markdown table: one row per metric, one column per run and per ratio."""
    found = ratios(reports)
    columns = _columns(reports, found)
    n_values = sorted({r.n for r in reports})
    header = [f"metric (N = {', '.join(map(str, n_values))})", *(name for name, _ in columns)]
    rows = [[m.label, *(_cell(source, m) for _, source in columns)] for m in METRICS]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    separator = "|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def document(meta: Mapping[str, Any], reports: Sequence[RunReport]) -> dict[str, Any]:
    """The JSON file: how it was measured, every run (figures and details), and the ratios."""
    return {
        "meta": dict(meta),
        "metrics": {m.key: m.label for m in METRICS},
        "runs": [r.to_json() for r in reports],
        "ratios_ours_over": ratios(reports),
    }
