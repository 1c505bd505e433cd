"""Side effects ``decide`` asks for; the reconciler carries them out in order."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from rayjob_operator.model.event_reasons import Reason

Body = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class AddFinalizer:
    pass


@dataclasses.dataclass(frozen=True)
class CreateCluster:
    manifest: Body


@dataclasses.dataclass(frozen=True)
class DeleteCluster:
    name: str


@dataclasses.dataclass(frozen=True)
class SuspendWorkers:
    """DeleteWorkers: set suspend on every worker group of the cluster (the head stays)."""

    name: str


@dataclasses.dataclass(frozen=True)
class CreateSubmitter:
    manifest: Body


@dataclasses.dataclass(frozen=True)
class DeleteSubmitter:
    name: str


@dataclasses.dataclass(frozen=True)
class EnsureJobService:
    """Create ``<rayjob>-head-svc``, or point it at the current attempt's head."""

    manifest: Body


@dataclasses.dataclass(frozen=True)
class SubmitJob:
    """HTTPMode: submit through the dashboard (idempotent by submission id)."""

    address: str
    request: Body


@dataclasses.dataclass(frozen=True)
class StopJob:
    """Stop the Ray job on the dashboard before tearing anything down (best effort, bounded)."""

    address: str
    job_id: str


@dataclasses.dataclass(frozen=True)
class SaveLogs:
    """Keep the tail of the driver log in a ConfigMap owned by the RayJob (it outlives the cluster)."""

    address: str
    job_id: str


@dataclasses.dataclass(frozen=True)
class DeleteSelf:
    pass


@dataclasses.dataclass(frozen=True)
class Emit:
    type: Literal["Normal", "Warning"]
    reason: Reason
    action: str
    note: str


Action = (
    AddFinalizer
    | CreateCluster
    | DeleteCluster
    | SuspendWorkers
    | CreateSubmitter
    | DeleteSubmitter
    | EnsureJobService
    | SubmitJob
    | StopJob
    | SaveLogs
    | DeleteSelf
    | Emit
)
