"""What a RayCluster needs (pods and services to create or delete) and what its status says. Pure.

``plan_children`` compares the spec with the observed pods and services; ``compute_status`` turns the
observation into KubeRay's RayCluster status (state, replica counts, head info, conditions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import raycluster as pod_builders
from rayjob_operator.builders import services as service_builders
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.enums import ClusterState
from rayjob_operator.model.raycluster import Condition, HeadInfo, RayCluster, RayClusterStatus, WorkerGroupSpec
from rayjob_operator.state import pods
from rayjob_operator.state.conditions import condition_is_true, set_condition

Body = dict[str, Any]
HEAD_POD_READY = "HeadPodReady"
PROVISIONED = "RayClusterProvisioned"
SUSPENDING = "RayClusterSuspending"
SUSPENDED = "RayClusterSuspended"
REPLICA_FAILURE = "ReplicaFailure"


@dataclasses.dataclass(frozen=True)
class ClusterObservation:
    cluster: RayCluster
    pods: Sequence[Body]
    """Pods labelled with the cluster's name (terminating ones included)."""
    services: Sequence[Body]
    now: datetime


@dataclasses.dataclass(frozen=True)
class PodDeletion:
    name: str
    reason: str


@dataclasses.dataclass(frozen=True)
class ClusterPlan:
    create_pods: list[Body]
    delete_pods: list[PodDeletion]
    create_services: list[Body]

    @property
    def empty(self) -> bool:
        return not (self.create_pods or self.delete_pods or self.create_services)


def _suspended(cluster: RayCluster) -> bool:
    return bool(cluster.spec.suspend)


def _head_pods(observed: Sequence[Body]) -> list[Body]:
    return [p for p in observed if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD]


def _group_pods(observed: Sequence[Body], group: str) -> list[Body]:
    return [
        p
        for p in observed
        if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_WORKER
        and pods.labels(p).get(constants.LABEL_GROUP) == group
    ]


def _live(observed: Sequence[Body]) -> list[Body]:
    return [p for p in observed if not pods.is_terminating(p) and not pods.is_dead(p)]


def plan_children(obs: ClusterObservation, *, options: PodOptions) -> ClusterPlan:
    cluster = obs.cluster
    deletions = [
        PodDeletion(pods.name(p), "its Ray container has ended")
        for p in obs.pods
        if pods.is_dead(p) and not pods.is_terminating(p)
    ]
    if _suspended(cluster):
        deletions += [PodDeletion(pods.name(p), "the cluster is suspended") for p in _live(obs.pods)]
        return ClusterPlan([], deletions, _missing_services(obs, options))
    creates, head_deletions = _plan_head(obs, options)
    deletions += head_deletions
    known_groups = {g.group_name for g in cluster.spec.worker_groups()}
    for group in cluster.spec.worker_groups():
        group_creates, group_deletions = _plan_group(
            cluster, group, _live(_group_pods(obs.pods, group.group_name)), options
        )
        creates += group_creates
        deletions += group_deletions
    deletions += [
        PodDeletion(pods.name(p), "its worker group was removed")
        for p in _live(obs.pods)
        if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_WORKER
        and pods.labels(p).get(constants.LABEL_GROUP) not in known_groups
    ]
    return ClusterPlan(creates, deletions, _missing_services(obs, options))


def _plan_head(obs: ClusterObservation, options: PodOptions) -> tuple[list[Body], list[PodDeletion]]:
    heads = _head_pods(obs.pods)
    live = sorted(_live(heads), key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
    extra = [PodDeletion(pods.name(p), "the cluster has more than one head") for p in live[1:]]
    if live or any(pods.is_terminating(p) for p in heads):
        return [], extra
    cluster = obs.cluster
    no_restart = (cluster.metadata.annotations or {}).get(constants.ANNOTATION_DISABLE_HEAD_RESTART) == "true"
    provisioned = condition_is_true(cluster.status.conditions if cluster.status else None, PROVISIONED)
    if no_restart and provisioned:
        return [], extra  # SidecarMode: a lost head is a failed job, not something to recreate
    return [pod_builders.build_head_pod(cluster, options=options)], extra


def _plan_group(
    cluster: RayCluster, group: WorkerGroupSpec, live: list[Body], options: PodOptions
) -> tuple[list[Body], list[PodDeletion]]:
    """Keep the lowest replica indices (after workersToDelete), delete the rest, fill the gaps."""
    wanted_replicas = 0 if group.suspend else group.replicas
    to_delete = set((group.scale_strategy or {}).get("workersToDelete") or [])
    by_replica: dict[int, list[Body]] = {}
    deletions: list[PodDeletion] = []
    unindexed: list[Body] = []
    for pod in live:
        if pods.name(pod) in to_delete:
            deletions.append(PodDeletion(pods.name(pod), "listed in scaleStrategy.workersToDelete"))
            continue
        index = pods.index_of(pod, pods.REPLICA_INDEX_LABEL)
        if index is None:
            unindexed.append(pod)
        else:
            by_replica.setdefault(index, []).append(pod)
    kept = sorted(by_replica)[:wanted_replicas]
    for index in sorted(by_replica)[wanted_replicas:]:
        deletions += [PodDeletion(pods.name(p), "scaling the group down") for p in by_replica[index]]
    free = max(0, wanted_replicas - len(kept))
    spare = unindexed[: free * group.num_of_hosts]
    deletions += [PodDeletion(pods.name(p), "scaling the group down") for p in unindexed[len(spare) :]]
    creates = []
    for index in kept:
        hosts = {pods.index_of(p, pods.HOST_INDEX_LABEL) or 0 for p in by_replica[index]}
        for host in range(group.num_of_hosts):
            if host not in hosts:
                creates.append(
                    pod_builders.build_worker_pod(cluster, group, replica_index=index, host_index=host, options=options)
                )
    missing_pods = (wanted_replicas - len(kept)) * group.num_of_hosts - len(spare)
    next_index = 0
    while missing_pods > 0:
        if next_index not in by_replica:
            for host in range(group.num_of_hosts):
                if missing_pods > 0:
                    creates.append(
                        pod_builders.build_worker_pod(
                            cluster, group, replica_index=next_index, host_index=host, options=options
                        )
                    )
                    missing_pods -= 1
        next_index += 1
    return creates, deletions


def _missing_services(obs: ClusterObservation, options: PodOptions) -> list[Body]:
    existing = {(s.get("metadata") or {}).get("name") for s in obs.services}
    wanted = [service_builders.build_head_service(obs.cluster, options=options)]
    headless = service_builders.build_headless_worker_service(obs.cluster)
    if headless is not None:
        wanted.append(headless)
    return [s for s in wanted if s["metadata"]["name"] not in existing]


# --- status -----------------------------------------------------------------------------------------------


def desired_worker_pods(cluster: RayCluster) -> int:
    return 0 if _suspended(cluster) else sum(g.desired_pods() for g in cluster.spec.worker_groups())


def compute_status(obs: ClusterObservation, *, failure: str | None = None) -> RayClusterStatus:
    cluster = obs.cluster
    previous = cluster.status or RayClusterStatus()
    live = _live(obs.pods)
    heads = _head_pods(live)
    workers = [p for p in live if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_WORKER]
    desired = desired_worker_pods(cluster)
    head = heads[0] if heads else None
    all_ready = head is not None and pods.is_ready(head) and len(workers) >= desired
    all_ready = all_ready and sum(1 for p in workers if pods.is_ready(p)) >= desired
    state = _state(cluster, previous, obs, all_ready=all_ready, failure=failure)
    generation = cluster.metadata.generation
    status = RayClusterStatus(
        state=state,
        reason=failure if state == ClusterState.FAILED else None,
        desired_worker_replicas=desired,
        available_worker_replicas=sum(1 for p in workers if pods.phase(p) == "Running"),
        ready_worker_replicas=sum(1 for p in workers if pods.is_ready(p)),
        min_worker_replicas=_clamp(sum(g.min_replicas * g.num_of_hosts for g in cluster.spec.worker_groups())),
        max_worker_replicas=_clamp(sum(g.max_replicas * g.num_of_hosts for g in cluster.spec.worker_groups())),
        endpoints=_endpoints(obs, cluster) or None,
        head=_head_info(head, obs, cluster),
        conditions=_conditions(obs, previous, head=head, all_ready=all_ready, failure=failure),
        state_transition_times=_transition_times(previous, state, obs.now),
        observed_generation=generation,
        last_update_time=previous.last_update_time,
    )
    if status != previous:
        status = status.model_copy(update={"last_update_time": obs.now})
    return status


def _clamp(value: int) -> int:
    return min(value, 2_147_483_647)


def _state(
    cluster: RayCluster, previous: RayClusterStatus, obs: ClusterObservation, *, all_ready: bool, failure: str | None
) -> ClusterState | None:
    if _suspended(cluster):
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


def _endpoints(obs: ClusterObservation, cluster: RayCluster) -> dict[str, str]:
    name = service_builders.head_service_name(cluster)
    service = next((s for s in obs.services if (s.get("metadata") or {}).get("name") == name), None)
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    return {str(p["name"]): str(p["port"]) for p in ports if p.get("name") and p.get("port")}


def _head_info(head: Body | None, obs: ClusterObservation, cluster: RayCluster) -> HeadInfo:
    name = service_builders.head_service_name(cluster)
    service = next((s for s in obs.services if (s.get("metadata") or {}).get("name") == name), None)
    return HeadInfo(
        pod_ip=((head or {}).get("status") or {}).get("podIP"),
        pod_name=pods.name(head) if head else None,
        service_ip=((service or {}).get("spec") or {}).get("clusterIP"),
        service_name=name if service else None,
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
    suspended = _suspended(obs.cluster)
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
