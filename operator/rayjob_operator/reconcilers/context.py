"""What every reconciler is given: the store, configuration, events, clock and work queues."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rayjob_operator.builders.options import PodOptions
from rayjob_operator.config import OperatorConfig
from rayjob_operator.k8s.events import EventRecorder
from rayjob_operator.runtime.store import Store
from rayjob_operator.runtime.workqueue import WorkQueue

Key = tuple[str, str]


def utc_now() -> datetime:
    """Kubernetes times have second precision; so do ours, so unchanged statuses compare equal."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclasses.dataclass
class Context:
    store: Store
    config: OperatorConfig
    cluster_events: EventRecorder
    job_events: EventRecorder
    cluster_queue: WorkQueue[Key]
    job_queue: WorkQueue[Key]
    clock: Callable[[], datetime] = utc_now
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def pod_options(self) -> PodOptions:
        return PodOptions(
            cluster_domain=self.config.cluster_domain,
            inject_init_container=self.config.inject_init_container,
            inject_probes=self.config.inject_probes,
        )
