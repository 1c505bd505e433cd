"""What one run observed, before any statistics (filled in by :mod:`rayjob_bench.run`). Pure data."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from rayjob_bench import apicounts
from rayjob_bench.config import Mode, OperatorName
from rayjob_bench.procstats import PeakTracker
from rayjob_bench.timeline import Timelines


@dataclasses.dataclass
class Snapshot:
    at: float
    etcd_revision: int
    apiserver: Counter[tuple[str, str]]
    cpu: dict[str, float | None]


@dataclasses.dataclass
class RawRun:
    """What one run observed, before any statistics."""

    operator: OperatorName
    mode: Mode
    n: int
    timelines: Timelines
    before: Snapshot
    after: Snapshot
    tracker: PeakTracker
    started: float = 0.0  # first create sent
    created_all: float = 0.0  # last create answered
    finished: float = 0.0  # every RayJob terminal, or the deadline
    cleaned: float | None = None  # every RayCluster gone
    leaked_clusters: int = 0
    timed_out: bool = False
    loadgen: dict[str, Any] = dataclasses.field(default_factory=dict)
    audit: apicounts.AuditCounts = dataclasses.field(default_factory=apicounts.AuditCounts)
    standin_submitted: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)
    load_before: str = ""
    load_after: str = ""
