"""What a chaos run saw, before any judgement (filled in by the harness and the fault injector). Pure data."""

from __future__ import annotations

import dataclasses
from typing import Any

Key = tuple[str, str]
"""(namespace, name)."""


@dataclasses.dataclass(frozen=True)
class FaultEvent:
    at: float
    """Seconds after t0."""
    what: str
    """"operator-restart", "operator-exited", "operator-start-failed" or "apiserver-restart"."""
    seconds: float = 0.0
    """How long it took to be back (the operator up again, /readyz of the API server)."""
    detail: str = ""


@dataclasses.dataclass
class FaultLog:
    events: list[FaultEvent] = dataclasses.field(default_factory=list)

    def count(self, what: str) -> int:
        return sum(1 for e in self.events if e.what == what)

    def of(self, what: str) -> list[FaultEvent]:
        return [e for e in self.events if e.what == what]


@dataclasses.dataclass
class Observations:
    t0: float = 0.0
    """Epoch time of the first create."""
    created: float = 0.0
    """Seconds after t0 at which the last create was answered."""
    finished: float | None = None
    """Seconds after t0 at which every RayJob was terminal or deleted (None: not by the deadline)."""
    ended: float = 0.0
    """Seconds after t0 at which the leak check ended."""
    rayjobs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The RayJobs of the run when all were terminal or deleted, or at the deadline."""
    final_rayjobs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The RayJobs of the run at the end, listed with ``objects`` (after the cleanup wait)."""
    deleted: set[Key] = dataclasses.field(default_factory=set)
    """RayJobs the harness deleted (the API server accepted the DELETE)."""
    attempts: dict[Key, set[str]] = dataclasses.field(default_factory=dict)
    """RayCluster names of each RayJob's attempts: from its status, its RayClusters and the operator's Events."""
    objects: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    """Kind → the objects of the run's namespaces at the end (RayCluster, Pod, Job, Service, ConfigMap)."""
    loadgen: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The load-generator dashboard's counters (``/_loadgen/stats``)."""
    faults: FaultLog = dataclasses.field(default_factory=FaultLog)
    acted: dict[tuple[str, Key], str] = dataclasses.field(default_factory=dict)
    """(verb, RayJob) → its jobDeploymentStatus just before, for each suspend, resume and delete made."""
    problems: list[str] = dataclasses.field(default_factory=list)
    """What went wrong in the harness itself (a scenario action that never got through, a stand-in failure)."""

    def note(self, attempts_of: Key, cluster: str | None) -> None:
        if cluster:
            self.attempts.setdefault(attempts_of, set()).add(cluster)
