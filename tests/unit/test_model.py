"""The typed API: KubeRay's samples parse and round-trip, enums carry KubeRay's exact values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_operator.model.enums import (
    DeletionPolicyType,
    JobDeploymentStatus,
    JobFailedReason,
    JobStatus,
    SubmissionMode,
)
from rayjob_operator.model.raycluster import RayCluster, WorkerGroupSpec
from rayjob_operator.model.rayjob import RayJob

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "data" / "kuberay").glob("*.yaml"))


def _rayjobs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "RayJob"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_round_trips_every_field(path: Path) -> None:
    for doc in _rayjobs(path):
        assert RayJob.model_validate(doc).to_dict() == doc


def test_all_eight_samples_are_present() -> None:
    assert len(SAMPLES) == 8


def test_pod_templates_keep_every_field() -> None:
    template = {
        "metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}},
        "spec": {
            "containers": [{"name": "c", "image": "i", "env": [{"name": "E", "value": "1"}], "futureField": {"k": 1}}],
            "tolerations": [{"key": "gpu", "operator": "Exists"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "nodeSelector": {"zone": "a"},
            "restartPolicy": "Never",
        },
    }
    group = WorkerGroupSpec.model_validate({"groupName": "g", "template": template})
    assert group.template.to_dict() == template


def test_unmodelled_kuberay_cluster_options_pass_through() -> None:
    body = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "c"},
        "spec": {
            "headGroupSpec": {"template": {"spec": {"containers": [{"name": "h", "image": "i"}]}}},
            "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": 60},
            "gcsFaultToleranceOptions": {"redisAddress": "redis:6379"},
        },
    }
    assert RayCluster.model_validate(body).to_dict() == body


def test_enum_values_are_kuberays() -> None:
    assert [s.value for s in JobStatus] == ["", "PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"]
    assert [s.value for s in JobDeploymentStatus] == [
        "",
        "Initializing",
        "Running",
        "Complete",
        "Failed",
        "ValidationFailed",
        "Suspending",
        "Suspended",
        "Retrying",
        "Waiting",
    ]
    assert [m.value for m in SubmissionMode] == ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]
    assert [p.value for p in DeletionPolicyType] == [
        "DeleteCluster",
        "DeleteWorkers",
        "DeleteSelf",
        "DeleteNone",
    ]
    kuberay_reasons = {
        "SubmissionFailed",
        "DeadlineExceeded",
        "PreRunningDeadlineExceeded",
        "AppFailed",
        "JobDeploymentStatusTransitionGracePeriodExceeded",
        "JobStatusCheckTimeoutExceeded",
        "ValidationFailed",
    }
    assert kuberay_reasons <= {r.value for r in JobFailedReason}


def test_terminal_sets() -> None:
    assert {s for s in JobStatus if s.is_terminal} == {
        JobStatus.STOPPED,
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
    }
    assert {s for s in JobDeploymentStatus if s.is_terminal} == {
        JobDeploymentStatus.COMPLETE,
        JobDeploymentStatus.FAILED,
    }


def test_defaults_match_kuberay() -> None:
    job = RayJob.model_validate(_rayjobs(SAMPLES[0])[0])
    assert job.spec.submission_mode is SubmissionMode.K8S_JOB
    assert job.spec.backoff_limit == 0
    assert job.spec.ttl_seconds_after_finished == 0
    group = WorkerGroupSpec.model_validate({"groupName": "g", "template": {}})
    assert (group.replicas, group.min_replicas, group.max_replicas, group.num_of_hosts) == (
        0,
        0,
        2147483647,
        1,
    )


def test_desired_pods_is_replicas_times_hosts_and_zero_when_suspended() -> None:
    group = WorkerGroupSpec.model_validate(
        {
            "groupName": "g",
            "template": {},
            "replicas": 3,
            "minReplicas": 5,
            "maxReplicas": 10,
            "numOfHosts": 2,
        }
    )
    assert group.desired_pods() == 6
    assert group.model_copy(update={"suspend": True}).desired_pods() == 0


def test_times_serialise_as_kubernetes_times() -> None:
    job = RayJob.model_validate(
        {
            **_rayjobs(SAMPLES[0])[0],
            "status": {"startTime": "2026-11-23T18:00:00Z", "jobDeploymentStatus": "Running"},
        }
    )
    assert job.to_dict()["status"]["startTime"] == "2026-11-23T18:00:00Z"
