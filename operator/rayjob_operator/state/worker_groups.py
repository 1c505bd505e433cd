"""Which worker pods of one group to create and which to delete. Pure.

- ``scaleStrategy.workersToDelete`` are always deleted (in a multi-host group, with the rest of their replica).
  The list is left as it is: the autoscaler that wrote it clears it once the pods are gone, as with KubeRay.
- The desired replicas are ``replicas`` (clamped into [minReplicas, maxReplicas] when autoscaling).
- Without autoscaling the lowest replica indices are kept and the rest deleted; with autoscaling surplus pods
  are left alone (the autoscaler names the ones to delete), as KubeRay does.
- A multi-host replica (``numOfHosts > 1``) that lost a host is deleted as a whole and created again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rayjob_operator.builders import raycluster as pod_builders
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import RayCluster, WorkerGroupSpec
from rayjob_operator.state import pods

Body = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class PodDeletion:
    name: str
    reason: str
    head: bool = False


@dataclasses.dataclass(frozen=True)
class GroupPlan:
    creates: list[Body]
    deletions: list[PodDeletion]


@dataclasses.dataclass(frozen=True)
class _Group:
    cluster: RayCluster
    spec: WorkerGroupSpec
    options: PodOptions

    @property
    def wanted(self) -> int:
        return self.spec.desired_replicas(autoscaling=self.cluster.spec.autoscaling)

    def pod(self, index: int, host: int) -> Body:
        return pod_builders.build_worker_pod(
            self.cluster, self.spec, replica_index=index, host_index=host, options=self.options
        )

    def new_replicas(self, count: int, taken: set[int]) -> list[Body]:
        """``count`` whole replicas at the lowest indices not in ``taken``."""
        creates: list[Body] = []
        index = 0
        while count > 0:
            if index not in taken:
                creates += [self.pod(index, host) for host in range(self.spec.num_of_hosts)]
                count -= 1
            index += 1
        return creates


def _by_replica(live: Sequence[Body]) -> tuple[dict[int, list[Body]], list[Body]]:
    indexed: dict[int, list[Body]] = {}
    unindexed: list[Body] = []
    for pod in live:
        index = pods.index_of(pod, pods.REPLICA_INDEX_LABEL)
        if index is None:
            unindexed.append(pod)
        else:
            indexed.setdefault(index, []).append(pod)
    return indexed, unindexed


def _deletions(items: Sequence[Body], reason: str) -> list[PodDeletion]:
    return [PodDeletion(pods.name(p), reason) for p in items]


def plan_group(
    cluster: RayCluster, group: WorkerGroupSpec, live: Sequence[Body], everyone: Sequence[Body], options: PodOptions
) -> GroupPlan:
    """``live``: the group's running (not dead, not terminating) pods; ``everyone``: all of the group's pods."""
    plan = _Group(cluster, group, options)
    listed = set((group.scale_strategy or {}).get("workersToDelete") or [])
    indexed, unindexed = _by_replica(live)
    if group.num_of_hosts > 1:
        # A replica's index names it (ray.io/worker-group-replica-name): not reused while a pod still holds it.
        taken = {i for p in everyone if (i := pods.index_of(p, pods.REPLICA_INDEX_LABEL)) is not None}
        return _plan_multi_host(plan, indexed, unindexed, listed, taken)
    return _plan_single_host(plan, indexed, unindexed, listed)


def _plan_single_host(
    plan: _Group, indexed: dict[int, list[Body]], unindexed: list[Body], listed: set[str]
) -> GroupPlan:
    deletions = _deletions(
        [p for ps in indexed.values() for p in ps if pods.name(p) in listed], "listed in scaleStrategy.workersToDelete"
    )
    deletions += _deletions([p for p in unindexed if pods.name(p) in listed], "listed in scaleStrategy.workersToDelete")
    indexed = {i: [p for p in ps if pods.name(p) not in listed] for i, ps in indexed.items()}
    indexed = {i: ps for i, ps in indexed.items() if ps}
    unindexed = [p for p in unindexed if pods.name(p) not in listed]
    autoscaling = plan.cluster.spec.autoscaling
    kept = sorted(indexed) if autoscaling else sorted(indexed)[: plan.wanted]
    if not autoscaling:
        deletions += _deletions(
            [p for i in sorted(indexed)[plan.wanted :] for p in indexed[i]], "scaling the group down"
        )
    free = max(0, plan.wanted - len(kept))
    spare = unindexed if autoscaling else unindexed[:free]
    deletions += _deletions(unindexed[len(spare) :], "scaling the group down")
    creates = plan.new_replicas(max(0, free - len(spare)), set(indexed))
    return GroupPlan(creates, deletions)


def _plan_multi_host(
    plan: _Group, indexed: dict[int, list[Body]], unindexed: list[Body], listed: set[str], taken: set[int]
) -> GroupPlan:
    hosts = plan.spec.num_of_hosts
    deletions = _deletions(unindexed, "it belongs to no replica of this multi-host group")
    complete: list[int] = []
    for index in sorted(indexed):
        replica = indexed[index]
        host_indices = {pods.index_of(p, pods.HOST_INDEX_LABEL) for p in replica}
        if any(pods.name(p) in listed for p in replica):
            deletions += _deletions(replica, "its replica is listed in scaleStrategy.workersToDelete")
        elif len(replica) != hosts or host_indices != set(range(hosts)):
            deletions += _deletions(replica, f"its multi-host replica {index} lost a host; the replica is recreated")
        else:
            complete.append(index)
    autoscaling = plan.cluster.spec.autoscaling
    kept = complete if autoscaling else complete[: plan.wanted]
    if not autoscaling:
        deletions += _deletions([p for i in complete[plan.wanted :] for p in indexed[i]], "scaling the group down")
    creates = plan.new_replicas(max(0, plan.wanted - len(kept)), taken)
    return GroupPlan(creates, deletions)
