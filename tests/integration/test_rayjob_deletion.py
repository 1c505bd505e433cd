"""Deletion after the end: legacy onSuccess/onFailure, deletionRules, shutdownAfterJobFinishes (§7.1 #13–#32,
e2e #19–#28). Nothing but the chosen policy may touch the cluster, the submitter Job or the RayJob."""

from __future__ import annotations

from typing import Any

import pytest

from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import stop_job
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob, sleeping
from tests.manifests import deletion_rules

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
OK = "python -c \"print('fine')\""
BAD = 'python -c "import sys; sys.exit(1)"'


def legacy(on_success: str, on_failure: str) -> dict[str, Any]:
    return {"onSuccess": {"policy": on_success}, "onFailure": {"policy": on_failure}}


def finished(kube: Kube, name: str) -> dict[str, Any]:
    """The last status seen once the RayJob is Complete or Failed, or is gone (a DeleteSelf with TTL 0)."""
    seen: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        body = kube.get("rayjobs", name)
        if body is None:
            return seen if seen.get("rayClusterName") else None
        seen.update(body.get("status") or {})
        return seen if seen.get("jobDeploymentStatus") in ("Complete", "Failed") else None

    return kube.wait(probe, f"RayJob {kube.ns}/{name} to finish (or delete itself)", timeout=90)


def cluster_workers(kube: Kube, cluster: str) -> int:
    return len(kube.pods(f"ray.io/cluster={cluster},ray.io/node-type=worker"))


def outcome(kube: Kube, name: str, cluster: str) -> str:
    """What is left: 'self-deleted', 'cluster-deleted', 'workers-deleted' or 'nothing-deleted'."""
    if kube.get("rayjobs", name) is None:
        return "self-deleted"
    body = kube.get("rayclusters", cluster)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return "cluster-deleted"
    if all(g.get("suspend") for g in body["spec"].get("workerGroupSpecs", [])) and cluster_workers(kube, cluster) == 0:
        return "workers-deleted"
    return "nothing-deleted"


CASES = [
    # legacy policies (shutdownAfterJobFinishes false)
    (
        "legacy-success-delete-cluster",
        OK,
        {"deletionStrategy": legacy("DeleteCluster", "DeleteNone")},
        "cluster-deleted",
    ),
    (
        "legacy-failure-delete-cluster",
        BAD,
        {"deletionStrategy": legacy("DeleteNone", "DeleteCluster")},
        "cluster-deleted",
    ),
    (
        "legacy-success-delete-workers",
        OK,
        {"deletionStrategy": legacy("DeleteWorkers", "DeleteNone")},
        "workers-deleted",
    ),
    (
        "legacy-failure-delete-workers",
        BAD,
        {"deletionStrategy": legacy("DeleteWorkers", "DeleteWorkers")},
        "workers-deleted",
    ),
    ("legacy-success-delete-self", OK, {"deletionStrategy": legacy("DeleteSelf", "DeleteNone")}, "self-deleted"),
    ("legacy-failure-delete-self", BAD, {"deletionStrategy": legacy("DeleteNone", "DeleteSelf")}, "self-deleted"),
    ("legacy-delete-none", OK, {"deletionStrategy": legacy("DeleteNone", "DeleteNone")}, "nothing-deleted"),
    (
        "legacy-failure-not-on-success",
        BAD,
        {"deletionStrategy": legacy("DeleteCluster", "DeleteNone")},
        "nothing-deleted",
    ),
    # rules, one per policy and outcome
    (
        "rule-succeeded-delete-workers",
        OK,
        {"deletionStrategy": deletion_rules(("DeleteWorkers", "SUCCEEDED", 0))},
        "workers-deleted",
    ),
    (
        "rule-failed-delete-workers",
        BAD,
        {"deletionStrategy": deletion_rules(("DeleteWorkers", "FAILED", 0))},
        "workers-deleted",
    ),
    (
        "rule-succeeded-delete-cluster",
        OK,
        {"deletionStrategy": deletion_rules(("DeleteCluster", "SUCCEEDED", 0))},
        "cluster-deleted",
    ),
    (
        "rule-failed-delete-cluster",
        BAD,
        {"deletionStrategy": deletion_rules(("DeleteCluster", "FAILED", 0))},
        "cluster-deleted",
    ),
    (
        "rule-succeeded-delete-self",
        OK,
        {"deletionStrategy": deletion_rules(("DeleteSelf", "SUCCEEDED", 0))},
        "self-deleted",
    ),
    ("rule-failed-delete-self", BAD, {"deletionStrategy": deletion_rules(("DeleteSelf", "FAILED", 0))}, "self-deleted"),
    (
        "rule-succeeded-delete-none",
        OK,
        {"deletionStrategy": deletion_rules(("DeleteNone", "SUCCEEDED", 0))},
        "nothing-deleted",
    ),
    (
        "rule-failed-delete-none",
        BAD,
        {"deletionStrategy": deletion_rules(("DeleteNone", "FAILED", 0))},
        "nothing-deleted",
    ),
    (
        "rule-three-at-once-succeeded",
        OK,
        {
            "deletionStrategy": deletion_rules(
                ("DeleteWorkers", "SUCCEEDED", 0), ("DeleteCluster", "SUCCEEDED", 0), ("DeleteSelf", "SUCCEEDED", 0)
            )
        },
        "self-deleted",
    ),
    (
        "rule-three-at-once-failed",
        BAD,
        {
            "deletionStrategy": deletion_rules(
                ("DeleteWorkers", "FAILED", 0), ("DeleteCluster", "FAILED", 0), ("DeleteSelf", "FAILED", 0)
            )
        },
        "self-deleted",
    ),
    (
        "rule-on-other-outcome-only",
        OK,
        {"deletionStrategy": deletion_rules(("DeleteCluster", "FAILED", 0))},
        "nothing-deleted",
    ),
    (
        "legacy-with-shutdown-and-ttl",
        OK,
        {
            "deletionStrategy": legacy("DeleteCluster", "DeleteCluster"),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 2,
        },
        "cluster-deleted",
    ),
    ("shutdown-after-failure", BAD, {"shutdownAfterJobFinishes": True}, "cluster-deleted"),
]


@pytest.mark.parametrize(("name", "entrypoint", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_deletion_policy(kube: Kube, name: str, entrypoint: str, spec: dict[str, Any], expected: str) -> None:
    kube.create("rayjobs", rayjob(name, entrypoint, workers=1, **spec))
    status = finished(kube, name)
    cluster = status["rayClusterName"]
    kube.wait(lambda: outcome(kube, name, cluster) == expected, f"{name}: {expected}", timeout=30)
    if expected != "self-deleted":
        assert [j.metadata.name for j in kube.jobs()] == [name]  # the submitter Job is never deleted separately
    if expected == "workers-deleted":
        assert len(kube.pods(f"ray.io/cluster={cluster},ray.io/node-type=head")) == 1
    if expected == "nothing-deleted":
        assert cluster_workers(kube, cluster) == 1


def test_staged_rules_run_in_order(kube: Kube) -> None:
    spec = {
        "deletionStrategy": deletion_rules(
            ("DeleteWorkers", "SUCCEEDED", 0), ("DeleteCluster", "SUCCEEDED", 4), ("DeleteSelf", "SUCCEEDED", 8)
        )
    }
    kube.create("rayjobs", rayjob("staged", OK, **spec))
    cluster = finished(kube, "staged")["rayClusterName"]
    kube.wait(lambda: outcome(kube, "staged", cluster) == "workers-deleted", "workers first")
    kube.wait(lambda: outcome(kube, "staged", cluster) == "cluster-deleted", "then the cluster, by ~4 s")
    kube.wait(lambda: outcome(kube, "staged", cluster) == "self-deleted", "then the RayJob, by ~8 s")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("DeleteWorkers", "workers-deleted"),
        ("DeleteCluster", "cluster-deleted"),
        ("DeleteSelf", "self-deleted"),
        ("DeleteNone", "nothing-deleted"),
    ],
)
def test_rule_on_deployment_status_failed_after_a_deadline(kube: Kube, policy: str, expected: str) -> None:
    name = f"deadline-{policy.lower()}"
    kube.create("rayjobs", rayjob(name, sleeping(120), deletionStrategy=deletion_rules((policy, "Failed", 0))))
    kube.wait_job(name, "Running")
    kube.wait(lambda: ((kube.get("rayjobs", name) or {}).get("status") or {}).get("jobStatus") == "RUNNING", "RUNNING")
    kube.patch("rayjobs", name, {"spec": {"activeDeadlineSeconds": 1}})
    status = finished(kube, name)  # with DeleteSelf it may be gone before a Failed status is seen
    if expected != "self-deleted":
        assert (status["jobDeploymentStatus"], status["reason"]) == ("Failed", "DeadlineExceeded")
    kube.wait(lambda: outcome(kube, name, status["rayClusterName"]) == expected, f"{policy} after the deadline")


def test_stopped_job_is_covered_by_legacy_on_success(kube: Kube, ray_head: RayHead) -> None:
    """KubeRay leaks the cluster of a STOPPED job under onSuccess/onFailure; here onSuccess covers it."""
    body = rayjob("stopped-cleanup", sleeping(120), deletionStrategy=legacy("DeleteCluster", "DeleteNone"))
    kube.create("rayjobs", body)
    status = kube.wait(
        lambda: (
            (s := (kube.get("rayjobs", "stopped-cleanup") or {}).get("status") or {}).get("jobStatus") == "RUNNING"
            and s
        ),
        "the Ray job to run",
    )
    stop_job(ray_head, status["jobId"])
    assert finished(kube, "stopped-cleanup")["jobStatus"] == "STOPPED"
    kube.wait(lambda: outcome(kube, "stopped-cleanup", status["rayClusterName"]) == "cluster-deleted", "cleanup")
