"""Suspend and resume, as Kueue drives them (§7.2, e2e #45–#46): never any compute while suspended."""

from __future__ import annotations

from typing import Any

import pytest

from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import wait_for_status
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob, sleeping

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")


def status_of(kube: Kube, name: str) -> dict[str, Any]:
    return (kube.get("rayjobs", name) or {}).get("status") or {}


def clusters(kube: Kube, prefix: str) -> list[str]:
    items = kube.custom.list_namespaced_custom_object("ray.io", "v1", kube.ns, "rayclusters")["items"]
    return [c["metadata"]["name"] for c in items if c["metadata"]["name"].startswith(prefix)]


def test_created_suspended_creates_nothing(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("queued", suspend=True, shutdownAfterJobFinishes=True))
    status = kube.wait_job("queued", "Suspended")["status"]
    assert "rayClusterName" not in status
    kube.create("rayjobs", rayjob("marker", "echo marker"))  # proof that the operator had time to act
    kube.wait_job("marker", ("Complete", "Failed"))
    assert clusters(kube, "queued") == []
    assert not [p for p in kube.pods() if p.metadata.name.startswith("queued")]
    conditions = {c["type"]: c["status"] for c in status_of(kube, "queued")["conditions"]}
    assert conditions["Suspended"] == "True"


def test_resume_creates_the_cluster_then_the_submitter_and_completes(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("resumed", suspend=True, shutdownAfterJobFinishes=True))
    kube.wait_job("resumed", "Suspended")
    kube.patch("rayjobs", "resumed", {"spec": {"suspend": False}})
    kube.wait(lambda: status_of(kube, "resumed").get("rayClusterName"), "a cluster name after the resume")
    status = kube.wait_job("resumed", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert status["dashboardURL"].startswith("resumed-")
    kube.delete("rayjobs", "resumed")
    kube.wait(lambda: kube.pods() == [], "every pod to be garbage-collected with the RayJob")


def test_suspend_while_running_stops_tears_down_and_resumes(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("preempted", sleeping(120), shutdownAfterJobFinishes=True))
    status = kube.wait(lambda: (s := status_of(kube, "preempted")).get("jobStatus") == "RUNNING" and s, "RUNNING")
    first_cluster, first_id = status["rayClusterName"], status["jobId"]
    kube.patch("rayjobs", "preempted", {"spec": {"suspend": True}})
    status = kube.wait_job("preempted", "Suspended")["status"]
    assert "rayClusterName" not in status and "jobId" not in status
    wait_for_status(ray_head, first_id, {"STOPPED"})  # the Ray job is stopped, not left to die with the cluster
    kube.wait(lambda: kube.get("rayclusters", first_cluster) is None and not kube.jobs(), "cluster and Job deleted")
    kube.patch("rayjobs", "preempted", {"spec": {"suspend": False}})
    status = kube.wait_job("preempted", "Running")["status"]
    assert status["rayClusterName"] != first_cluster


def test_suspend_is_atomic_once_started(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("atomic", sleeping(120), shutdownAfterJobFinishes=True))
    status = kube.wait_job("atomic", "Running")["status"]
    cluster = status["rayClusterName"]
    kube.patch("rayclusters", cluster, {"metadata": {"finalizers": ["test.example/block"]}})
    kube.patch("rayjobs", "atomic", {"spec": {"suspend": True}})
    kube.wait_job("atomic", "Suspending")
    kube.patch("rayjobs", "atomic", {"spec": {"suspend": False}})  # withdrawn while the teardown is blocked
    kube.create("rayjobs", rayjob("marker3", "echo marker"))  # proof that the operator had time to act on it
    kube.wait_job("marker3", ("Complete", "Failed"))
    assert status_of(kube, "atomic")["jobDeploymentStatus"] == "Suspending"
    assert kube.get("rayclusters", cluster) is not None  # not re-created, not resumed: still going away
    kube.patch("rayjobs", "atomic", {"spec": {"suspend": True}})
    kube.patch("rayclusters", cluster, {"metadata": {"finalizers": []}})
    kube.wait_job("atomic", "Suspended")
    assert kube.pods(f"ray.io/cluster={cluster}") == []  # Suspended only once every pod is gone


def test_suspended_job_stays_suspended_without_work(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("idle", suspend=True, shutdownAfterJobFinishes=True))
    before = kube.wait_job("idle", "Suspended")
    kube.create("rayjobs", rayjob("marker2", "echo marker"))
    kube.wait_job("marker2", ("Complete", "Failed"))
    after = kube.get("rayjobs", "idle")
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # no status churn
