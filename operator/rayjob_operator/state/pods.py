"""Reading pods: phase, readiness, terminated containers, the labels KubeRay puts on Ray pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rayjob_operator import constants
from rayjob_operator.model import bodies

Pod = Mapping[str, Any]

REPLICA_INDEX_LABEL = constants.LABEL_WORKER_REPLICA_INDEX
HOST_INDEX_LABEL = "ray.io/replica-host-index"


name = bodies.name
labels = bodies.labels
is_terminating = bodies.is_deleting


def phase(pod: Pod) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_ready(pod: Pod) -> bool:
    """Running, and its Ready condition (when the kubelet reports one) is True."""
    if phase(pod) != "Running" or is_terminating(pod):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    return not ready or ready[0].get("status") == "True"


def container_status(pod: Pod, container: str) -> Mapping[str, Any] | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return status  # type: ignore[no-any-return]
    return None


def terminated(pod: Pod, container: str) -> Mapping[str, Any] | None:
    """The container's current terminated state (exitCode, reason, finishedAt), if it has ended."""
    status = container_status(pod, container)
    if status is None:
        return None
    return ((status.get("state") or {}).get("terminated")) or None


def ray_container_name(pod: Pod) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return containers[0].get("name") if containers else None


def is_dead(pod: Pod) -> bool:
    """Will never run Ray again: Failed/Succeeded, or its Ray container ended and is not restarted."""
    if phase(pod) in ("Failed", "Succeeded"):
        return True
    restart = (pod.get("spec") or {}).get("restartPolicy", "Always")
    container = ray_container_name(pod)
    return restart == "Never" and container is not None and terminated(pod, container) is not None


def waiting_reason(pod: Pod) -> str | None:
    """Why a container cannot start (ImagePullBackOff, CrashLoopBackOff, ...), if it is stuck."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            return f"{status.get('name')}: {waiting.get('reason')} {waiting.get('message') or ''}".strip()
    return None


def unschedulable_reason(pod: Pod) -> str | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            return str(condition.get("message") or "Unschedulable")
    return None


def index_of(pod: Pod, label: str) -> int | None:
    value = labels(pod).get(label)
    return int(value) if value is not None and value.isdigit() else None
