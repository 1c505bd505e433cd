"""Everything ``decide`` looks at, gathered by the reconciler from caches and the dashboard poller."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.enums import JobStatus
from rayjob_operator.model.raycluster import RayCluster, RayClusterStatus
from rayjob_operator.model.rayjob import RayJob
from rayjob_operator.model.validation import InvalidSpec


@dataclasses.dataclass(frozen=True)
class Timeouts:
    status_check: float = 300.0
    transition_grace: float = 300.0
    submitter_finished: float = 30.0
    submitter_start: float = 300.0
    teardown_pods: float = 300.0
    """How long a suspend or retry waits for the attempt's pods to be gone from the API (then it goes on)."""
    lost: float = 60.0
    """How long a lost head, missing cluster or unknown job id is tolerated before failing."""
    delete_self_after_finish: bool = False


@dataclasses.dataclass(frozen=True)
class ClusterView:
    name: str
    owned: bool
    """Created by this RayJob (controller owner reference); a clusterSelector cluster is not."""
    deleting: bool
    status: RayClusterStatus | None
    workers_suspended: bool
    """Every worker group has suspend: true (the DeleteWorkers policy is in effect)."""
    problem: str | None = None
    """Why its pods do not start (image pull errors, unschedulable, crash loops), if they do not."""
    head_service_ready: bool = False
    """The head Service exists, so the dashboard address resolves."""
    dashboard_address: str | None = None
    model: RayCluster | None = None
    """The cluster as parsed (its spec tells token auth), when it parses."""


@dataclasses.dataclass(frozen=True)
class SubmitterView:
    """The K8sJobMode submitter Job."""

    exists: bool
    deleting: bool = False
    created_at: datetime | None = None
    failed: tuple[str, str] | None = None
    """(reason, message) of a Failed condition."""
    finished_at: datetime | None = None
    """When the Job became Complete or Failed."""
    started: bool = False
    """A pod of it has started running (or finished)."""
    problem: str | None = None
    """Why its pod does not start, if it does not."""


@dataclasses.dataclass(frozen=True)
class SidecarView:
    """The SidecarMode submitter container in the head pod."""

    head_exists: bool
    terminated: bool = False
    exit_code: int | None = None
    reason: str | None = None
    finished_at: datetime | None = None


class RayResult(enum.Enum):
    FOUND = "found"
    NOT_FOUND = "not-found"
    UNREACHABLE = "unreachable"
    SUBMITTING = "submitting"
    """This process is to submit the attempt's job (HTTPMode): its POST is due, on its way, or failed (see
    ``submit_error``) and will be tried again."""
    SUBMITTED = "submitted"
    """This process's POST of the attempt's job was accepted (or Ray had the id already); no GET answered since."""


@dataclasses.dataclass(frozen=True)
class RayView:
    """The latest answer of the dashboard about this attempt's job."""

    result: RayResult
    status: JobStatus | None = None
    message: str | None = None
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    error: str | None = None
    since: datetime | None = None
    """When the current result (e.g. unreachable, not found) was first seen."""
    checked_at: datetime | None = None
    submitted: bool = False
    """This operator process saw the job of this attempt accepted by the dashboard (a later 404 means lost)."""
    auth_failed: bool = False
    """The dashboard refused the token (401/403): it is read from the Secret again."""
    submit_error: str | None = None
    """Why the last POST of the job failed (SUBMITTING)."""
    submit_error_permanent: bool = False
    """The dashboard refused the job (400/401/403, the id is taken): no POST is tried again."""


@dataclasses.dataclass(frozen=True)
class JobObservation:
    job: RayJob
    body: dict[str, Any]
    now: datetime
    invalid: InvalidSpec | None = None
    has_finalizer: bool = False
    cluster: ClusterView | None = None
    submitter: SubmitterView | None = None
    sidecar: SidecarView | None = None
    ray: RayView | None = None
    random_suffix: str = "xxxxx"
    """Fresh random characters for this reconcile's new names (used only when names are assigned)."""
    job_service_cluster: str | None = None
    """The cluster that ``<rayjob>-head-svc`` selects now (None: the Service does not exist)."""
    timeouts: Timeouts = dataclasses.field(default_factory=Timeouts)
    submitter_image: str = "rayjob-operator/submitter:0.1.0"
    """Image of the default submitter (K8sJobMode Job and SidecarMode container)."""
    options: PodOptions = dataclasses.field(default_factory=PodOptions)
    pods_left: tuple[str, ...] = ()
    """Pods of this attempt (its cluster's, its submitter's) still in the API, terminating ones included."""
    pods_terminating_since: datetime | None = None
    """The earliest deletionTimestamp among ``pods_left``."""
