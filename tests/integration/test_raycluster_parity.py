"""KubeRay parity of the RayCluster controller on the real control plane (issue 15): the token Secret, the
autoscaler's RBAC and sidecar with KubeRay's clamps and workersToDelete, names and labels, the status fields,
a multi-host replica that loses a host, events, and the options that are refused rather than ignored."""

from __future__ import annotations

import base64
import copy
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.ports import reserve_ports
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob
from tests.integration.test_raycluster import WORKERS, cluster_body, pod_names

AUTOSCALING = {"enableInTreeAutoscaling": True, "autoscalerOptions": {"version": "v2", "idleTimeoutSeconds": 30}}


def _env(container: Any) -> dict[str, Any]:
    return {e.name: e for e in container.env or []}


def _reasons(kube: Kube, name: str) -> list[str]:
    return [e.reason for e in kube.events(name)]


def _set_group(kube: Kube, name: str, **fields: Any) -> dict[str, Any]:
    body = kube.get("rayclusters", name)
    assert body is not None
    groups = copy.deepcopy(body["spec"]["workerGroupSpecs"])
    groups[0].update(fields)
    return kube.patch("rayclusters", name, {"spec": {"workerGroupSpecs": groups}})


def _observed(kube: Kube, name: str, generation: int) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body = kube.get("rayclusters", name) or {}
        return body if (body.get("status") or {}).get("observedGeneration") == generation else None

    return kube.wait(probe, f"RayCluster {name} to be reconciled at generation {generation}")


# --- item 2: the token Secret ------------------------------------------------------------------------------


def test_token_auth_without_a_secret_name_gets_a_generated_secret(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("tok", replicas=1, authOptions={"mode": "token"}))
    kube.wait_cluster_state("tok", "ready")
    secret = kube.core.read_namespaced_secret("tok", kube.ns)
    token = base64.b64decode(secret.data["auth_token"]).decode()
    assert len(token) >= 32
    (owner,) = secret.metadata.owner_references
    assert (owner.kind, owner.name, owner.controller) == ("RayCluster", "tok", True)
    for pod in kube.pods("ray.io/cluster=tok"):
        ref = _env(pod.spec.containers[0])["RAY_AUTH_TOKEN"].value_from.secret_key_ref
        assert (ref.name, ref.key) == ("tok", "auth_token")
    generation = _set_group(kube, "tok", replicas=2)["metadata"]["generation"]
    _observed(kube, "tok", generation)
    again = kube.core.read_namespaced_secret("tok", kube.ns)
    assert base64.b64decode(again.data["auth_token"]).decode() == token  # never regenerated
    assert "CreatedSecret" in _reasons(kube, "tok")


# --- item 1 (objects): the autoscaler's RBAC and sidecar, clamps and workersToDelete -------------------------


def test_autoscaling_cluster_gets_kuberays_rbac_sidecar_and_clamps(kube: Kube, operator: OperatorProcess) -> None:
    body = cluster_body("auto", replicas=9, **AUTOSCALING)
    body["spec"]["workerGroupSpecs"][0].update(minReplicas=1, maxReplicas=3, idleTimeoutSeconds=20)
    for template in (body["spec"]["headGroupSpec"]["template"], body["spec"]["workerGroupSpecs"][0]["template"]):
        template["spec"]["restartPolicy"] = "Never"  # autoscaler v2
    kube.create("rayclusters", body)
    kube.wait(lambda: len(pod_names(kube, f"ray.io/cluster=auto,{WORKERS}")) == 3, "3 workers (replicas 9 > max 3)")
    rbac = kubernetes.client.RbacAuthorizationV1Api(kube.cp.api_client)
    account = kube.core.read_namespaced_service_account("auto", kube.ns)
    role = rbac.read_namespaced_role("auto", kube.ns)
    binding = rbac.read_namespaced_role_binding("auto", kube.ns)
    for obj in (account, role, binding):
        assert obj.metadata.owner_references[0].name == "auto"
    assert {(tuple(r.resources), tuple(r.verbs)) for r in role.rules} == {
        (("pods",), ("get", "list", "watch", "patch")),
        (("pods/resize",), ("patch",)),
        (("rayclusters",), ("get", "patch")),
    }
    assert (binding.subjects[0].name, binding.role_ref.name) == ("auto", "auto")
    (head,) = kube.pods("ray.io/cluster=auto,ray.io/node-type=head")
    assert head.spec.service_account_name == "auto"
    ray, sidecar = head.spec.containers
    assert sidecar.name == "autoscaler" and sidecar.image == ray.image
    assert sidecar.args == [
        "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
    ]
    assert "--no-monitor" in ray.args[0]
    assert _env(ray)["RAY_enable_autoscaler_v2"].value == "true"
    stored = kube.get("rayclusters", "auto") or {}
    assert stored["spec"]["autoscalerOptions"]["idleTimeoutSeconds"] == 30  # kept for the autoscaler to read
    assert stored["spec"]["workerGroupSpecs"][0]["idleTimeoutSeconds"] == 20
    assert {"CreatedServiceAccount", "CreatedRole", "CreatedRoleBinding"} <= set(_reasons(kube, "auto"))

    # As the autoscaler scales down: fewer replicas and the pod to remove; that pod goes, the list stays.
    victim = sorted(pod_names(kube, f"ray.io/cluster=auto,{WORKERS}"))[0]
    _set_group(kube, "auto", replicas=2, scaleStrategy={"workersToDelete": [victim]})
    kube.wait(lambda: victim not in pod_names(kube, "ray.io/cluster=auto"), f"{victim} (workersToDelete) deleted")
    stored = kube.get("rayclusters", "auto") or {}
    assert stored["spec"]["workerGroupSpecs"][0]["scaleStrategy"] == {"workersToDelete": [victim]}
    # Fewer replicas alone delete nothing: with autoscaling the autoscaler names the pods to remove.
    generation = _set_group(kube, "auto", replicas=1, scaleStrategy={})["metadata"]["generation"]
    _observed(kube, "auto", generation)
    assert len(pod_names(kube, f"ray.io/cluster=auto,{WORKERS}")) == 2
    assert "DeletedWorkerPod" in _reasons(kube, "auto")


# --- item 4: names and labels -------------------------------------------------------------------------------


def test_head_service_name_is_not_clipped_and_user_labels_override_as_in_kuberay(
    kube: Kube, operator: OperatorProcess
) -> None:
    name = "n" * 50
    body = cluster_body(name, replicas=1)
    labels = {"ray.io/identifier": "mine", "ray.io/cluster": "other", "ray.io/is-ray-node": "maybe", "team": "a"}
    body["spec"]["workerGroupSpecs"][0]["template"]["metadata"] = {"labels": labels}
    kube.create("rayclusters", body)
    status = kube.wait_cluster_state(name, "ready")["status"]
    assert status["head"]["serviceName"] == name + "-head-svc"  # 59 characters, as KubeRay names it
    kube.core.read_namespaced_service(name + "-head-svc", kube.ns)
    (worker,) = kube.pods(f"ray.io/cluster={name},{WORKERS}")
    assert f"--address={name}-head-svc.{kube.ns}.svc.cluster.local:6379" in worker.spec.containers[0].args[0]
    got = worker.metadata.labels
    assert (got["ray.io/identifier"], got["ray.io/is-ray-node"], got["team"]) == ("mine", "maybe", "a")
    assert (got["ray.io/cluster"], got["ray.io/node-type"], got["ray.io/group"]) == (name, "worker", "small")


# --- item 5: status -------------------------------------------------------------------------------------------


def test_status_reports_desired_resources_service_ip_and_node_ports(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("res", replicas=2))  # head: no resources; workers 250m/512Mi requests
    status = kube.wait_cluster_state("res", "ready")["status"]
    assert (status["desiredCPU"], status["desiredMemory"], status["desiredGPU"], status["desiredTPU"]) == (
        "500m",
        "1Gi",
        "0",
        "0",
    )
    head_ip = status["head"]["podIP"]
    assert head_ip and status["head"]["serviceIP"] == head_ip  # headless head Service: the head pod's IP
    row = kube.cp.run_kubectl("get", "raycluster", "res", "-n", kube.ns, "--no-headers").stdout.split()
    assert row[3:6] == ["500m", "1Gi", "0"]  # the cpus, memory and gpus columns

    kube.create("rayclusters", cluster_body("np", replicas=0, headGroupSpec=_node_port_head()))
    status = kube.wait_cluster_state("np", "ready")["status"]
    service = kube.core.read_namespaced_service("np-head-svc", kube.ns)
    node_ports = {p.name: str(p.node_port) for p in service.spec.ports}
    assert status["endpoints"] == node_ports
    assert all(30000 <= int(port) <= 32767 for port in node_ports.values())
    assert status["head"]["serviceIP"] == service.spec.cluster_ip != "None"


def _node_port_head() -> dict[str, Any]:
    head = cluster_body("x")["spec"]["headGroupSpec"]
    head["serviceType"] = "NodePort"
    return dict(head)


# --- item 6: events of pod deletions ----------------------------------------------------------------------------


def test_deleted_pods_are_reported_with_kuberays_reasons(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("ev", replicas=2))
    kube.wait_cluster_state("ev", "ready")
    _set_group(kube, "ev", replicas=1)
    kube.wait(lambda: "DeletedWorkerPod" in _reasons(kube, "ev"), "a DeletedWorkerPod event for the scale-down")
    (head,) = pod_names(kube, "ray.io/cluster=ev,ray.io/node-type=head")
    kube.core.patch_namespaced_pod_status(head, kube.ns, {"status": {"phase": "Failed"}})
    kube.wait(lambda: "DeletedHeadPod" in _reasons(kube, "ev"), "a DeletedHeadPod event for the failed head")
    kube.wait(lambda: pod_names(kube, "ray.io/cluster=ev,ray.io/node-type=head") - {head}, "a new head pod")


# --- item 7: multi-host replicas ---------------------------------------------------------------------------------


def test_a_multi_host_replica_that_loses_a_host_is_recreated_whole(kube: Kube, operator: OperatorProcess) -> None:
    body = cluster_body("mh", replicas=2)
    body["spec"]["workerGroupSpecs"][0]["numOfHosts"] = 2
    kube.create("rayclusters", body)
    kube.wait_cluster_state("mh", "ready")
    replicas: dict[str, set[str]] = {}
    for pod in kube.pods(f"ray.io/cluster=mh,{WORKERS}"):
        replicas.setdefault(pod.metadata.labels["ray.io/worker-group-replica-name"], set()).add(pod.metadata.name)
    assert sorted(len(hosts) for hosts in replicas.values()) == [2, 2]
    lost, peer = sorted(replicas["small-0"])
    kube.core.delete_namespaced_pod(lost, kube.ns)
    kube.wait(
        lambda: peer not in pod_names(kube, "ray.io/cluster=mh"), f"{peer}, the other host of the replica, deleted"
    )

    def whole_replicas() -> dict[str, set[str]] | None:
        now: dict[str, set[str]] = {}
        for pod in kube.running_pods(f"ray.io/cluster=mh,{WORKERS}"):
            now.setdefault(pod.metadata.labels["ray.io/worker-group-replica-name"], set()).add(pod.metadata.name)
        return now if sorted(len(h) for h in now.values()) == [2, 2] else None

    now = kube.wait(whole_replicas, "two whole replicas again")
    assert now["small-1"] == replicas["small-1"]  # the intact replica was not touched
    assert not {lost, peer} & set().union(*now.values())
    assert any("lost a host" in (e.message or "") for e in kube.events("mh"))


# --- item 8: options the operator cannot honour are refused -------------------------------------------------------

UNSUPPORTED = [
    ("gcsFaultToleranceOptions", {"gcsFaultToleranceOptions": {"redisAddress": "redis:6379"}}),
    ("tlsOptions", {"tlsOptions": {"certificateIssuerRef": {"name": "issuer"}}}),
    ("networkPolicy", {"networkPolicy": {"mode": "DenyAllIngress"}}),
    ("enableIngress", {"headGroupSpec": {**cluster_body("x")["spec"]["headGroupSpec"], "enableIngress": True}}),
]


@pytest.mark.parametrize(("field", "spec"), UNSUPPORTED, ids=[f for f, _ in UNSUPPORTED])
def test_an_option_not_honoured_is_refused_with_its_name(
    kube: Kube, operator: OperatorProcess, field: str, spec: dict[str, Any]
) -> None:
    kube.create("rayclusters", cluster_body("opt", replicas=1, **spec))

    def refusal() -> str | None:
        reason = ((kube.get("rayclusters", "opt") or {}).get("status") or {}).get("reason") or ""
        return reason if field in reason else None

    assert "not supported" in kube.wait(refusal, f"status.reason naming {field}")
    notes = [e.message or "" for e in kube.events("opt") if e.reason == "InvalidRayClusterSpec"]
    assert any(field in note for note in notes)
    assert kube.pods("ray.io/cluster=opt") == []
    if field == "enableIngress":
        kube.patch("rayclusters", "opt", {"spec": {"headGroupSpec": {"enableIngress": False}}})
    else:
        kube.patch("rayclusters", "opt", {"spec": {field: None}})
    kube.wait_cluster_state("opt", "ready")  # fixed: the cluster recovers


def test_a_rayjob_with_an_option_not_honoured_fails_validation_naming_it(kube: Kube, operator: OperatorProcess) -> None:
    body = rayjob("tls-job")
    body["spec"]["rayClusterSpec"]["tlsOptions"] = {"certificateIssuerRef": {"name": "issuer"}}
    kube.create("rayjobs", body)
    status = kube.wait_job("tls-job", "ValidationFailed")["status"]
    assert "tlsOptions" in status["message"]
    assert status["reason"] == "ValidationFailed"
    assert kube.get("rayclusters", status.get("rayClusterName") or "none") is None


# --- item 3: the multi-host headless Service across re-lists ------------------------------------------------------

RELISTED = "Re-listed the watched objects"


def test_the_headless_worker_service_stays_cached_across_relists(own_operator: Callable[..., Any]) -> None:
    process, kube = own_operator(resync_seconds="1")
    body = cluster_body("hl", replicas=1)
    body["spec"]["workerGroupSpecs"][0]["numOfHosts"] = 2
    kube.create("rayclusters", body)
    kube.wait_cluster_state("hl", "ready")
    service = kube.core.read_namespaced_service("hl-headless", kube.ns)
    assert service.metadata.labels["app.kubernetes.io/created-by"] == "kuberay-operator"
    offset = len(process.log_text())
    kube.wait(lambda: process.log_text(offset).count(RELISTED) >= 3, "three re-lists by the operator")
    created = [e for e in kube.events("hl") if e.reason == "CreatedService" and "hl-headless" in (e.message or "")]
    assert len(created) == 1, [e.message for e in created]
    assert "is gone (its deletion was missed" not in process.log_text()
    assert kube.core.read_namespaced_service("hl-headless", kube.ns).metadata.uid == service.metadata.uid


# --- item 6: cluster metrics ----------------------------------------------------------------------------------------


def _scrape(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return str(reply.read().decode())


def test_cluster_metrics_are_served_with_kuberays_names_and_labels(own_operator: Callable[..., Any]) -> None:
    (port,) = reserve_ports(1)
    _, kube = own_operator(metrics_port=str(port))
    kube.create("rayclusters", cluster_body("met", replicas=1))
    uid = kube.wait_cluster_state("met", "ready")["metadata"]["uid"]
    ident = f'name="met",namespace="{kube.ns}",uid="{uid}"'

    def provisioned() -> str | None:
        text = _scrape(port)
        return text if "kuberay_cluster_provisioned_duration_seconds{" in text else None

    text = kube.wait(provisioned, "the provisioned duration on /metrics")
    lines = text.splitlines()
    assert any(
        line.startswith("kuberay_cluster_info{") and 'owner_kind="None"' in line and uid in line for line in lines
    )
    assert any(
        line.startswith("kuberay_cluster_condition_provisioned{") and 'condition="true"' in line and uid in line
        for line in lines
    )
    (duration,) = [line for line in lines if line.startswith("kuberay_cluster_provisioned_duration_seconds{")]
    assert all(part in duration for part in ident.split(","))
    assert float(duration.rsplit(" ", 1)[1]) >= 0
    kube.delete("rayclusters", "met")
    kube.wait(lambda: "kuberay_cluster_provisioned_duration_seconds{" not in _scrape(port), "the series to go")


def test_a_rayjob_authenticates_with_the_generated_token(
    kube: Kube, operator: OperatorProcess, dashboard_proxy: ForwardProxy
) -> None:
    """The operator's dashboard client reads the token from the Secret it generated; Ray checks it."""
    kube.create("rayclusters", cluster_body("authc", replicas=0, authOptions={"mode": "token"}))
    kube.wait_cluster_state("authc", "ready")
    token = base64.b64decode(kube.core.read_namespaced_secret("authc", kube.ns).data["auth_token"]).decode()
    head = RayHead(num_cpus=1, token=token)
    head.start()
    route = dashboard_proxy.prepend_route(
        rf"authc-head-svc\.{re.escape(kube.ns)}\.svc\.cluster\.local:8265", head.address
    )
    try:
        job = rayjob(
            "authj", submissionMode="HTTPMode", clusterSelector={"ray.io/cluster": "authc"}, rayClusterSpec=None
        )
        kube.create("rayjobs", job)
        status = kube.wait_job("authj", ("Complete", "Failed"))["status"]
        assert (status["jobDeploymentStatus"], status.get("jobStatus")) == ("Complete", "SUCCEEDED"), status
    finally:
        dashboard_proxy.remove_route(route)
        head.stop()
