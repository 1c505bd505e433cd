"""What we promise beyond KubeRay: exactly once, always terminal with a reason, Ray is the truth, cleanup never
hangs, fresh status, and a loop that never waits on one job's dashboard to serve another."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import get_job, ray_call, wait_for_status
from tests.integration.kube import Kube
from tests.integration.rayjobs import MANUAL_SUBMITTER, entrypoint_appending, rayjob, runs, sleeping
from tests.integration.test_rayjob_modes import routed_to

pytestmark = pytest.mark.usefixtures("pod_runner")


def status_of(kube: Kube, name: str) -> dict[str, Any]:
    return (kube.get("rayjobs", name) or {}).get("status") or {}


def clusters_of(kube: Kube, name: str) -> list[str]:
    items = kube.custom.list_namespaced_custom_object("ray.io", "v1", kube.ns, "rayclusters")["items"]
    return [c["metadata"]["name"] for c in items if c["metadata"]["name"].startswith(f"{name}-")]


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers (a hung dashboard)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


# --- exactly once -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["initializing", "after-submission", "running"])
def test_operator_sigkill_continues_the_same_attempt(
    moment: str, kube: Kube, operator: OperatorProcess, ray_head: RayHead, tmp_path: Any
) -> None:
    marker = str(tmp_path / "runs")
    mode = "HTTPMode" if moment == "after-submission" else "K8sJobMode"
    kube.create("rayjobs", rayjob("survivor", entrypoint_appending(marker, sleep=3), submissionMode=mode))
    if moment == "initializing":
        kube.wait(lambda: status_of(kube, "survivor").get("jobDeploymentStatus") == "Initializing", "Initializing")
    elif moment == "after-submission":
        job_id = kube.wait(lambda: status_of(kube, "survivor").get("jobId"), "the job id")
        kube.wait(lambda: ray_call(ray_head, "GET", f"/api/jobs/{job_id}").status == 200, "Ray to have the job")
    else:
        kube.wait(lambda: runs(marker) == 1, "the entrypoint to be running")
    operator.kill()
    operator.start()
    status = kube.wait_job("survivor", ("Complete", "Failed"), timeout=90)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert runs(marker) == 1  # the entrypoint ran exactly once
    assert clusters_of(kube, "survivor") == [status["rayClusterName"]]  # and on exactly one cluster


def test_deleted_submitter_pod_is_replaced_and_reattaches(kube: Kube, operator: OperatorProcess, tmp_path: Any) -> None:
    marker = str(tmp_path / "runs")
    kube.create("rayjobs", rayjob("reattach", entrypoint_appending(marker, sleep=6)))
    kube.wait(lambda: runs(marker) == 1, "the entrypoint to be running")
    (pod,) = kube.pods("job-name=reattach")
    kube.core.delete_namespaced_pod(pod.metadata.name, kube.ns)
    kube.wait(
        lambda: [p for p in kube.pods("job-name=reattach") if p.metadata.name != pod.metadata.name],
        "a replacement submitter pod",
    )
    status = kube.wait_job("reattach", ("Complete", "Failed"), timeout=60)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert runs(marker) == 1


def test_submitter_process_crash_is_retried_not_an_app_failure(
    kube: Kube, operator: OperatorProcess, tmp_path: Any
) -> None:
    marker = str(tmp_path / "runs")
    kube.create("rayjobs", rayjob("crash", entrypoint_appending(marker, sleep=6)))
    kube.wait(lambda: runs(marker) == 1, "the entrypoint to be running")
    pid = kube.wait(lambda: _submitter_pid(kube), "the submitter process")
    subprocess.run(["kill", "-KILL", str(pid)], check=True)
    status = kube.wait_job("crash", ("Complete", "Failed"), timeout=60)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert runs(marker) == 1
    assert len(kube.pods("job-name=crash")) == 2  # the Job retried the crashed pod


def _submitter_pid(kube: Kube) -> int | None:
    out = subprocess.run(["pgrep", "-f", "rayjob-submit"], capture_output=True, text=True, check=False).stdout
    for pid in out.split():
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read()
            if f"RAY_JOB_SUBMISSION_ID={status_of(kube, 'crash').get('jobId')}".encode() in environ:
                return int(pid)
    return None


# --- always terminal, with a reason ---------------------------------------------------------------------------------


def test_deleted_submitter_job_before_submission_fails(kube: Kube, operator: OperatorProcess) -> None:
    template = MANUAL_SUBMITTER
    kube.create("rayjobs", rayjob("lost-submitter", submitterPodTemplate=template))
    kube.wait_job("lost-submitter", "Running")
    kube.batch.delete_namespaced_job("lost-submitter", kube.ns, propagation_policy="Background")
    status = kube.wait_job("lost-submitter", "Failed", timeout=60)["status"]
    assert status["reason"] == "SubmissionFailed"
    assert "was deleted before the Ray job was submitted" in status["message"]


def test_deleted_submitter_job_after_submission_follows_ray(
    kube: Kube, operator: OperatorProcess, tmp_path: Any
) -> None:
    marker = str(tmp_path / "runs")
    kube.create("rayjobs", rayjob("truth", entrypoint_appending(marker, sleep=4)))
    kube.wait(lambda: runs(marker) == 1, "the entrypoint to be running")
    kube.batch.delete_namespaced_job("truth", kube.ns, propagation_policy="Background")
    status = kube.wait_job("truth", ("Complete", "Failed"), timeout=60)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")


def test_unschedulable_submitter_fails_within_the_bound(kube: Kube, operator: OperatorProcess) -> None:
    template = {
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"no-such-node": "true"},
            "containers": [{"name": "ray-job-submitter", "image": "x"}],
        }
    }
    kube.create("rayjobs", rayjob("unschedulable", submitterPodTemplate=template))
    status = kube.wait_job("unschedulable", "Failed", timeout=60)["status"]
    assert status["reason"] == "SubmissionFailed"
    assert "did not start within 10s" in status["message"]


def test_unreachable_dashboard_times_out_then_fails(
    kube: Kube, operator: OperatorProcess, dashboard_proxy: ForwardProxy
) -> None:
    with routed_to(dashboard_proxy, "dark", kube.ns, "127.0.0.1:9"):
        kube.create("rayjobs", rayjob("dark", submissionMode="HTTPMode"))
        status = kube.wait(
            lambda: (s := status_of(kube, "dark")).get("jobStatusCheckFailureStartTime") and s,
            "the status-check failure to be recorded",
        )
        assert status["jobDeploymentStatus"] == "Running"
        status = kube.wait_job("dark", "Failed", timeout=60)["status"]
    assert status["reason"] == "JobStatusCheckTimeoutExceeded"
    assert "exceeded timeout of 8s" in status["message"]


def test_dashboard_recovery_clears_the_failure_timer(
    kube: Kube, operator: OperatorProcess, dashboard_proxy: ForwardProxy
) -> None:
    with routed_to(dashboard_proxy, "flaky", kube.ns, "127.0.0.1:9"):
        kube.create("rayjobs", rayjob("flaky", submissionMode="HTTPMode"))
        kube.wait(lambda: status_of(kube, "flaky").get("jobStatusCheckFailureStartTime"), "a failed status check")
    status = kube.wait_job("flaky", ("Complete", "Failed"), timeout=60)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert "jobStatusCheckFailureStartTime" not in status


def test_job_forgotten_by_the_dashboard_is_not_resubmitted(
    kube: Kube, operator: OperatorProcess, ray_head: RayHead, dashboard_proxy: ForwardProxy, tmp_path: Any
) -> None:
    """As after a head restart without GCS FT: the dashboard answers 404 for a job it ran. KubeRay re-submits."""
    marker = str(tmp_path / "runs")
    kube.create("rayjobs", rayjob("amnesia", entrypoint_appending(marker, sleep=60), submissionMode="HTTPMode"))
    kube.wait(lambda: status_of(kube, "amnesia").get("jobStatus") == "RUNNING", "RUNNING")
    with RayHead(num_cpus=1) as fresh, routed_to(dashboard_proxy, "amnesia", kube.ns, fresh.address):
        status = kube.wait_job("amnesia", "Failed", timeout=60)["status"]
        assert status["reason"] == "JobNotFound"
        assert ray_call(fresh, "GET", "/api/jobs/").body == []  # nothing was submitted to the new head
    assert runs(marker) == 1


def test_validation_failure_mid_flight_cleans_up(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayjobs", rayjob("edited", sleeping(60)))
    cluster = kube.wait_job("edited", "Running")["status"]["rayClusterName"]
    kube.patch("rayjobs", "edited", {"spec": {"entrypointResources": "not json"}})
    status = kube.wait_job("edited", "ValidationFailed")["status"]
    assert "spec.entrypointResources must be a JSON object" in status["message"]
    kube.wait(lambda: kube.get("rayclusters", cluster) is None and not kube.jobs(), "the cluster and Job cleaned up")


# --- cleanup never hangs --------------------------------------------------------------------------------------------


def test_rayjob_with_a_hung_dashboard_is_deleted_after_a_bounded_stop_attempt(
    own_operator: Any, dashboard_proxy: ForwardProxy
) -> None:
    """The stop request never gets an answer and may wait 600 s for one; the finalizer goes after 3 s anyway."""
    operator, kube = own_operator(dashboard_timeout_seconds="600", finalizer_timeout_seconds="3")
    kube.create("rayjobs", rayjob("doomed", sleeping(120), submissionMode="HTTPMode"))
    job_id = kube.wait(lambda: (s := status_of(kube, "doomed")).get("jobStatus") == "RUNNING" and s["jobId"], "RUNNING")
    with black_hole() as hole, routed_to(dashboard_proxy, "doomed", kube.ns, hole):
        kube.delete("rayjobs", "doomed")
        kube.wait_gone("rayjobs", "doomed", timeout=120)  # far less than the 600 s a waiting stop would take
    assert f"Could not stop Ray job {job_id}" in operator.log_text()


def test_namespace_with_running_jobs_is_deleted(kube: Kube, operator: OperatorProcess, control_plane: Any) -> None:
    kube.create("rayjobs", rayjob("in-doomed-ns", sleeping(120)))
    kube.wait(lambda: status_of(kube, "in-doomed-ns").get("jobStatus") == "RUNNING", "RUNNING")
    control_plane.core_v1.delete_namespace(kube.ns)

    def gone() -> bool:
        names = {n.metadata.name for n in control_plane.core_v1.list_namespace().items}
        return kube.ns not in names

    kube.wait(gone, f"namespace {kube.ns} to be deleted", timeout=60)


# --- fresh status, kubectl wait, speed ------------------------------------------------------------------------------


def test_kubectl_wait_for_complete(kube: Kube, operator: OperatorProcess, control_plane: Any) -> None:
    kube.create("rayjobs", rayjob("waitable"))
    result = control_plane.run_kubectl(
        "wait", "--for=condition=Complete", "rayjob/waitable", "-n", kube.ns, "--timeout=60s", timeout=70
    )
    assert result.returncode == 0, result.stderr
    status = status_of(kube, "waitable")
    assert status["observedGeneration"] == kube.get("rayjobs", "waitable")["metadata"]["generation"]  # type: ignore[index]


def test_kubectl_wait_for_failed(kube: Kube, operator: OperatorProcess, control_plane: Any) -> None:
    kube.create("rayjobs", rayjob("fails-visibly", 'python -c "import sys; sys.exit(1)"'))
    result = control_plane.run_kubectl(
        "wait", "--for=condition=Failed", "rayjob/fails-visibly", "-n", kube.ns, "--timeout=60s", timeout=70
    )
    assert result.returncode == 0, result.stderr


def test_ray_job_times_are_copied_and_end_time_follows_them(
    kube: Kube, operator: OperatorProcess, ray_head: RayHead
) -> None:
    """How soon the end shows is a figure of the benchmark (status lag); here: the times are Ray's, in order."""
    kube.create("rayjobs", rayjob("prompt", sleeping(2), submissionMode="HTTPMode"))
    status = kube.wait_job("prompt", ("Complete", "Failed"))["status"]
    ray_job = get_job(ray_head, status["jobId"])

    def seconds(text: str) -> int:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())

    assert seconds(status["rayJobInfo"]["startTime"]) == ray_job["start_time"] // 1000
    assert seconds(status["rayJobInfo"]["endTime"]) == ray_job["end_time"] // 1000
    assert seconds(status["startTime"]) <= ray_job["start_time"] // 1000
    assert seconds(status["endTime"]) >= ray_job["end_time"] // 1000


def test_a_hung_dashboard_does_not_delay_other_jobs(own_operator: Any, dashboard_proxy: ForwardProxy) -> None:
    """Each request to the hung dashboard may wait 600 s for an answer; another job finishes meanwhile."""
    _, kube = own_operator(dashboard_timeout_seconds="600")
    with black_hole() as hole, routed_to(dashboard_proxy, "stuck", kube.ns, hole):
        kube.create("rayjobs", rayjob("stuck", submissionMode="HTTPMode"))
        kube.wait(lambda: status_of(kube, "stuck").get("jobDeploymentStatus") == "Running", "the stuck job to run")
        kube.create("rayjobs", rayjob("unaffected", submissionMode="HTTPMode"))
        status = kube.wait_job("unaffected", ("Complete", "Failed"), timeout=120)["status"]
        assert status["jobStatus"] == "SUCCEEDED"
        assert status_of(kube, "stuck")["jobDeploymentStatus"] == "Running"


def test_message_changes_are_written(kube: Kube, operator: OperatorProcess, ray_head: RayHead) -> None:
    kube.create("rayjobs", rayjob("chatty", sleeping(60), submissionMode="HTTPMode"))
    kube.wait(lambda: status_of(kube, "chatty").get("message") == "Job is currently running.", "Ray's RUNNING message")
    wait_for_status(ray_head, status_of(kube, "chatty")["jobId"], {"RUNNING"})


def test_delete_rayjob_after_finish_option(own_operator: Any) -> None:
    _, kube = own_operator(delete_rayjob_after_finish="true")
    kube.create("rayjobs", rayjob("self-cleaning", shutdownAfterJobFinishes=True))
    kube.wait_gone("rayjobs", "self-cleaning", timeout=90)
