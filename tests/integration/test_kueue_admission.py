"""A real Kueue admits our RayJobs: quota queues the third of three, a finished job frees its quota, and a
K8sJobMode submitter from the template Kueue writes (the head's Ray image, no command) runs and succeeds."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_controlplane import ROOT
from tests.integration.fixtures_ray import AWKWARD, get_job
from tests.integration.kube import Kube
from tests.integration.kueue_objects import (
    HEAD_IMAGE,
    KUEUE_SUBMITTER_TEMPLATE,
    Queues,
    admitted_then_running,
    condition,
    queued,
    report_timing,
    status_of,
)
from tests.integration.rayjobs import entrypoint_until, runs

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
PER_JOB_CPU = 2.5  # head 1 + worker 1 + submitter 0.5


def deployment(kube: Kube, name: str) -> str | None:
    return status_of(kube, name).get("jobDeploymentStatus")


def owned_objects(kube: Kube, name: str) -> list[str]:
    """Every RayCluster, Job and pod that belongs to RayJob ``name`` (they are all named ``<name>-...``)."""
    clusters = kube.custom.list_namespaced_custom_object("ray.io", "v1", kube.ns, "rayclusters")["items"]
    found = [c["metadata"]["name"] for c in clusters]
    found += [j.metadata.name for j in kube.jobs()] + [p.metadata.name for p in kube.pods()]
    return [n for n in found if n == name or n.startswith(f"{name}-")]


def running_after_admission(queues: Queues, names: list[str], request: pytest.FixtureRequest) -> None:
    for name, seconds in admitted_then_running(queues, names).items():
        report_timing(request, f"{name} admission -> Running", seconds)


def test_quota_for_two_queues_the_third_until_one_finishes(
    kueue_kube: Kube, queues: Queues, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kube = kueue_kube
    queue = queues.queue(cpu=str(2 * PER_JOB_CPU), memory="8Gi")
    names = ["first", "second", "third"]
    release = {n: tmp_path / f"{n}.release" for n in names}
    marker = {n: tmp_path / f"{n}.runs" for n in names}
    for name in names:
        created = kube.create("rayjobs", queued(name, queue, entrypoint_until(release[name], marker[name])))
        assert created["spec"]["suspend"] is True  # Kueue's webhook suspended it at create

    def two_admitted() -> list[str] | None:
        found = [n for n in names if queues.admitted(n)]
        return found if len(found) == 2 else None

    admitted = kube.wait(two_admitted, "two of the three Workloads to be Admitted")
    (waiting,) = set(names) - set(admitted)
    running_after_admission(queues, admitted, request)
    for name in admitted:
        kube.wait(lambda n=name: runs(str(marker[n])) == 1, f"the entrypoint of {name} to run")  # type: ignore[misc]

    # With both admitted jobs running, the third is suspended, owns nothing, and has no quota.
    assert deployment(kube, waiting) == "Suspended"
    assert (kube.get("rayjobs", waiting) or {})["spec"]["suspend"] is True
    assert owned_objects(kube, waiting) == []
    assert condition(queues.workload_of(waiting), "QuotaReserved").get("status") != "True"

    done, other = admitted
    release[done].touch()
    kube.wait_job(done, ("Complete", "Failed"))
    queues.wait_workload(done, "Finished")
    running_after_admission(queues, [waiting], request)  # the freed quota admits the third
    release[waiting].touch()
    release[other].touch()
    for name in names:
        status = kube.wait_job(name, ("Complete", "Failed"))["status"]
        assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), name
        finished = condition(queues.wait_workload(name, "Finished"), "Finished")
        assert finished["reason"] == "Succeeded", finished
        assert runs(str(marker[name])) == 1, name


def test_k8s_job_mode_runs_the_template_kueue_writes(
    kueue_kube: Kube, queues: Queues, ray_head: RayHead, pod_runner: LocalPodRunner, request: pytest.FixtureRequest
) -> None:
    kube = kueue_kube
    queue = queues.queue(cpu="3", node_labels={"type": "kwok"})  # Kueue writes the flavor's nodeSelector too
    body = queued("kueue-template", queue, AWKWARD, submitterPodTemplate=copy.deepcopy(KUEUE_SUBMITTER_TEMPLATE))
    kube.create("rayjobs", body)

    running_after_admission(queues, ["kueue-template"], request)
    job = kube.wait(lambda: kube.jobs() and kube.jobs()[0], "the submitter Job")
    status = kube.wait_job("kueue-template", ("Complete", "Failed"))["status"]

    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
    template = (kube.get("rayjobs", "kueue-template") or {})["spec"]["submitterPodTemplate"]
    assert template["spec"]["nodeSelector"] == {"type": "kwok"}  # what Kueue wrote into the template
    assert "command" not in template["spec"]["containers"][0]
    container = job.spec.template.spec.containers[0]
    assert (container.image, container.command[:2]) == (HEAD_IMAGE, ["python", "-c"])
    assert job.spec.template.spec.node_selector == {"type": "kwok"}
    assert "rayjob-submit: submitted job" in pod_runner.logs_for(kube.ns, "kueue-template")
    assert get_job(ray_head, status["jobId"])["entrypoint"] == AWKWARD  # byte for byte
    assert condition(queues.wait_workload("kueue-template", "Finished"), "Finished")["reason"] == "Succeeded"


def test_the_running_kueue_is_the_pinned_one(kueue: Any) -> None:
    pinned = re.search(r"^\tsigs\.k8s\.io/kueue (v\S+)", (ROOT / "hack/kueue/go.mod").read_text(), re.MULTILINE)
    assert pinned is not None
    assert kueue.version == pinned.group(1) == "v0.17.1"


def test_the_readme_example_runs(kueue_kube: Kube, queues: Queues, control_plane: Any) -> None:
    """examples/kueue.yaml (README "Using with Kueue"), applied as written with kubectl."""
    example = ROOT / "examples" / "kueue.yaml"
    control_plane.run_kubectl("apply", "-n", kueue_kube.ns, "-f", str(example))
    try:
        status = kueue_kube.wait_job("rayjob-queued", ("Complete", "Failed"), timeout=120)["status"]
        assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
        assert condition(queues.wait_workload("rayjob-queued", "Finished"), "Finished")["reason"] == "Succeeded"
        log = kueue_kube.wait(
            lambda: kueue_kube.core.read_namespaced_config_map("rayjob-queued-driver-log", kueue_kube.ns),
            "the driver log ConfigMap",
        )
        assert "sum: 10" in log.data["driver.log"]
    finally:
        control_plane.run_kubectl("delete", "-n", kueue_kube.ns, "--wait=false", "-f", str(example))
