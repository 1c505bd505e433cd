"""Building RayJob observations for the state-machine tables (plain values, no cluster, no clock)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from rayjob_operator.model.enums import ClusterState, JobStatus
from rayjob_operator.model.raycluster import RayClusterStatus
from rayjob_operator.model.rayjob import RayJob
from rayjob_operator.model.validation import InvalidSpec, validate_rayjob
from rayjob_operator.state.rayjob import actions as a
from rayjob_operator.state.rayjob.decide import decide
from rayjob_operator.state.rayjob.observation import (
    ClusterView,
    JobObservation,
    RayResult,
    RayView,
    SidecarView,
    SubmitterView,
    Timeouts,
)
from rayjob_operator.state.rayjob.outcome import Decision

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
T0 = NOW - timedelta(seconds=100)
ADDRESS = "demo-abcde-head-svc.ns.svc.cluster.local:8265"

BASE: dict[str, Any] = {
    "apiVersion": "ray.io/v1",
    "kind": "RayJob",
    "metadata": {"name": "demo", "namespace": "ns", "uid": "uid-1", "generation": 3, "finalizers": []},
    "spec": {
        "entrypoint": "python -c 'print(1)'",
        "rayClusterSpec": {
            "rayVersion": "2.52.0",
            "headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "ray:2.52.0"}]}}},
            "workerGroupSpecs": [
                {
                    "groupName": "small",
                    "replicas": 1,
                    "template": {"spec": {"containers": [{"name": "w", "image": "ray:2.52.0"}]}},
                }
            ],
        },
    },
}


def job(status: dict[str, Any] | None = None, **spec: Any) -> RayJob:
    body = copy.deepcopy(BASE)
    body["spec"].update(spec)
    if status is not None:
        body["status"] = status
    return RayJob.model_validate(body)


def running_status(**extra: Any) -> dict[str, Any]:
    return {
        "jobDeploymentStatus": "Running",
        "jobId": "demo-abcde",
        "rayClusterName": "demo-abcde",
        "dashboardURL": ADDRESS,
        "startTime": T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def ready_cluster(**extra: Any) -> ClusterView:
    values: dict[str, Any] = {
        "name": "demo-abcde",
        "owned": True,
        "deleting": False,
        "status": RayClusterStatus(state=ClusterState.READY),
        "workers_suspended": False,
        "head_service_ready": True,
        "dashboard_address": ADDRESS,
    }
    values.update(extra)
    return ClusterView(**values)


def ray(status: str | None = None, result: RayResult = RayResult.FOUND, **extra: Any) -> RayView:
    """A dashboard answer (``status`` is one of Ray's five statuses, or None)."""
    values: dict[str, Any] = {
        "result": result,
        "status": JobStatus(status) if status is not None else None,
        "since": NOW - timedelta(seconds=1),
    }
    if status is not None:
        values.setdefault("message", f"Job is {status}")
        values.setdefault("start_time_ms", int(T0.timestamp() * 1000))
    values.update(extra)
    return RayView(**values)


def submitter(**extra: Any) -> SubmitterView:
    values: dict[str, Any] = {"exists": True, "started": True, "created_at": T0}
    values.update(extra)
    return SubmitterView(**values)


def sidecar(**extra: Any) -> SidecarView:
    values: dict[str, Any] = {"head_exists": True}
    values.update(extra)
    return SidecarView(**values)


def observe(the_job: RayJob, *, now: datetime = NOW, **extra: Any) -> JobObservation:
    body = the_job.to_dict()
    invalid: InvalidSpec | None = None
    try:
        validate_rayjob(body)
    except InvalidSpec as exc:
        invalid = exc
    values: dict[str, Any] = {
        "job": the_job,
        "body": body,
        "now": now,
        "invalid": invalid,
        "has_finalizer": True,
        "random_suffix": "abcde",
        "timeouts": Timeouts(),
    }
    values.update(extra)
    return JobObservation(**values)


def run(the_job: RayJob, **extra: Any) -> Decision:
    return decide(observe(the_job, **extra))


def kinds(decision: Decision) -> list[str]:
    """The action types, without events (those are checked separately where they matter)."""
    return [type(x).__name__ for x in decision.actions if not isinstance(x, a.Emit)]


def events(decision: Decision) -> list[str]:
    return [x.reason for x in decision.actions if isinstance(x, a.Emit)]
