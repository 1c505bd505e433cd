"""clusterSelector: run on an existing RayCluster, never delete it (e2e #15–#18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob
from tests.integration.test_raycluster import cluster_body

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")


def selecting(name: str, entrypoint: str, **spec: Any) -> dict[str, Any]:
    return rayjob(name, entrypoint, rayClusterSpec=None, clusterSelector={"ray.io/cluster": "shared"}, **spec)


@pytest.fixture
def shared(kube: Kube) -> str:
    kube.create("rayclusters", cluster_body("shared", replicas=1))
    kube.wait_cluster_state("shared", "ready")
    return "shared"


@pytest.mark.parametrize(
    ("entrypoint", "deployment", "ray_status"),
    [
        ("python -c \"print('on a shared cluster')\"", "Complete", "SUCCEEDED"),
        ('python -c "import sys; sys.exit(1)"', "Failed", "FAILED"),
    ],
)
def test_job_on_an_existing_cluster(kube: Kube, shared: str, entrypoint: str, deployment: str, ray_status: str) -> None:
    kube.create(
        "rayjobs",
        selecting(
            "selector",
            entrypoint,
            deletionStrategy={
                "deletionRules": [{"policy": "DeleteSelf", "condition": {"jobStatus": ray_status, "ttlSeconds": 3}}]
            },
        ),
    )
    status = kube.wait_job("selector", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"], status["rayClusterName"]) == (
        deployment,
        ray_status,
        shared,
    )
    kube.wait_gone("rayjobs", "selector")  # DeleteSelf works with a clusterSelector (KubeRay ignores it)
    assert kube.get("rayclusters", shared) is not None  # the selected cluster is never deleted
    assert len(kube.running_pods("ray.io/cluster=shared")) == 2


def test_selector_with_managed_by_multikueue_stays_new(kube: Kube, shared: str) -> None:
    kube.create("rayjobs", selecting("remote", "echo x", managedBy="kueue.x-k8s.io/multikueue"))
    kube.create("rayjobs", selecting("marker", "echo marker"))
    kube.wait_job("marker", ("Complete", "Failed"))
    assert not (kube.get("rayjobs", "remote") or {}).get("status")


def test_a_job_created_before_its_cluster_starts_when_the_cluster_is_ready(
    own_operator: Callable[..., tuple[Any, Kube]],
) -> None:
    """The RayJob does not own the cluster it selects, yet the cluster's changes must wake it: with an hour's
    grace for a missing cluster, nothing but the cluster's own events can move the job on (a CI run once
    waited forever when the cluster became ready between two reconciles of the job)."""
    _, kube = own_operator(head_lost_grace_seconds="3600")
    kube.create("rayjobs", selecting("early", "python -c \"print('after its cluster')\""))
    kube.wait(
        lambda: "RayClusterNotFound" in {e.reason for e in kube.events("early")},
        "the operator to report the selected cluster missing",
    )
    kube.create("rayclusters", cluster_body("shared", replicas=1))
    status = kube.wait_job("early", ("Complete", "Failed"), timeout=120)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status


def test_missing_selected_cluster_fails_with_its_reason(kube: Kube) -> None:
    kube.create(
        "rayjobs", rayjob("orphan", "echo x", rayClusterSpec=None, clusterSelector={"ray.io/cluster": "nowhere"})
    )
    status = kube.wait_job("orphan", "Failed", timeout=60)["status"]
    assert status["reason"] == "RayClusterNotFound"
    assert {e.reason for e in kube.events("orphan")} >= {"RayClusterNotFound"}


def test_selector_forbids_retries_at_apply_time(kube: Kube) -> None:
    with pytest.raises(kubernetes.client.ApiException) as caught:
        kube.create("rayjobs", selecting("no-retries", "echo x", backoffLimit=1))
    assert "spec.backoffLimit must be 0 with spec.clusterSelector" in caught.value.body
