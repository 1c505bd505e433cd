"""What every reconciler is given: the store, configuration, events, clock, work queues and the poller.

Each collaborator is typed by the Protocol the reconcilers use (``ports``), so the unit tier can pass
in-memory fakes. Nothing here remembers anything that a decision depends on: attempt failures are written
to the RayJob's status by the reconcile that saw them, grace periods start from times in the status, and
the token cache only saves reading a Secret again (it forgets what the API may have changed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from rayjob_operator.builders.options import PodOptions
from rayjob_operator.config import OperatorConfig
from rayjob_operator.metrics import Metrics
from rayjob_operator.model import k8s_time
from rayjob_operator.model.bodies import Key
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.rayjob import RayJob
from rayjob_operator.model.validation import InvalidSpec
from rayjob_operator.reconcilers.ports import DashboardCalls, EventSink, JobTracker, ObjectStore
from rayjob_operator.runtime.parsecache import ParseCache
from rayjob_operator.runtime.tokens import TokenCache
from rayjob_operator.runtime.workqueue import WorkQueue

__all__ = ["Context", "Key", "utc_now"]
ParsedJob = tuple[RayJob, InvalidSpec | None]
ParsedCluster = tuple[RayCluster | None, str | None]
"""The cluster (None if it does not parse) and why it is invalid, if it is."""


def utc_now() -> datetime:
    """Kubernetes times have second precision; so do ours, so unchanged statuses compare equal."""
    return k8s_time.truncate(datetime.now(UTC))


@dataclasses.dataclass
class Context:
    store: ObjectStore
    config: OperatorConfig
    cluster_events: EventSink
    job_events: EventSink
    cluster_queue: WorkQueue[Key]
    job_queue: WorkQueue[Key]
    dashboard: DashboardCalls
    poller: JobTracker
    metrics: Metrics
    clock: Callable[[], datetime] = utc_now
    tokens: TokenCache = dataclasses.field(default_factory=TokenCache)
    """The Ray auth token of each RayJob's current cluster (None: no token auth)."""
    parsed: ParseCache[ParsedJob] = dataclasses.field(default_factory=ParseCache)
    """The last parse of each RayJob, by resourceVersion: a reconcile of an unchanged object parses nothing."""
    parsed_clusters: ParseCache[ParsedCluster] = dataclasses.field(default_factory=ParseCache)
    ensured: dict[tuple[str, str, str, str], float] = dataclasses.field(default_factory=dict)
    """(namespace, RayCluster uid, kind, name) of a created-once child known to exist -> when it was seen
    (monotonic seconds); looked at again after ``config.resync_seconds``. Saves API calls, decides nothing."""

    @property
    def pod_options(self) -> PodOptions:
        return PodOptions(
            cluster_domain=self.config.cluster_domain,
            inject_init_container=self.config.inject_init_container,
            inject_probes=self.config.inject_probes,
        )
