"""What a real Kueue counts is what our operator creates: multi-host worker groups and the three submission
modes; and a queue-labelled RayJob on an existing cluster (clusterSelector), which Kueue skips."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kube import Kube
from tests.integration.kueue_objects import (
    SUBMITTER_RESOURCES,
    Queues,
    admitted_then_running,
    condition,
    queued,
    report_timing,
    status_of,
)
from tests.integration.rayjobs import WORKER_TEMPLATE, entrypoint_until
from tests.integration.test_raycluster import cluster_body

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
SUBMITTER = "ray-job-submitter"


def pods_of(kube: Kube, rayjob_name: str) -> dict[str, list[Any]]:
    """The RayJob's live pods by Kueue PodSet name: ``head``, each worker group, ``submitter``."""
    cluster = status_of(kube, rayjob_name)["rayClusterName"]
    found: dict[str, list[Any]] = {}
    for pod in kube.pods(f"ray.io/cluster={cluster}"):
        labels = pod.metadata.labels
        group = "head" if labels["ray.io/node-type"] == "head" else labels["ray.io/group"]
        found.setdefault(group, []).append(pod)
    submitters = kube.pods(f"job-name={rayjob_name}")
    if submitters:
        found["submitter"] = submitters
    return found


def counts_match(kube: Kube, queues: Queues, name: str) -> dict[str, int] | None:
    workload = queues.workload_of(name) or {}
    computed = {p["name"]: p["count"] for p in workload.get("spec", {}).get("podSets", [])}
    created = {group: len(pods) for group, pods in pods_of(kube, name).items()}
    return computed if computed and created == computed else None


def worker(group: str, replicas: int, hosts: int = 1) -> dict[str, Any]:
    template = copy.deepcopy(WORKER_TEMPLATE)
    template["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
    return {"groupName": group, "replicas": replicas, "numOfHosts": hosts, "rayStartParams": {}, "template": template}


def test_pod_counts_are_the_ones_kueue_computed(
    kueue_kube: Kube, queues: Queues, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kube = kueue_kube
    queue = queues.queue(cpu="20")
    release = tmp_path / "release"
    jobs = {"multihost": "K8sJobMode", "http": "HTTPMode", "sidecar": "SidecarMode"}
    for name, mode in jobs.items():
        body = queued(name, queue, entrypoint_until(release, tmp_path / f"{name}.runs"), submissionMode=mode)
        if name == "multihost":
            body["spec"]["rayClusterSpec"]["workerGroupSpecs"] = [worker("multi", 2, hosts=2), worker("single", 1)]
        kube.create("rayjobs", body)
    for name, seconds in admitted_then_running(queues, list(jobs)).items():
        report_timing(request, f"{name} admission -> Running", seconds)

    expected = {
        "multihost": {"head": 1, "multi": 4, "single": 1, "submitter": 1},  # replicas x numOfHosts
        "http": {"head": 1, "small": 1},
        "sidecar": {"head": 1, "small": 1},  # the submitter is a container of the head
    }
    for name, counts in expected.items():
        assert kube.wait(lambda n=name: counts_match(kube, queues, n), f"{name}'s pods = its PodSets") == counts  # type: ignore[misc]

    # The sidecar has the resources newer Kueue versions add to the head PodSet (v0.17.1 adds none).
    (head_pod,) = pods_of(kube, "sidecar")["head"]
    created = {c.name: {k: v for k, v in c.resources.to_dict().items() if v} for c in head_pod.spec.containers}
    assert created[SUBMITTER] == SUBMITTER_RESOURCES
    head_podset = next(p for p in queues.workload_of("sidecar")["spec"]["podSets"] if p["name"] == "head")  # type: ignore[index]
    ray_container = head_podset["template"]["spec"]["containers"][0]
    assert created[ray_container["name"]] == ray_container["resources"]

    release.touch()
    for name in jobs:
        status = kube.wait_job(name, ("Complete", "Failed"))["status"]
        assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), (name, status)
        assert condition(queues.wait_workload(name, "Finished"), "Finished")["reason"] == "Succeeded"


def test_cluster_selector_job_is_skipped_by_kueue_and_not_refused(kueue_kube: Kube, queues: Queues) -> None:
    kube = kueue_kube
    queue = queues.queue(cpu="4")
    kube.create("rayclusters", cluster_body("shared", replicas=1))
    kube.wait_cluster_state("shared", "ready")
    selecting = queued("selector", queue, "echo on the shared cluster", rayClusterSpec=None)
    selecting["spec"]["clusterSelector"] = {"ray.io/cluster": "shared"}

    created = kube.create("rayjobs", selecting)  # not refused at apply, although Kueue sets suspend
    assert created["spec"]["suspend"] is True
    status = kube.wait_job("selector", "ValidationFailed")["status"]  # as KubeRay does with suspend + selector
    assert "kueue.x-k8s.io/queue-name" in status["message"]
    kube.create("rayjobs", queued("marker", queue, "echo marker"))
    queues.wait_workload("marker", "Admitted")  # Kueue has reconciled the namespace since
    assert queues.workload_of("selector") is None

    kube.patch("rayjobs", "selector", {"spec": {"suspend": False}})  # the way out the message names
    status = kube.wait_job("selector", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"], status["rayClusterName"]) == (
        "Complete",
        "SUCCEEDED",
        "shared",
    )
    assert queues.workload_of("selector") is None
    assert kube.get("rayclusters", "shared") is not None
