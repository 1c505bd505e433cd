"""RayCluster planning and status: which pods to create or delete, and what the status says."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.enums import ClusterState
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.state.raycluster import ClusterObservation, plan_children
from rayjob_operator.state.raycluster_status import compute_status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPTIONS = PodOptions()
CLUSTER: dict[str, Any] = {
    "apiVersion": "ray.io/v1",
    "kind": "RayCluster",
    "metadata": {"name": "c", "namespace": "ns", "uid": "u1", "generation": 2},
    "spec": {
        "headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "ray"}]}}},
        "workerGroupSpecs": [
            {"groupName": "g", "replicas": 2, "template": {"spec": {"containers": [{"name": "w", "image": "ray"}]}}}
        ],
    },
}


def cluster(**spec: Any) -> RayCluster:
    body = copy.deepcopy(CLUSTER)
    body["spec"].update(spec)
    return RayCluster.model_validate(body)


def pod(
    name: str,
    node_type: str,
    *,
    index: int | None = None,
    phase: str = "Running",
    ready: bool = True,
    deleting: bool = False,
    group: str = "g",
) -> dict[str, Any]:
    labels = {
        constants.LABEL_NODE_TYPE: node_type,
        constants.LABEL_GROUP: "headgroup" if node_type == "head" else group,
    }
    if index is not None:
        labels[constants.LABEL_WORKER_REPLICA_INDEX] = str(index)
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-23T11:00:00Z"
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "ray"}]},
        "status": {"phase": phase, "conditions": conditions, "podIP": "10.0.0.1"},
    }


def head_service() -> dict[str, Any]:
    return {
        "metadata": {"name": "c-head-svc"},
        "spec": {"clusterIP": "None", "ports": [{"name": "dashboard", "port": 8265}]},
    }


def observe(
    c: RayCluster, pods: list[dict[str, Any]], services: list[dict[str, Any]] | None = None
) -> ClusterObservation:
    return ClusterObservation(
        cluster=c, pods=pods, services=services if services is not None else [head_service()], now=NOW
    )


def created(c: RayCluster, pods: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    plan = plan_children(observe(c, pods), options=OPTIONS)
    return [
        (
            p["metadata"]["labels"][constants.LABEL_NODE_TYPE],
            p["metadata"]["labels"].get(constants.LABEL_WORKER_REPLICA_INDEX),
        )
        for p in plan.create_pods
    ]


def test_an_empty_cluster_gets_a_head_and_its_workers_and_services() -> None:
    plan = plan_children(observe(cluster(), [], services=[]), options=OPTIONS)
    assert len(plan.create_pods) == 3
    assert [s["metadata"]["name"] for s in plan.create_services] == ["c-head-svc"]
    assert created(cluster(), []) == [("head", None), ("worker", "0"), ("worker", "1")]


def test_missing_worker_is_recreated_at_its_index() -> None:
    assert created(cluster(), [pod("h", "head"), pod("w0", "worker", index=0)]) == [("worker", "1")]


def test_scale_down_deletes_the_highest_indices() -> None:
    pods = [pod("h", "head"), pod("w0", "worker", index=0), pod("w1", "worker", index=1), pod("w2", "worker", index=2)]
    plan = plan_children(observe(cluster(), pods), options=OPTIONS)
    assert [d.name for d in plan.delete_pods] == ["w2"]
    assert plan.create_pods == []


def test_workers_to_delete_go_first() -> None:
    c = cluster(
        workerGroupSpecs=[
            {**CLUSTER["spec"]["workerGroupSpecs"][0], "replicas": 1, "scaleStrategy": {"workersToDelete": ["w0"]}}
        ]
    )
    plan = plan_children(
        observe(c, [pod("h", "head"), pod("w0", "worker", index=0), pod("w1", "worker", index=1)]), options=OPTIONS
    )
    assert [d.name for d in plan.delete_pods] == ["w0"]


def test_dead_pods_are_deleted_and_replaced() -> None:
    pods = [pod("h", "head"), pod("w0", "worker", index=0, phase="Failed"), pod("w1", "worker", index=1)]
    plan = plan_children(observe(cluster(), pods), options=OPTIONS)
    assert [d.name for d in plan.delete_pods] == ["w0"]
    assert len(plan.create_pods) == 1


def test_terminating_head_is_waited_for() -> None:
    assert (
        created(
            cluster(), [pod("h", "head", deleting=True), pod("w0", "worker", index=0), pod("w1", "worker", index=1)]
        )
        == []
    )


def test_suspended_cluster_and_suspended_group() -> None:
    pods = [pod("h", "head"), pod("w0", "worker", index=0)]
    plan = plan_children(observe(cluster(suspend=True), pods), options=OPTIONS)
    assert sorted(d.name for d in plan.delete_pods) == ["h", "w0"]
    group = {**CLUSTER["spec"]["workerGroupSpecs"][0], "suspend": True}
    plan = plan_children(observe(cluster(workerGroupSpecs=[group]), pods), options=OPTIONS)
    assert [d.name for d in plan.delete_pods] == ["w0"]


def test_removed_group_pods_are_deleted() -> None:
    plan = plan_children(
        observe(cluster(workerGroupSpecs=[]), [pod("h", "head"), pod("x", "worker", group="gone")]), options=OPTIONS
    )
    assert [d.name for d in plan.delete_pods] == ["x"]


def test_sidecar_cluster_does_not_recreate_a_provisioned_head() -> None:
    body = copy.deepcopy(CLUSTER)
    body["metadata"]["annotations"] = {constants.ANNOTATION_DISABLE_HEAD_RESTART: "true"}
    body["status"] = {"conditions": [{"type": "RayClusterProvisioned", "status": "True"}]}
    c = RayCluster.model_validate(body)
    assert created(c, [pod("w0", "worker", index=0), pod("w1", "worker", index=1)]) == []


def test_status_ready_when_all_pods_run_and_are_ready() -> None:
    pods = [pod("h", "head"), pod("w0", "worker", index=0), pod("w1", "worker", index=1, ready=False)]
    status = compute_status(observe(cluster(), pods))
    assert status.state is None
    assert (status.desired_worker_replicas, status.available_worker_replicas, status.ready_worker_replicas) == (2, 2, 1)
    pods[2] = pod("w1", "worker", index=1)
    ready = compute_status(observe(cluster(), pods))
    assert ready.state == ClusterState.READY
    assert ready.head is not None
    assert (ready.head.pod_name, ready.head.service_name) == ("h", "c-head-svc")
    assert ready.endpoints == {"dashboard": "8265"}
    assert ready.observed_generation == 2
    conditions = {c.type: c.status for c in ready.conditions or []}
    assert conditions["HeadPodReady"] == "True"
    assert conditions["RayClusterProvisioned"] == "True"


def test_ready_is_sticky_and_failure_is_reported() -> None:
    body = copy.deepcopy(CLUSTER)
    body["status"] = {"state": "ready"}
    c = RayCluster.model_validate(body)
    assert compute_status(observe(c, [])).state == ClusterState.READY
    failed = compute_status(observe(cluster(), []), failure="quota exceeded")
    assert (failed.state, failed.reason) == (ClusterState.FAILED, "quota exceeded")


def test_suspended_state_once_pods_are_gone() -> None:
    assert compute_status(observe(cluster(suspend=True), [pod("h", "head")])).state is None
    assert compute_status(observe(cluster(suspend=True), [])).state == ClusterState.SUSPENDED


def test_a_terminating_pod_keeps_the_cluster_from_being_suspended() -> None:
    """Kueue frees the quota on "suspended": a pod that still terminates is still there."""
    status = compute_status(observe(cluster(suspend=True), [pod("w0", "worker", index=0, deleting=True)]))
    assert status.state is None
    conditions = {c.type: c.status for c in status.conditions or []}
    assert (conditions["RayClusterSuspended"], conditions["RayClusterSuspending"]) == ("False", "True")


def test_unchanged_observation_gives_an_equal_status() -> None:
    pods = [pod("h", "head"), pod("w0", "worker", index=0), pod("w1", "worker", index=1)]
    first = compute_status(observe(cluster(), pods))
    body = copy.deepcopy(CLUSTER)
    body["status"] = first.model_dump(by_alias=True, exclude_none=True, mode="json")
    again = compute_status(observe(RayCluster.model_validate(body), pods))
    assert again == RayCluster.model_validate(body).status  # no write when nothing changed
