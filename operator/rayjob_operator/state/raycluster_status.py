"""A RayCluster's status as KubeRay reports it, from the observed pods and services. Pure.

State, replica counts (desired counts follow the autoscaler's clamps when it is on), desired CPU/memory/GPU/TPU,
head pod and Service (``serviceIP`` is the Service's cluster IP, or the head pod's IP when the Service is
headless), endpoints (a NodePort Service reports its node ports) and KubeRay's conditions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rayjob_operator.builders import services as service_builders
from rayjob_operator.model import bodies
from rayjob_operator.model.enums import ClusterState
from rayjob_operator.model.raycluster import Condition, HeadInfo, RayCluster, RayClusterStatus
from rayjob_operator.state import pods, quantities
from rayjob_operator.state.conditions import condition_is_true, set_condition
from rayjob_operator.state.raycluster import PROVISIONED, ClusterObservation, head_pods, live, worker_pods

Body = dict[str, Any]
HEAD_POD_READY = "HeadPodReady"
SUSPENDING = "RayClusterSuspending"
SUSPENDED = "RayClusterSuspended"
REPLICA_FAILURE = "ReplicaFailure"
INT32_MAX = 2_147_483_647


def desired_worker_pods(cluster: RayCluster) -> int:
    if cluster.spec.suspend:
        return 0
    return sum(g.desired_pods(autoscaling=cluster.spec.autoscaling) for g in cluster.spec.worker_groups())


def _replica_bounds(cluster: RayCluster) -> tuple[int, int]:
    groups = [g for g in cluster.spec.worker_groups() if not g.suspend]
    low = sum(g.min_replicas * g.num_of_hosts for g in groups)
    high = sum(g.max_replicas * g.num_of_hosts for g in groups)
    return min(low, INT32_MAX), min(high, INT32_MAX)


def compute_status(obs: ClusterObservation, *, failure: str | None = None) -> RayClusterStatus:
    cluster = obs.cluster
    previous = cluster.status or RayClusterStatus()
    running = live(obs.pods)
    heads = head_pods(running)
    workers = worker_pods(running)
    desired = desired_worker_pods(cluster)
    head = heads[0] if heads else None
    all_ready = head is not None and pods.is_ready(head) and len(workers) >= desired
    all_ready = all_ready and sum(1 for p in workers if pods.is_ready(p)) >= desired
    state = _state(cluster, previous, obs, all_ready=all_ready, failure=failure)
    low, high = _replica_bounds(cluster)
    status = RayClusterStatus.model_validate(
        {
            **quantities.desired_summary(cluster),
            "state": state,
            "reason": failure if state == ClusterState.FAILED else None,
            "desiredWorkerReplicas": desired,
            "availableWorkerReplicas": sum(1 for p in workers if pods.phase(p) == "Running"),
            "readyWorkerReplicas": sum(1 for p in workers if pods.is_ready(p)),
            "minWorkerReplicas": low,
            "maxWorkerReplicas": high,
            "endpoints": endpoints(head_service(obs)) or None,
            "head": _head_info(head, head_service(obs), cluster),
            "conditions": _conditions(obs, previous, head=head, all_ready=all_ready, failure=failure),
            "stateTransitionTimes": _transition_times(previous, state, obs.now),
            "observedGeneration": cluster.metadata.generation,
            "lastUpdateTime": previous.last_update_time,
        }
    )
    if status != previous:
        status = status.model_copy(update={"last_update_time": obs.now})
    return status


def invalid_status(cluster: RayCluster, message: str, now: datetime) -> RayClusterStatus:
    """An invalid cluster keeps its state; ``reason`` says why nothing is reconciled."""
    previous = cluster.status or RayClusterStatus()
    if previous.reason == message:
        return previous
    return previous.model_copy(update={"reason": message, "last_update_time": now})


def _state(
    cluster: RayCluster, previous: RayClusterStatus, obs: ClusterObservation, *, all_ready: bool, failure: str | None
) -> ClusterState | None:
    if cluster.spec.suspend:
        # Kueue releases quota on this signal: a pod still terminating is still there.
        return ClusterState.SUSPENDED if not obs.pods else previous.state
    if previous.state == ClusterState.READY or all_ready:
        return ClusterState.READY  # sticky, as KubeRay's (Kueue reads it as "pods ready")
    if failure:
        return ClusterState.FAILED
    return None if previous.state == ClusterState.SUSPENDED else previous.state


def _transition_times(
    previous: RayClusterStatus, state: ClusterState | None, now: datetime
) -> dict[str, datetime] | None:
    times = dict(previous.state_transition_times or {})
    if state is not None and state != previous.state:
        times[state.value] = now
    return times or None


def head_service(obs: ClusterObservation) -> Body | None:
    name = service_builders.head_service_name(obs.cluster)
    return next((s for s in obs.services if bodies.name(s) == name), None)


def endpoints(service: Body | None) -> dict[str, str]:
    """Per named port: its node port (NodePort and LoadBalancer Services), else its target port."""
    found: dict[str, str] = {}
    for port in ((service or {}).get("spec") or {}).get("ports") or []:
        target = port.get("nodePort") or port.get("targetPort") or port.get("port")
        if port.get("name") and target:
            found[str(port["name"])] = str(target)
    return found


def _head_info(head: Body | None, service: Body | None, cluster: RayCluster) -> HeadInfo:
    head_ip = ((head or {}).get("status") or {}).get("podIP")
    cluster_ip = ((service or {}).get("spec") or {}).get("clusterIP")
    return HeadInfo(
        pod_ip=head_ip,
        pod_name=pods.name(head) if head else None,
        service_ip=head_ip if cluster_ip == "None" else cluster_ip,
        service_name=service_builders.head_service_name(cluster) if service else None,
    )


def _conditions(
    obs: ClusterObservation,
    previous: RayClusterStatus,
    *,
    head: Body | None,
    all_ready: bool,
    failure: str | None,
) -> list[Condition] | None:
    head_ready = head is not None and pods.is_ready(head)
    provisioned = all_ready or condition_is_true(previous.conditions, PROVISIONED)  # sticky once true
    suspended = bool(obs.cluster.spec.suspend)
    running = bool(obs.pods)  # terminating pods included: suspended means every pod is gone
    head_reason = "HeadPodRunningAndReady" if head_ready else "HeadPodNotFound" if head is None else "HeadPodNotReady"
    table: list[tuple[str, bool, str, str]] = [
        (HEAD_POD_READY, head_ready, head_reason, ""),
        (
            PROVISIONED,
            provisioned,
            "AllPodRunningAndReadyFirstTime" if provisioned else "RayClusterPodsProvisioning",
            "",
        ),
        (SUSPENDING, suspended and running, "RayClusterSuspending" if suspended and running else "NotSuspending", ""),
        (
            SUSPENDED,
            suspended and not running,
            "RayClusterSuspended" if suspended and not running else "NotSuspended",
            "",
        ),
        (REPLICA_FAILURE, failure is not None, "FailedCreatePod" if failure else "NoFailure", failure or ""),
    ]
    conditions = previous.conditions
    for type_, value, reason, message in table:
        conditions = set_condition(
            conditions,
            type_,
            value,
            reason=reason,
            message=message,
            now=obs.now,
            generation=obs.cluster.metadata.generation,
        )
    return conditions
