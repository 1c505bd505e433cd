"""HTTPMode, InteractiveMode and SidecarMode (KubeRay's §7.1 #12 and e2e #14, #29–#32, #39–#43)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import get_job, ray_call, stop_job, wait_for_status
from tests.integration.kube import Kube
from tests.integration.rayjobs import entrypoint_appending, rayjob, runs, sleeping

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
FAILING = "python -c \"import sys; print('about to fail'); sys.exit(2)\""


def status_of(kube: Kube, name: str) -> dict[str, Any]:
    return (kube.get("rayjobs", name) or {}).get("status") or {}


@contextlib.contextmanager
def routed_to(proxy: ForwardProxy, job_name: str, namespace: str, target: str) -> Iterator[None]:
    """Send this RayJob's clusters' dashboard traffic to ``target`` instead of the shared head."""
    route = proxy.prepend_route(rf"{job_name}-[a-z0-9]{{5}}-head-svc\.{namespace}\.svc\.cluster\.local:8265", target)
    try:
        yield
    finally:
        proxy.remove_route(route)


# --- HTTPMode -------------------------------------------------------------------------------------------------


def test_http_mode_success_with_entrypoint_resources_and_a_head_only_cluster(kube: Kube, ray_head: RayHead) -> None:
    body = rayjob(
        "http-ok",
        "python -c \"print('http mode')\"",
        workers=0,
        submissionMode="HTTPMode",
        entrypointNumCpus=1,
        shutdownAfterJobFinishes=True,
    )
    kube.create("rayjobs", body)
    status = kube.wait_job("http-ok", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    kube.wait_gone("rayclusters", status["rayClusterName"])
    assert kube.jobs() == []  # no submitter in HTTPMode
    assert get_job(ray_head, status["jobId"])["entrypoint"] == "python -c \"print('http mode')\""


def test_http_mode_failing_job(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("http-fail", FAILING, submissionMode="HTTPMode"))
    status = kube.wait_job("http-fail", ("Failed", "Complete"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"], status["reason"]) == ("Failed", "FAILED", "AppFailed")
    assert kube.jobs() == []
    kube.delete("rayjobs", "http-fail")
    kube.wait(lambda: kube.get("rayclusters", status["rayClusterName"]) is None, "the cluster to go with its RayJob")


def test_http_mode_stop(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("http-stop", sleeping(120), submissionMode="HTTPMode"))
    status = kube.wait(lambda: (s := status_of(kube, "http-stop")).get("jobStatus") == "RUNNING" and s, "RUNNING")
    stop_job(ray_head, status["jobId"])
    status = kube.wait_job("http-stop", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "STOPPED")


def test_http_mode_submits_exactly_once(kube: Kube, tmp_path: Any) -> None:
    marker = str(tmp_path / "runs")
    kube.create("rayjobs", rayjob("http-once", entrypoint_appending(marker), submissionMode="HTTPMode"))
    kube.wait_job("http-once", ("Complete", "Failed"))
    assert runs(marker) == 1


# --- token authentication ---------------------------------------------------------------------------------------


def _token_secret(kube: Kube, name: str, token: str) -> None:
    kube.core.create_namespaced_secret(
        kube.ns, {"metadata": {"name": name}, "data": {"auth_token": base64.b64encode(token.encode()).decode()}}
    )


@pytest.mark.parametrize("mode", ["K8sJobMode", "HTTPMode", "SidecarMode"])
def test_token_authentication(
    mode: str, kube: Kube, ray_auth_head: RayHead, dashboard_proxy: ForwardProxy, pod_runner: LocalPodRunner
) -> None:
    assert ray_auth_head.token is not None
    _token_secret(kube, "ray-token", ray_auth_head.token)
    body = rayjob("auth", "python -c \"print('authorised')\"", submissionMode=mode)
    body["spec"]["rayClusterSpec"]["authOptions"] = {"mode": "token", "secretName": "ray-token"}
    with routed_to(dashboard_proxy, "auth", kube.ns, ray_auth_head.address):
        kube.create("rayjobs", body)
        status = kube.wait_job("auth", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
    head = kube.pods(f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head")[0]
    env = {e.name: e for e in head.spec.containers[0].env}
    assert env["RAY_AUTH_MODE"].value == "token"
    assert env["RAY_AUTH_TOKEN"].value_from.secret_key_ref.name == "ray-token"
    if mode == "K8sJobMode":
        submitter = kube.batch.read_namespaced_job("auth", kube.ns).spec.template.spec.containers[0]
        assert "RAY_AUTH_TOKEN" in {e.name for e in submitter.env}


# --- InteractiveMode --------------------------------------------------------------------------------------------


def test_interactive_mode_waits_for_the_users_job_id(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("interactive", None, submissionMode="InteractiveMode"))
    status = kube.wait_job("interactive", "Waiting")["status"]
    assert "jobId" not in status
    assert status["dashboardURL"].startswith(status["rayClusterName"])
    submission_id = f"mine-{kube.ns[-6:]}"
    answer = ray_call(ray_head, "POST", "/api/jobs/", {"entrypoint": "echo by hand", "submission_id": submission_id})
    assert answer.status == 200, answer
    kube.patch("rayjobs", "interactive", {"spec": {"jobId": submission_id}})
    status = kube.wait_job("interactive", ("Complete", "Failed"))["status"]
    assert (status["jobId"], status["jobStatus"]) == (submission_id, "SUCCEEDED")


def test_interactive_mode_pre_running_deadline(kube: Kube) -> None:
    kube.create(
        "rayjobs", rayjob("interactive-late", None, submissionMode="InteractiveMode", preRunningDeadlineSeconds=4)
    )
    kube.wait_job("interactive-late", "Waiting")
    status = kube.wait_job("interactive-late", "Failed")["status"]
    assert status["reason"] == "PreRunningDeadlineExceeded"


def test_interactive_mode_wrong_job_id_fails_instead_of_running_forever(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("interactive-wrong", None, submissionMode="InteractiveMode"))
    kube.wait_job("interactive-wrong", "Waiting")
    kube.patch("rayjobs", "interactive-wrong", {"spec": {"jobId": "no-such-job"}})
    status = kube.wait_job("interactive-wrong", "Failed", timeout=60)["status"]
    assert status["reason"] == "JobNotFound"
    assert "no-such-job" in status["message"]


# --- SidecarMode ------------------------------------------------------------------------------------------------


def test_sidecar_mode_success_with_entrypoint_resources(kube: Kube) -> None:
    body = rayjob(
        "sidecar-ok",
        "python -c \"print('from the sidecar')\"",
        submissionMode="SidecarMode",
        entrypointNumCpus=1,
        shutdownAfterJobFinishes=True,
    )
    kube.create("rayjobs", body)
    status = kube.wait_job("sidecar-ok", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
    kube.wait_gone("rayclusters", status["rayClusterName"])
    assert kube.jobs() == []


def test_sidecar_mode_failing_job(kube: Kube) -> None:
    kube.create("rayjobs", rayjob("sidecar-fail", FAILING, submissionMode="SidecarMode"))
    status = kube.wait_job("sidecar-fail", ("Failed", "Complete"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"], status["reason"]) == ("Failed", "FAILED", "AppFailed")
    assert kube.jobs() == []
    head = kube.pods(f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head")[0]
    assert [c.name for c in head.spec.containers][-1] == "ray-job-submitter"
    assert head.spec.restart_policy == "Never"


def test_sidecar_mode_stop(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("sidecar-stop", sleeping(120), submissionMode="SidecarMode"))
    status = kube.wait(lambda: (s := status_of(kube, "sidecar-stop")).get("jobStatus") == "RUNNING" and s, "RUNNING")
    stop_job(ray_head, status["jobId"])
    status = kube.wait_job("sidecar-stop", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "STOPPED")


def test_sidecar_head_pod_deleted_during_the_run_is_not_recreated(kube: Kube, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("sidecar-head", sleeping(120), submissionMode="SidecarMode"))
    status = kube.wait(lambda: (s := status_of(kube, "sidecar-head")).get("jobStatus") == "RUNNING" and s, "RUNNING")
    cluster = kube.get("rayclusters", status["rayClusterName"])
    assert cluster is not None
    assert cluster["metadata"]["labels"]["ray.io/job-submission-mode"] == "SidecarMode"
    assert cluster["metadata"]["annotations"]["ray.io/disable-provisioned-head-restart"] == "true"
    selector = f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head"
    kube.core.delete_namespaced_pod(kube.pods(selector)[0].metadata.name, kube.ns)
    status = kube.wait_job("sidecar-head", "Failed", timeout=60)["status"]
    assert status["reason"] == "HeadPodLost"
    assert kube.pods(selector) == []
    wait_for_status(ray_head, status["jobId"], {"STOPPED"})
