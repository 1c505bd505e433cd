"""What every reconciler is given: the store, configuration, events, clock and work queues."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from rayjob_operator.builders.options import PodOptions
from rayjob_operator.config import OperatorConfig
from rayjob_operator.dashboard.client import DashboardClient
from rayjob_operator.k8s.events import EventRecorder
from rayjob_operator.metrics import Metrics
from rayjob_operator.runtime.poller import JobPoller
from rayjob_operator.runtime.store import Store
from rayjob_operator.runtime.workqueue import WorkQueue

Key = tuple[str, str]


def utc_now() -> datetime:
    """Kubernetes times have second precision; so do ours, so unchanged statuses compare equal."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclasses.dataclass(frozen=True)
class AttemptFailure:
    """What a reconcile could not do for one attempt (a refused child, a failed submission)."""

    attempt: tuple[str | None, str | None]
    """(rayClusterName, jobId) of the attempt; a later attempt ignores it."""
    kind: str
    """"RayCluster" or "Job": a child the API server refused."""
    message: str
    permanent: bool


@dataclasses.dataclass
class Context:
    store: Store
    config: OperatorConfig
    cluster_events: EventRecorder
    job_events: EventRecorder
    cluster_queue: WorkQueue[Key]
    job_queue: WorkQueue[Key]
    dashboard: DashboardClient
    poller: JobPoller
    metrics: Metrics
    clock: Callable[[], datetime] = utc_now
    failures: dict[Key, AttemptFailure] = dataclasses.field(default_factory=dict)
    tokens: dict[Key, str | None] = dataclasses.field(default_factory=dict)
    """Ray auth token per (namespace, RayCluster); None for a cluster without token auth."""
    ensured: dict[tuple[str, str, str, str], float] = dataclasses.field(default_factory=dict)
    """(namespace, RayCluster uid, kind, name) of a created-once child known to exist -> when it was seen
    (monotonic seconds); looked at again after ``config.resync_seconds``."""

    @property
    def pod_options(self) -> PodOptions:
        return PodOptions(
            cluster_domain=self.config.cluster_domain,
            inject_init_container=self.config.inject_init_container,
            inject_probes=self.config.inject_probes,
        )
