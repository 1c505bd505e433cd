"""The chart's RBAC suffices: the operator, run out of cluster as the chart's ServiceAccount (a TokenRequest token,
nothing else), drives a RayJob from apply to Complete and through deletion. With one permission removed, the same
run fails, which shows that this proof can fail."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.proxy import ForwardProxy
from tests.integration.chart_support import (
    RBAC_KINDS,
    Permission,
    apply_manifests,
    mint_token,
    render_chart,
    select,
    service_account_name,
    without_permission,
    write_token_kubeconfig,
)
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob
from tests.integration.test_raycluster import cluster_body

pytestmark = pytest.mark.usefixtures("pod_runner")


@pytest.fixture
def own_namespace(control_plane: Any) -> Iterator[str]:
    """An ``rs-*`` namespace: the shared test operator leaves it to the operator under test."""
    name = f"rs-rbac-{secrets.token_hex(3)}"
    control_plane.core_v1.create_namespace({"metadata": {"name": name}})
    yield name
    control_plane.core_v1.delete_namespace(name)


def operator_as_service_account(
    control_plane: Any, proxy: ForwardProxy, namespace: str, tmp_path: Path, docs: list[dict[str, Any]]
) -> OperatorProcess:
    apply_manifests(control_plane.cp.kubectl_argv, select(docs, RBAC_KINDS | {"ServiceAccount"}))
    token = mint_token(control_plane.core_v1, namespace, service_account_name(docs))
    kubeconfig = write_token_kubeconfig(
        tmp_path / "sa.kubeconfig", control_plane.kubeconfig, token, namespace=namespace
    )
    process = OperatorProcess(
        kubeconfig=kubeconfig, log_path=tmp_path / "operator.log", proxy=proxy.url, args=[f"--namespace={namespace}"]
    )
    process.start()
    return process


@pytest.fixture
def chart_operator(
    control_plane: Any, dashboard_proxy: ForwardProxy, own_namespace: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[OperatorProcess, Kube]]]:
    """Start the operator as the chart's ServiceAccount, with one permission removed if asked; stopped after."""
    started: list[OperatorProcess] = []

    def start(removed: Permission | None = None) -> tuple[OperatorProcess, Kube]:
        docs = render_chart(namespace=own_namespace, values={"watchNamespaces": [own_namespace]})
        if removed is not None:
            docs = without_permission(docs, removed)
        started.append(operator_as_service_account(control_plane, dashboard_proxy, own_namespace, tmp_path, docs))
        return started[-1], Kube(control_plane, own_namespace)

    yield start
    for process in started:
        process.stop()


REFUSAL = re.compile(r"\bForbidden\b|\bforbidden\b|HTTP 403|\(403\)|status=403|: 403\b")
"""How an API refusal shows in the operator's log (a bare "403" would also match a timestamp's milliseconds)."""


def _refused_nothing(process: OperatorProcess) -> None:
    refusals = [line for line in process.log_text().splitlines() if REFUSAL.search(line)]
    assert refusals == [], "\n".join(refusals[:20])


def test_chart_rbac_drives_a_rayjob_to_complete_and_through_deletion(
    chart_operator: Callable[..., tuple[OperatorProcess, Kube]], own_namespace: str
) -> None:
    process, kube = chart_operator()
    kube.create("rayjobs", rayjob("rbac", shutdownAfterJobFinishes=True))
    status = kube.wait_job("rbac", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    kube.wait_gone("rayclusters", status["rayClusterName"])  # shutdown: a delete by the ServiceAccount
    kube.wait(lambda: kube.core.read_namespaced_config_map("rbac-driver-log", own_namespace), "the driver log")
    kube.delete("rayjobs", "rbac")
    kube.wait_gone("rayjobs", "rbac", timeout=20)  # the finalizer was removed by the ServiceAccount
    _refused_nothing(process)


def test_with_one_permission_removed_the_run_fails(chart_operator: Callable[..., tuple[OperatorProcess, Kube]]) -> None:
    process, kube = chart_operator(Permission("ray.io", "rayjobs/status", "update"))
    try:
        kube.create("rayjobs", rayjob("rbac-broken"))
        kube.wait(lambda: "403" in process.log_text(), "the operator to be refused a status update")
        assert not (kube.get("rayjobs", "rbac-broken") or {}).get("status")  # it never got anywhere
    finally:
        kube.patch("rayjobs", "rbac-broken", {"metadata": {"finalizers": []}})


def test_chart_rbac_creates_the_autoscalers_objects_and_the_token_secret(
    chart_operator: Callable[..., tuple[OperatorProcess, Kube]], control_plane: Any, own_namespace: str
) -> None:
    """The Role the operator grants the autoscaler holds nothing the chart does not grant the operator."""
    process, kube = chart_operator()
    body = cluster_body("rbac-auto", replicas=1, enableInTreeAutoscaling=True, authOptions={"mode": "token"})
    kube.create("rayclusters", body)
    kube.wait_cluster_state("rbac-auto", "ready")
    rbac = kubernetes.client.RbacAuthorizationV1Api(control_plane.api_client)
    kube.core.read_namespaced_service_account("rbac-auto", own_namespace)
    rbac.read_namespaced_role("rbac-auto", own_namespace)
    rbac.read_namespaced_role_binding("rbac-auto", own_namespace)
    kube.core.read_namespaced_secret("rbac-auto", own_namespace)
    _refused_nothing(process)


def test_a_refused_pod_deletion_is_posted_as_failed_to_delete(
    chart_operator: Callable[..., tuple[OperatorProcess, Kube]],
) -> None:
    _, kube = chart_operator(Permission("", "pods", "delete"))
    kube.create("rayclusters", cluster_body("rbac-nodel", replicas=2))
    kube.wait_cluster_state("rbac-nodel", "ready")
    groups = (kube.get("rayclusters", "rbac-nodel") or {})["spec"]["workerGroupSpecs"]
    groups[0]["replicas"] = 1
    kube.patch("rayclusters", "rbac-nodel", {"spec": {"workerGroupSpecs": groups}})
    kube.wait(
        lambda: "FailedToDeleteWorkerPod" in {e.reason for e in kube.events("rbac-nodel")},
        "a FailedToDeleteWorkerPod event for the refused scale-down",
    )
