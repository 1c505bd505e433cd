"""Every event reason comes from the one enum, with KubeRay's names; and the cluster metrics' series."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest

from rayjob_operator.metrics import Metrics
from rayjob_operator.model.enums import JobFailedReason
from rayjob_operator.model.event_reasons import EventReason
from rayjob_operator.model.validation import InvalidSpec, validate_rayjob

OPERATOR = Path(__file__).resolve().parents[2] / "operator" / "rayjob_operator"
# An event posted with a literal reason: emit(..., reason="X") or Emit("Warning", "X", ...).
LITERAL_REASON = re.compile(r"""reason=["']|Emit\(\s*["'](Normal|Warning)["']\s*,\s*["']""")


def test_no_event_reason_is_a_string_literal() -> None:
    offenders = [
        f"{path.relative_to(OPERATOR)}:{number}"
        for path in OPERATOR.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if LITERAL_REASON.search(line)
    ]
    assert offenders == []


def test_kuberay_reasons_are_spelled_as_kuberay_spells_them() -> None:
    kuberay = {
        "InvalidRayClusterSpec",
        "CreatedHeadPod",
        "FailedToCreateHeadPod",
        "DeletedHeadPod",
        "FailedToDeleteHeadPod",
        "CreatedWorkerPod",
        "FailedToCreateWorkerPod",
        "DeletedWorkerPod",
        "FailedToDeleteWorkerPod",
        "InvalidRayJobSpec",
        "InvalidRayJobMetadata",
        "InvalidRayJobStatus",
        "CreatedRayJobSubmitter",
        "DeletedRayJobSubmitter",
        "FailedToCreateRayJobSubmitter",
        "FailedToDeleteRayJobSubmitter",
        "CreatedRayCluster",
        "UpdatedRayCluster",
        "DeletedRayCluster",
        "FailedToCreateRayCluster",
        "FailedToDeleteRayCluster",
        "CreatedService",
        "UpdatedService",
        "FailedToCreateService",
        "CreatedServiceAccount",
        "FailedToCreateServiceAccount",
        "AutoscalerServiceAccountNotFound",
        "CreatedRole",
        "FailedToCreateRole",
        "CreatedRoleBinding",
        "FailedToCreateRoleBinding",
    }
    assert kuberay <= {r.value for r in EventReason}


def test_event_reasons_and_failure_reasons_do_not_clash() -> None:
    # one word means one thing: a failure reason that is also an event reason is KubeRay's RayClusterNotFound
    shared = {r.value for r in EventReason} & {r.value for r in JobFailedReason}
    assert shared == {"RayClusterNotFound"}


def _invalid(metadata: dict[str, object], **status: object) -> InvalidSpec:
    body = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"namespace": "ns", **metadata},
        "spec": {"entrypoint": "python x.py", "rayClusterSpec": {"headGroupSpec": {"template": {"spec": {}}}}},
        "status": status,
    }
    try:
        validate_rayjob(body)
    except InvalidSpec as invalid:
        return invalid
    raise AssertionError("the RayJob validated")


def test_the_event_reason_names_the_part_that_is_invalid() -> None:
    assert _invalid({"name": "Not_DNS"}).reason == EventReason.INVALID_RAYJOB_METADATA
    assert _invalid({"name": "ok"}).reason == EventReason.INVALID_RAYJOB_SPEC  # the head has no container


def test_cluster_metrics_are_kuberays() -> None:
    clusters = [
        {
            "metadata": {
                "name": "a",
                "namespace": "ns",
                "uid": "u1",
                "labels": {"ray.io/originated-from-crd": "RayJob"},
            },
            "status": {"conditions": [{"type": "RayClusterProvisioned", "status": "True"}]},
        },
        {"metadata": {"name": "b", "namespace": "ns", "uid": "u2"}},
    ]
    metrics = Metrics()
    metrics.watch_cache(list, lambda: clusters)
    metrics.cluster_provisioned.set("a", "ns", "u1", value=12.5)
    text = generate_latest(metrics.registry).decode()
    assert 'kuberay_cluster_info{name="a",namespace="ns",owner_kind="RayJob",uid="u1"} 1.0' in text
    assert 'kuberay_cluster_info{name="b",namespace="ns",owner_kind="None",uid="u2"} 1.0' in text
    assert 'kuberay_cluster_condition_provisioned{condition="true",name="a",namespace="ns",uid="u1"} 1.0' in text
    assert 'kuberay_cluster_condition_provisioned{condition="false",name="b",namespace="ns",uid="u2"} 1.0' in text
    assert 'kuberay_cluster_provisioned_duration_seconds{name="a",namespace="ns",uid="u1"} 12.5' in text
    metrics.forget_cluster("ns", "a")
    assert "kuberay_cluster_provisioned_duration_seconds{" not in generate_latest(metrics.registry).decode()
