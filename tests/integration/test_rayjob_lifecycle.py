"""RayJob lifecycle in K8sJobMode: KubeRay's envtest scenarios (§7.1) and e2e scenarios (§7.4) that need no
real images. kwok plays the pods, the pod runner executes the submitter, the Ray head runs the job."""

from __future__ import annotations

from typing import Any

import kubernetes
import pytest

from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import stop_job, wait_for_status
from tests.integration.kube import Kube
from tests.integration.rayjobs import MANUAL_SUBMITTER, end_manual_submitter, rayjob, sleeping, stay_pending

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")


def job_of(kube: Kube, name: str) -> dict[str, Any]:
    body = kube.get("rayjobs", name)
    assert body is not None, f"RayJob {name} is gone"
    return body


def status_of(kube: Kube, name: str) -> dict[str, Any]:
    return job_of(kube, name).get("status") or {}


def wait_status(kube: Kube, name: str, field: str, value: Any, what: str, *, timeout: float = 60) -> dict[str, Any]:
    return kube.wait(lambda: (s := status_of(kube, name)).get(field) == value and s, what, timeout)


def test_submitter_config_backoff_limit(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("default-backoff", sleeping(30)))
    kube.create("rayjobs", rayjob("custom-backoff", sleeping(30), submitterConfig={"backoffLimit": 88}))
    for name, limit in (("default-backoff", 2), ("custom-backoff", 88)):
        kube.wait_job(name, "Running")
        job = kube.batch.read_namespaced_job(name, kube.ns)
        assert job.spec.backoff_limit == limit


def test_successful_rayjob_new_to_initializing_sets_identity(kube: Kube) -> None:
    body = rayjob("identity", labels={"team": "ml"}, workers=2)
    body["metadata"]["annotations"] = {"note": "kept"}
    created = kube.create("rayjobs", body)
    status = kube.wait(lambda: (s := status_of(kube, "identity")).get("rayClusterName") and s, "identity in status")
    assert status["jobId"].startswith("identity-") and len(status["jobId"]) == len("identity-") + 5
    assert status["rayClusterName"].startswith("identity-")
    assert status["startTime"]
    cluster = kube.wait(lambda: kube.get("rayclusters", status["rayClusterName"]), "the RayCluster")
    labels = cluster["metadata"]["labels"]
    assert labels["ray.io/originated-from-cr-name"] == "identity"
    assert labels["ray.io/originated-from-crd"] == "RayJob"
    assert labels["ray.io/job-submission-mode"] == "K8sJobMode"
    assert labels["team"] == "ml"
    assert cluster["metadata"]["annotations"] == {"note": "kept"}
    assert cluster["spec"]["workerGroupSpecs"][0]["replicas"] == 2
    assert cluster["spec"]["rayVersion"] == "2.52.0"
    owner = cluster["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("RayJob", created["metadata"]["uid"], True)
    assert "ray.io/rayjob-finalizer" in job_of(kube, "identity")["metadata"]["finalizers"]


def test_cluster_status_is_copied_while_the_cluster_is_not_ready(kube: Kube) -> None:
    kube.create("rayjobs", stay_pending(rayjob("not-ready")))
    status = kube.wait(
        lambda: (s := status_of(kube, "not-ready")).get("rayClusterStatus", {}).get("conditions") and s,
        "rayClusterStatus.conditions copied from the cluster",
    )
    assert status["jobDeploymentStatus"] == "Initializing"
    conditions = {c["type"]: c["status"] for c in status["rayClusterStatus"]["conditions"]}
    assert conditions["HeadPodReady"] == "False"


def test_ready_cluster_moves_to_running_with_dashboard_url_and_submitter(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("goes-running", sleeping(20)))
    status = kube.wait_job("goes-running", "Running")["status"]
    assert status["dashboardURL"] == f"{status['rayClusterName']}-head-svc.{kube.ns}.svc.cluster.local:8265"
    job = kube.batch.read_namespaced_job("goes-running", kube.ns)
    labels = job.metadata.labels
    assert labels["ray.io/originated-from-cr-name"] == "goes-running"
    assert labels["app.kubernetes.io/created-by"] == "kuberay-operator"
    assert job.metadata.owner_references[0].kind == "RayJob"
    pod_labels = job.spec.template.metadata.labels
    assert pod_labels["ray.io/originated-from-crd"] == "RayJob"
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["RAY_DASHBOARD_ADDRESS"] == status["dashboardURL"]
    assert env["RAY_JOB_SUBMISSION_ID"] == status["jobId"]
    assert env["PYTHONUNBUFFERED"] == "1"
    service = kube.wait(
        lambda: [s for s in kube.services() if s.metadata.name == "goes-running-head-svc"],
        "the RayJob's own head Service",
    )[0]
    assert service.spec.selector["ray.io/cluster"] == status["rayClusterName"]


def test_ray_succeeded_waits_for_the_submitter_then_completes(kube: Kube, ray_head: RayHead) -> None:
    """A submitter the runner does not execute: the test plays it (submits, then marks the pod done)."""
    template = MANUAL_SUBMITTER
    kube.create("rayjobs", rayjob("waits", submitterPodTemplate=template))
    status = kube.wait_job("waits", "Running")["status"]
    from tests.integration.fixtures_ray import ray_call

    answer = ray_call(ray_head, "POST", "/api/jobs/", {"entrypoint": "echo done", "submission_id": status["jobId"]})
    assert answer.status == 200, answer
    wait_status(kube, "waits", "jobStatus", "SUCCEEDED", "jobStatus SUCCEEDED while the submitter runs")
    assert status_of(kube, "waits")["jobDeploymentStatus"] == "Running"  # logs are not fully tailed yet
    end_manual_submitter(kube, "waits")
    assert kube.wait_job("waits", ("Complete", "Failed"))["status"]["jobDeploymentStatus"] == "Complete"


def test_shutdown_deletes_the_cluster_and_keeps_the_submitter(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("shutdown", shutdownAfterJobFinishes=True))
    status = kube.wait_job("shutdown", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert status["rayJobInfo"]["startTime"] and status["rayJobInfo"]["endTime"]
    kube.wait_gone("rayclusters", status["rayClusterName"])
    assert [j.metadata.name for j in kube.jobs()] == ["shutdown"]
    kube.patch("rayjobs", "shutdown", {"spec": {"suspend": True}})  # suspending a finished job changes nothing
    kube.create("rayjobs", rayjob("after-shutdown", "echo marker"))  # proof that the operator had time to act
    kube.wait_job("after-shutdown", ("Complete", "Failed"))
    assert status_of(kube, "shutdown")["jobDeploymentStatus"] == "Complete"


def test_maximum_name_of_47_characters(kube: Kube) -> None:
    name = "j" * 47
    kube.create("rayjobs", rayjob(name))
    status = kube.wait_job(name, ("Complete", "Failed"))["status"]
    assert status["jobDeploymentStatus"] == "Complete"
    assert len(status["rayClusterName"]) == 53


def test_48_character_name_is_rejected_at_apply_time(kube: Kube) -> None:
    with pytest.raises(kubernetes.client.ApiException) as caught:
        kube.create("rayjobs", rayjob("j" * 48))
    assert caught.value.status == 422
    assert "no more than 47 characters" in caught.value.body


def test_invalid_submitter_template_fails_with_the_api_servers_reason(kube: Kube) -> None:
    template = {
        "spec": {"restartPolicy": "Always", "containers": [{"name": "s", "image": "x", "command": ["/manual"]}]}
    }
    kube.create("rayjobs", rayjob("bad-template", submitterPodTemplate=template))
    status = kube.wait_job("bad-template", ("Failed", "Complete"))["status"]
    assert (status["jobDeploymentStatus"], status["reason"]) == ("Failed", "SubmissionFailed")
    assert f"Failed to create new Kubernetes Job {kube.ns}/bad-template" in status["message"]
    reasons = {e.reason for e in kube.events("bad-template")}
    assert "FailedToCreateRayJobSubmitter" in reasons


def test_active_deadline_with_a_never_ready_cluster(kube: Kube) -> None:
    kube.create("rayjobs", stay_pending(rayjob("deadline", activeDeadlineSeconds=3)))
    status = kube.wait_job("deadline", "Failed")["status"]
    assert status["reason"] == "DeadlineExceeded"
    assert "activeDeadlineSeconds" in status["message"]


def test_active_deadline_stops_the_running_ray_job(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("deadline-run", sleeping(120), activeDeadlineSeconds=6))
    status = kube.wait_job("deadline-run", "Failed", timeout=60)["status"]
    assert status["reason"] == "DeadlineExceeded"
    wait_for_status(ray_head, status["jobId"], {"STOPPED"})  # KubeRay leaves it RUNNING


def test_pre_running_deadline_with_a_head_that_never_starts(kube: Kube) -> None:
    kube.create("rayjobs", stay_pending(rayjob("pre-deadline", preRunningDeadlineSeconds=3)))
    status = kube.wait_job("pre-deadline", "Failed")["status"]
    assert status["reason"] == "PreRunningDeadlineExceeded"


def test_failing_rayjob_without_shutdown_then_deletion_cascades(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("fails", "python -c \"import sys; print('boom'); sys.exit(3)\""))
    status = kube.wait_job("fails", ("Failed", "Complete"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"], status["reason"]) == ("Failed", "FAILED", "AppFailed")
    assert "exit code 3" in status["message"]
    assert kube.get("rayclusters", status["rayClusterName"]) is not None
    kube.delete("rayjobs", "fails")
    kube.wait_gone("rayjobs", "fails", timeout=20)
    kube.wait(
        lambda: kube.get("rayclusters", status["rayClusterName"]) is None and not kube.jobs(),
        "the cluster and the submitter Job to be garbage-collected",
    )


def test_failing_submitter_with_an_unreachable_address(kube: Kube) -> None:
    container = {
        "name": "ray-job-submitter",
        "image": "x",
        "command": ["rayjob-submit", "--address", "127.0.0.1:9", "--dashboard-wait-seconds", "1"],
    }
    body = rayjob(
        "unreachable",
        shutdownAfterJobFinishes=True,
        submitterConfig={"backoffLimit": 0},
        submitterPodTemplate={"spec": {"restartPolicy": "Never", "containers": [container]}},
    )
    kube.create("rayjobs", body)
    status = kube.wait_job("unreachable", ("Failed", "Complete"))["status"]
    assert (status["jobDeploymentStatus"], status.get("jobStatus", ""), status["reason"]) == (
        "Failed",
        "",
        "SubmissionFailed",
    )
    kube.wait_gone("rayclusters", status["rayClusterName"])
    assert [j.metadata.name for j in kube.jobs()] == ["unreachable"]


def test_stopped_ray_job_completes_as_stopped(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("stopped", sleeping(120)))
    status = wait_status(kube, "stopped", "jobStatus", "RUNNING", "the Ray job to run")
    stop_job(ray_head, status["jobId"])
    status = kube.wait_job("stopped", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "STOPPED")


def test_invalid_runtime_env_is_validation_failed_and_nothing_is_created(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("bad-env", runtimeEnvYAML="invalid_yaml_string"))
    status = kube.wait_job("bad-env", "ValidationFailed")["status"]
    assert status["reason"] == "ValidationFailed"
    assert "spec.runtimeEnvYAML must be a YAML mapping" in status["message"]
    assert kube.get("rayclusters", "bad-env") is None and not kube.jobs()
    reasons = {e.reason for e in kube.events("bad-env")}
    assert "InvalidRayJobSpec" in reasons


def test_validation_failed_recovers_once_the_spec_is_fixed(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("fixable", runtimeEnvYAML="invalid_yaml_string"))
    kube.wait_job("fixable", "ValidationFailed")
    kube.patch("rayjobs", "fixable", {"spec": {"runtimeEnvYAML": "env_vars:\n  A: b\n"}})
    assert kube.wait_job("fixable", ("Complete", "Failed"))["status"]["jobStatus"] == "SUCCEEDED"


def test_managed_by_multikueue_is_left_alone(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("elsewhere", managedBy="kueue.x-k8s.io/multikueue"))
    with pytest.raises(kubernetes.client.ApiException) as caught:
        kube.patch("rayjobs", "elsewhere", {"spec": {"managedBy": "ray.io/kuberay-operator"}})
    assert "spec.managedBy is immutable" in caught.value.body
    kube.create("rayjobs", rayjob("marker"))  # a later job is handled, so the first one had its chance
    kube.wait_job("marker", ("Complete", "Failed"))
    body = job_of(kube, "elsewhere")
    assert "status" not in body or not body["status"].get("jobDeploymentStatus")
    assert not body["metadata"].get("finalizers")
    assert not [
        c
        for c in kube.custom.list_namespaced_custom_object("ray.io", "v1", kube.ns, "rayclusters")["items"]
        if c["metadata"]["name"].startswith("elsewhere")
    ]


def test_managed_by_invalid_value_is_rejected(kube: Kube) -> None:
    with pytest.raises(kubernetes.client.ApiException) as caught:
        kube.create("rayjobs", rayjob("odd-manager", managedBy="example.com/other"))
    assert "spec.managedBy must be either" in caught.value.body


def test_submitter_finished_while_ray_still_runs_fails_after_the_grace(kube: Kube, ray_head: RayHead) -> None:
    template = MANUAL_SUBMITTER
    kube.create("rayjobs", rayjob("early-exit", submitterPodTemplate=template))
    status = kube.wait_job("early-exit", "Running")["status"]
    from tests.integration.fixtures_ray import ray_call

    ray_call(ray_head, "POST", "/api/jobs/", {"entrypoint": sleeping(120), "submission_id": status["jobId"]})
    end_manual_submitter(kube, "early-exit")
    status = kube.wait_job("early-exit", ("Failed", "Complete"), timeout=60)["status"]
    assert status["reason"] == "JobDeploymentStatusTransitionGracePeriodExceeded"
    assert "The RayJob submitter finished at" in status["message"]
    wait_for_status(ray_head, status["jobId"], {"STOPPED"})


def test_cluster_status_changes_propagate(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("propagate", sleeping(60)))
    status = kube.wait_job("propagate", "Running")["status"]
    cluster = kube.get("rayclusters", status["rayClusterName"])
    assert cluster is not None
    groups = cluster["spec"]["workerGroupSpecs"]
    groups[0]["maxReplicas"] = 7
    kube.patch("rayclusters", status["rayClusterName"], {"spec": {"workerGroupSpecs": groups}})
    kube.wait(
        lambda: status_of(kube, "propagate").get("rayClusterStatus", {}).get("maxWorkerReplicas") == 7,
        "maxWorkerReplicas 7 in status.rayClusterStatus",
    )


def test_head_pod_deleted_while_running_is_recreated(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("head-loss", sleeping(8), submitterConfig={"backoffLimit": 0}))
    status = kube.wait_job("head-loss", "Running")["status"]
    cluster = kube.get("rayclusters", status["rayClusterName"])
    assert cluster is not None
    assert cluster["metadata"]["labels"]["ray.io/job-submission-mode"] == "K8sJobMode"
    assert "ray.io/disable-provisioned-head-restart" not in (cluster["metadata"].get("annotations") or {})
    selector = f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head"
    (head,) = kube.pods(selector)
    kube.core.delete_namespaced_pod(head.metadata.name, kube.ns)
    kube.wait(
        lambda: [p for p in kube.running_pods(selector) if p.metadata.name != head.metadata.name], "a new head pod"
    )
    # Here the one local Ray head keeps the job; on a real cluster the job dies with its head.
    kube.wait_job("head-loss", ("Complete", "Failed"))


def test_driver_log_is_kept_after_the_cluster_is_gone(kube: Kube) -> None:
    kube.create(
        "rayjobs", rayjob("keeps-log", "python -c \"print('line for the record')\"", shutdownAfterJobFinishes=True)
    )
    status = kube.wait_job("keeps-log", ("Complete", "Failed"))["status"]
    kube.wait_gone("rayclusters", status["rayClusterName"])
    config_map = kube.wait(
        lambda: kube.core.read_namespaced_config_map("keeps-log-driver-log", kube.ns), "the driver log ConfigMap"
    )
    assert "line for the record" in config_map.data["driver.log"]
    assert config_map.metadata.annotations["ray.io/job-id"] == status["jobId"]


def test_submitter_logs_contain_the_job_output(kube: Kube, pod_runner: LocalPodRunner) -> None:
    kube.create("rayjobs", rayjob("logs", "python -c \"print('visible in the submitter')\""))
    kube.wait_job("logs", ("Complete", "Failed"))
    assert "visible in the submitter" in pod_runner.logs_for(kube.ns, "logs-")
