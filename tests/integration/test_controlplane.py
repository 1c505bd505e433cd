"""The local control plane is a real one: controllers, scheduler, kwok stages and GC all act.

kwok stages (devtools/rayjob_devenv/stages): bound pods become Running/Ready with a pod IP; they end
only with ``devenv.rayjob-operator.io/complete``; deleted pods go away at once.
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.components import POD_CIDR
from rayjob_devenv.waiting import wait_for
from tests.integration.fixtures_controlplane import ControlPlane

ANNOTATION = "devenv.rayjob-operator.io"
NODE = "kwok-node-0"
VERSIONS_ENV = Path(__file__).resolve().parents[2] / "hack" / "controlplane" / "versions.env"


def _pod(name: str, annotations: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": annotations or {}, **meta},
        "spec": {"containers": [{"name": "main", "image": "busybox"}], "restartPolicy": "Never"},
    }


def _phase(cp: ControlPlane, namespace: str, name: str) -> str:
    return str(cp.core_v1.read_namespaced_pod(name, namespace).status.phase)


def _has_phase(cp: ControlPlane, namespace: str, name: str, phase: str) -> bool:
    return _phase(cp, namespace, name) == phase


def _gone(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return True
        raise
    return False


def test_startup_is_measured(control_plane: ControlPlane) -> None:
    """How fast is a figure, printed here; what is checked is that every milestone was reached, in order."""
    cp = control_plane.cp
    print(f"control plane startup: {cp.startup_seconds:.1f}s, milestones: {cp.timings}")
    milestones = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "nodes-schedulable"]
    assert [m for m in cp.timings if m in milestones] == milestones
    assert [cp.timings[m] for m in milestones] == sorted(cp.timings[m] for m in milestones)


def test_server_version_matches_the_pinned_build(control_plane: ControlPlane) -> None:
    pinned = dict(
        line.split("=", 1) for line in VERSIONS_ENV.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    version = kubernetes.client.VersionApi(control_plane.api_client).get_code()
    assert version.git_version == pinned["KUBERNETES_VERSION"]


def test_fake_node_is_ready_schedulable_and_large(control_plane: ControlPlane) -> None:
    node = control_plane.core_v1.read_node(NODE)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"
    assert not node.spec.taints
    assert node.status.allocatable["cpu"] == "64"
    assert node.status.allocatable["memory"] == "256Gi"


def test_job_pod_is_scheduled_runs_and_completes(control_plane: ControlPlane, namespace: str) -> None:
    cp = control_plane
    template = _pod("ignored", {f"{ANNOTATION}/complete": "Succeeded", f"{ANNOTATION}/complete-after": "2s"})
    del template["metadata"]["name"]
    cp.batch_v1.create_namespaced_job(
        namespace, {"metadata": {"name": "hello"}, "spec": {"backoffLimit": 0, "template": template}}
    )

    def job_pod() -> Any:
        pods = cp.core_v1.list_namespaced_pod(namespace, label_selector="job-name=hello").items
        return pods[0] if pods else None

    pod = wait_for(job_pod, 30, "the Job controller to create a pod for Job hello")
    name = pod.metadata.name
    bound = wait_for(
        lambda: cp.core_v1.read_namespaced_pod(name, namespace).spec.node_name,
        30,
        f"the scheduler to bind pod {name}",
    )
    assert bound == NODE
    wait_for(lambda: _phase(cp, namespace, name) == "Running", 30, f"kwok to make pod {name} Running")
    running = cp.core_v1.read_namespaced_pod(name, namespace)
    assert ipaddress.ip_address(running.status.pod_ip) in ipaddress.ip_network(POD_CIDR)
    wait_for(lambda: _phase(cp, namespace, name) == "Succeeded", 30, f"kwok to complete pod {name}")

    def job_complete() -> bool:
        conditions = cp.batch_v1.read_namespaced_job("hello", namespace).status.conditions or []
        return any(c.type == "Complete" and c.status == "True" for c in conditions)

    wait_for(job_complete, 30, "Job hello to be Complete")
    assert cp.batch_v1.read_namespaced_job("hello", namespace).status.succeeded == 1


def test_pods_end_only_when_they_opt_in(control_plane: ControlPlane, namespace: str) -> None:
    core = control_plane.core_v1
    core.create_namespaced_pod(namespace, _pod("runs-forever"))
    core.create_namespaced_pod(namespace, _pod("held", {f"{ANNOTATION}/stay-pending": "true"}))
    core.create_namespaced_pod(namespace, _pod("ok", {f"{ANNOTATION}/complete": "Succeeded"}))
    core.create_namespaced_pod(
        namespace, _pod("bad", {f"{ANNOTATION}/complete": "Failed", f"{ANNOTATION}/exit-code": "3"})
    )
    for name, phase in (("ok", "Succeeded"), ("bad", "Failed")):
        reached = functools.partial(_has_phase, control_plane, namespace, name, phase)
        wait_for(reached, 30, f"pod {name} to reach {phase}")
    ok = core.read_namespaced_pod("ok", namespace).status.container_statuses[0].state.terminated
    bad = core.read_namespaced_pod("bad", namespace).status.container_statuses[0].state.terminated
    assert (ok.exit_code, ok.reason) == (0, "Completed")
    assert (bad.exit_code, bad.reason) == (3, "Error")
    # Both went through Running at the same time as these two; neither may have moved on.
    forever = core.read_namespaced_pod("runs-forever", namespace)
    assert forever.status.phase == "Running"
    assert forever.status.container_statuses[0].ready is True
    held = core.read_namespaced_pod("held", namespace)
    assert (held.status.phase, held.spec.node_name) == ("Pending", NODE)


def test_deleted_pod_goes_away_despite_finalizers(control_plane: ControlPlane, namespace: str) -> None:
    core = control_plane.core_v1
    core.create_namespaced_pod(namespace, _pod("doomed", finalizers=["example.com/keep"]))
    wait_for(lambda: _phase(control_plane, namespace, "doomed") == "Running", 30, "pod doomed Running")
    core.delete_namespaced_pod("doomed", namespace)
    wait_for(lambda: _gone(core.read_namespaced_pod, "doomed", namespace), 30, "kwok to delete pod doomed")


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
def test_deleting_an_owner_collects_its_dependents(
    control_plane: ControlPlane, namespace: str, propagation: str
) -> None:
    core = control_plane.core_v1
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    owner_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "child", "ownerReferences": [owner_ref]}})
    core.delete_namespaced_config_map("owner", namespace, propagation_policy=propagation)
    wait_for(
        lambda: _gone(core.read_namespaced_config_map, "child", namespace),
        30,
        "the garbage collector to delete ConfigMap child",
    )
    wait_for(lambda: _gone(core.read_namespaced_config_map, "owner", namespace), 30, "ConfigMap owner gone")


def test_deleting_a_namespace_finishes(control_plane: ControlPlane) -> None:
    core = control_plane.core_v1
    core.create_namespace({"metadata": {"name": "doomed-ns"}})
    core.create_namespaced_pod("doomed-ns", _pod("p"))
    core.create_namespaced_config_map("doomed-ns", {"metadata": {"name": "c"}})
    core.delete_namespace("doomed-ns")
    wait_for(lambda: _gone(core.read_namespace, "doomed-ns"), 60, "the namespace controller to remove doomed-ns")
