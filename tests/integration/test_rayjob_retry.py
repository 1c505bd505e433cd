"""Retries with backoffLimit: a new cluster per attempt, counters, which reasons retry (§7.1 #11, e2e #34–#38)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.kube import Kube
from tests.integration.rayjobs import entrypoint_failing_first, rayjob, runs, sleeping

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
FAILING = 'python -c "import sys; sys.exit(1)"'


def test_retry_gets_a_new_cluster_and_succeeds(kube: Kube, tmp_path: Any) -> None:
    marker = str(tmp_path / "attempts")
    kube.create("rayjobs", rayjob("retry", entrypoint_failing_first(marker), backoffLimit=1))
    first = kube.wait(
        lambda: (s := (kube.get("rayjobs", "retry") or {}).get("status") or {}).get("rayClusterName") and s,
        "the first attempt's cluster",
    )["rayClusterName"]
    status = kube.wait_job("retry", ("Complete", "Failed"), timeout=120)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert (status["succeeded"], status["failed"]) == (1, 1)
    assert status["rayClusterName"] != first
    assert kube.get("rayclusters", first) is None
    assert runs(marker) == 2


@pytest.mark.parametrize("mode", ["K8sJobMode", "HTTPMode", "SidecarMode"])
def test_backoff_limit_two_with_a_failing_app(kube: Kube, mode: str) -> None:
    spec: dict[str, Any] = {"submissionMode": mode, "backoffLimit": 2}
    if mode == "K8sJobMode":
        spec["submitterConfig"] = {"backoffLimit": 1}
    kube.create("rayjobs", rayjob("always-fails", FAILING, **spec))
    status = kube.wait_job("always-fails", "Failed", timeout=150)["status"]
    assert (status["reason"], status["failed"], status.get("succeeded", 0)) == ("AppFailed", 3, 0)


def test_backoff_limit_two_with_an_unreachable_submit(kube: Kube) -> None:
    container = {
        "name": "ray-job-submitter",
        "image": "x",
        "command": ["rayjob-submit", "--address", "127.0.0.1:9", "--dashboard-wait-seconds", "1"],
    }
    body = rayjob(
        "never-submitted",
        backoffLimit=2,
        shutdownAfterJobFinishes=True,
        submitterConfig={"backoffLimit": 0},
        submitterPodTemplate={"spec": {"restartPolicy": "Never", "containers": [container]}},
    )
    kube.create("rayjobs", body)
    status = kube.wait_job("never-submitted", "Failed", timeout=150)["status"]
    assert (status["reason"], status.get("jobStatus", ""), status["failed"]) == ("SubmissionFailed", "", 3)
    kube.wait(
        lambda: not kube.custom.list_namespaced_custom_object("ray.io", "v1", kube.ns, "rayclusters")["items"],
        "the last cluster to be deleted (shutdownAfterJobFinishes)",
    )
    assert [j.metadata.name for j in kube.jobs()] == ["never-submitted"]


def test_deadline_exceeded_is_not_retried(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("no-retry", sleeping(120), backoffLimit=2, activeDeadlineSeconds=5))
    status = kube.wait_job("no-retry", "Failed", timeout=60)["status"]
    assert (status["reason"], status["failed"]) == ("DeadlineExceeded", 1)
