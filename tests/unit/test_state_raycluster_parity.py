"""RayCluster planning and status where KubeRay users would notice: autoscaling clamps and workersToDelete,
multi-host replicas, desired resources, the head Service's IP and endpoints, the created-once children."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import RayCluster, RayClusterStatus
from rayjob_operator.state.raycluster import ClusterObservation, cluster_children, plan_children
from rayjob_operator.state.raycluster_status import compute_status, invalid_status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPTIONS = PodOptions()
GROUP: dict[str, Any] = {
    "groupName": "g",
    "replicas": 2,
    "minReplicas": 1,
    "maxReplicas": 3,
    "template": {"spec": {"containers": [{"name": "w", "image": "ray"}]}},
}


def cluster(*, group: dict[str, Any] | None = None, **spec: Any) -> RayCluster:
    body: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "c", "namespace": "ns", "uid": "u1", "generation": 1},
        "spec": {
            "headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "ray"}]}}},
            "workerGroupSpecs": [{**copy.deepcopy(GROUP), **(group or {})}],
            **spec,
        },
    }
    return RayCluster.model_validate(body)


def pod(name: str, node_type: str = "worker", *, index: int | None = None, host: int | None = None) -> dict[str, Any]:
    labels = {constants.LABEL_NODE_TYPE: node_type, constants.LABEL_GROUP: "headgroup" if node_type == "head" else "g"}
    if index is not None:
        labels[constants.LABEL_WORKER_REPLICA_INDEX] = str(index)
    if host is not None:
        labels[constants.LABEL_REPLICA_HOST_INDEX] = str(host)
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "ray"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "podIP": f"10.0.0.{len(name)}",
        },
    }


def observe(
    c: RayCluster, pods: list[dict[str, Any]], services: list[dict[str, Any]] | None = None
) -> ClusterObservation:
    return ClusterObservation(cluster=c, pods=pods, services=services or [], now=NOW)


def plan(c: RayCluster, pods: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[str]]:
    """(replica index, host index) of each pod to create, and the names of the pods to delete."""
    result = plan_children(observe(c, [pod("h", "head"), *pods]), options=OPTIONS)
    created = [
        (
            p["metadata"]["labels"][constants.LABEL_WORKER_REPLICA_INDEX],
            p["metadata"]["labels"].get(constants.LABEL_REPLICA_HOST_INDEX, "-"),
        )
        for p in result.create_pods
    ]
    return created, [d.name for d in result.delete_pods]


# --- autoscaling ---------------------------------------------------------------------------------------------


def test_without_autoscaling_replicas_are_exact() -> None:
    assert plan(cluster(group={"replicas": 5}), []) == (
        [("0", "-"), ("1", "-"), ("2", "-"), ("3", "-"), ("4", "-")],
        [],
    )
    assert plan(cluster(group={"replicas": 0}), [pod("w0", index=0)]) == ([], ["w0"])


def test_with_autoscaling_replicas_are_clamped_into_min_and_max() -> None:
    assert plan(cluster(group={"replicas": 5}, enableInTreeAutoscaling=True), [])[0] == [
        ("0", "-"),
        ("1", "-"),
        ("2", "-"),
    ]
    assert plan(cluster(group={"replicas": 0}, enableInTreeAutoscaling=True), [])[0] == [("0", "-")]


def test_with_autoscaling_surplus_pods_wait_for_the_autoscaler_to_name_them() -> None:
    pods = [pod("w0", index=0), pod("w1", index=1), pod("w2", index=2)]
    assert plan(cluster(group={"replicas": 1}, enableInTreeAutoscaling=True), pods) == ([], [])


def test_workers_to_delete_are_deleted_and_the_list_is_left_to_the_autoscaler() -> None:
    c = cluster(
        group={"replicas": 1, "scaleStrategy": {"workersToDelete": ["w1", "gone"]}}, enableInTreeAutoscaling=True
    )
    pods = [pod("w0", index=0), pod("w1", index=1)]
    assert plan(c, pods) == ([], ["w1"])
    assert c.spec.worker_groups()[0].scale_strategy == {"workersToDelete": ["w1", "gone"]}


def test_a_worker_deleted_on_request_is_replaced_at_the_lowest_free_index() -> None:
    c = cluster(group={"replicas": 2, "scaleStrategy": {"workersToDelete": ["w0"]}})
    assert plan(c, [pod("w0", index=0), pod("w1", index=1)]) == ([("0", "-")], ["w0"])


def test_status_counts_follow_the_clamps() -> None:
    c = cluster(group={"replicas": 7}, enableInTreeAutoscaling=True)
    status = compute_status(observe(c, []))
    assert (status.desired_worker_replicas, status.min_worker_replicas, status.max_worker_replicas) == (3, 1, 3)


# --- multi-host replicas ---------------------------------------------------------------------------------------


def multi_host(replicas: int, **group: Any) -> RayCluster:
    return cluster(group={"replicas": replicas, "numOfHosts": 2, **group})


def test_multi_host_replicas_are_created_whole() -> None:
    assert plan(multi_host(2), [])[0] == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]


def test_a_replica_that_lost_a_host_is_deleted_whole_and_created_again() -> None:
    pods = [pod("a0", index=0, host=0), pod("b0", index=1, host=0), pod("b1", index=1, host=1)]
    created, deleted = plan(multi_host(2), pods)
    assert deleted == ["a0"]
    assert created == [("2", "0"), ("2", "1")]  # a fresh replica; index 0 is still held by a0


def test_a_complete_multi_host_group_is_left_alone() -> None:
    pods = [pod("a0", index=0, host=0), pod("a1", index=0, host=1)]
    assert plan(multi_host(1), pods) == ([], [])


def two_replicas() -> list[dict[str, Any]]:
    """Replica 0 on pods a0 and a1, replica 1 on b0 and b1."""
    return [pod(f"{name}{host}", index=index, host=host) for index, name in enumerate("ab") for host in (0, 1)]


def test_workers_to_delete_take_their_whole_replica() -> None:
    group = {"replicas": 1, "numOfHosts": 2, "scaleStrategy": {"workersToDelete": ["b1"]}}
    assert plan(cluster(group=group, enableInTreeAutoscaling=True), two_replicas()) == ([], ["b0", "b1"])


def test_multi_host_scale_down_deletes_whole_replicas() -> None:
    assert plan(multi_host(1), two_replicas()) == ([], ["b0", "b1"])


def test_multi_host_pods_without_a_replica_are_deleted() -> None:
    assert plan(multi_host(0), [pod("stray")]) == ([], ["stray"])


# --- status: resources, head Service, endpoints -------------------------------------------------------------------


def test_desired_resources_reach_the_status() -> None:
    resources = {"limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}}
    template = {"spec": {"containers": [{"name": "w", "image": "ray", "resources": resources}]}}
    status = compute_status(observe(cluster(group={"template": template}), []))
    assert (status.desired_cpu, status.desired_memory, status.desired_gpu, status.desired_tpu) == ("4", "8Gi", "2", "0")
    wire = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert {"desiredCPU", "desiredMemory", "desiredGPU", "desiredTPU"} <= set(wire)


def service(cluster_ip: str, *, service_type: str = "ClusterIP", node_port: int | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"name": "dashboard", "port": 8265, "targetPort": 8265}
    if node_port is not None:
        port["nodePort"] = node_port
    return {
        "metadata": {"name": "c-head-svc"},
        "spec": {"type": service_type, "clusterIP": cluster_ip, "ports": [port]},
    }


def test_service_ip_of_a_headless_head_service_is_the_head_pod_ip() -> None:
    head = pod("head-pod", "head")
    status = compute_status(observe(cluster(), [head], [service("None")]))
    assert status.head is not None
    assert (status.head.service_ip, status.head.pod_ip) == (head["status"]["podIP"], head["status"]["podIP"])
    assert status.head.service_name == "c-head-svc"


def test_service_ip_of_a_cluster_ip_service_is_its_cluster_ip() -> None:
    status = compute_status(observe(cluster(), [pod("h", "head")], [service("10.96.0.7")]))
    assert status.head is not None
    assert status.head.service_ip == "10.96.0.7"


def test_node_port_endpoints_report_the_node_port() -> None:
    svc = service("10.96.0.7", service_type="NodePort", node_port=31265)
    assert compute_status(observe(cluster(), [], [svc])).endpoints == {"dashboard": "31265"}
    assert compute_status(observe(cluster(), [], [service("None")])).endpoints == {"dashboard": "8265"}


def test_an_invalid_cluster_keeps_its_state_and_says_why() -> None:
    c = cluster().model_copy(update={"status": RayClusterStatus(state="ready")})  # type: ignore[arg-type]
    status = invalid_status(c, "tlsOptions is not supported", NOW)
    assert (status.state, status.reason) == ("ready", "tlsOptions is not supported")
    assert invalid_status(c.model_copy(update={"status": status}), "tlsOptions is not supported", NOW) == status


# --- children created once -------------------------------------------------------------------------------------


def test_autoscaling_needs_a_service_account_role_and_binding() -> None:
    children = cluster_children(cluster(enableInTreeAutoscaling=True), token="t")
    assert [(c.kind, c.name, c.manifest is not None) for c in children] == [
        ("ServiceAccount", "c", True),
        ("Role", "c", True),
        ("RoleBinding", "c", True),
    ]


def test_a_service_account_of_the_users_is_only_checked() -> None:
    head = {"template": {"spec": {"serviceAccountName": "mine", "containers": [{"name": "ray-head", "image": "ray"}]}}}
    (account, *_) = cluster_children(cluster(enableInTreeAutoscaling=True, headGroupSpec=head), token="t")
    assert (account.kind, account.name, account.manifest) == ("ServiceAccount", "mine", None)


def test_token_auth_without_a_secret_name_needs_the_token_secret() -> None:
    (secret,) = cluster_children(cluster(authOptions={"mode": "token"}), token="t0k")
    assert (secret.kind, secret.name) == ("Secret", "c")
    assert secret.manifest is not None and secret.manifest["stringData"] == {"auth_token": "t0k"}
    assert cluster_children(cluster(authOptions={"mode": "token", "secretName": "s"}), token="t") == []
    assert cluster_children(cluster(), token="t") == []
