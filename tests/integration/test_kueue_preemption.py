"""A real Kueue preempts a running RayJob for a higher-priority one (WorkloadPriorityClass): our operator stops
the Ray job, deletes its cluster and reports Suspended, which releases the quota; re-admitted, the preempted
job runs again on a new cluster and succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import wait_for_status
from tests.integration.kube import Kube
from tests.integration.kueue_objects import (
    Queues,
    admission_probes,
    admitted_then_running,
    condition,
    deployment_is,
    first_seen,
    is_true,
    queued,
    report_timing,
    status_of,
)
from tests.integration.rayjobs import entrypoint_until, runs

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")


def test_higher_priority_preempts_and_the_preempted_job_runs_again(
    kueue_kube: Kube, queues: Queues, ray_head: RayHead, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kube = kueue_kube
    low = queues.priority_class("low", 100)
    high = queues.priority_class("high", 1000)
    queue = queues.queue(cpu="3", preemption={"withinClusterQueue": "LowerPriority"})  # room for one RayJob
    release, marker = tmp_path / "low.release", tmp_path / "low.runs"
    kube.create("rayjobs", queued("low", queue, entrypoint_until(release, marker), priority=low))
    report_timing(request, "low admission -> Running", admitted_then_running(queues, ["low"])["low"])
    kube.wait(lambda: runs(str(marker)) == 1, "the first run of the low-priority entrypoint")
    first = status_of(kube, "low")
    wait_for_status(ray_head, first["jobId"], {"RUNNING"})

    kube.create("rayjobs", queued("high", queue, "echo urgent", priority=high))
    seen = first_seen(
        {
            "low preempted": lambda: bool((kube.get("rayjobs", "low") or {})["spec"].get("suspend")),
            "low Suspended": deployment_is(kube, "low", "Suspended"),
            **admission_probes(queues, "high"),
        },
        "Kueue to preempt low for high, and high to run",
    )
    report_timing(request, "low preemption (spec.suspend) -> Suspended", seen["low Suspended"] - seen["low preempted"])
    report_timing(request, "low Suspended -> high admitted", seen["high admitted"] - seen["low Suspended"])
    report_timing(request, "high admission -> Running", seen["high Running"] - seen["high admitted"])

    wait_for_status(ray_head, first["jobId"], {"STOPPED"})  # the Ray job was stopped, not left to die
    assert kube.get("rayclusters", first["rayClusterName"]) is None
    assert not [p for p in kube.pods() if p.metadata.name.startswith("low-")]
    assert "rayClusterName" not in status_of(kube, "low")
    workload = queues.workload_of("low")
    assert is_true(workload, "Evicted") and condition(workload, "Evicted")["reason"] == "Preempted", workload
    assert not is_true(workload, "QuotaReserved")  # the quota went to the high-priority job

    status = kube.wait_job("high", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status

    report_timing(request, "low re-admission -> Running", admitted_then_running(queues, ["low"])["low"])
    second = status_of(kube, "low")
    assert second["rayClusterName"] != first["rayClusterName"]
    assert second["jobId"] != first["jobId"]
    kube.wait(lambda: runs(str(marker)) == 2, "the second run of the low-priority entrypoint")
    release.touch()
    status = kube.wait_job("low", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
    assert runs(str(marker)) == 2  # one run per admission, none lost, none extra
    for name in ("low", "high"):
        assert condition(queues.wait_workload(name, "Finished"), "Finished")["reason"] == "Succeeded"
