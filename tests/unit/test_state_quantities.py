"""desiredCPU/Memory/GPU/TPU: KubeRay's sums, written as Kubernetes writes quantities."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.state.quantities import Quantity, canonical, desired_summary


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["500m", "1"], "1500m"),
        (["500m", "500m"], "1"),
        (["1", "2"], "3"),
        (["1000"], "1k"),
        (["0.5"], "500m"),
        (["512Mi", "1Gi"], "1536Mi"),
        (["1Gi", "1Gi"], "2Gi"),
        (["1Gi", "1G"], "2073741824"),  # mixed: the first one's binary format, but 1G is not a whole Ki
        (["1G", "1Gi"], "2073741824"),
        (["100Mi"], "100Mi"),
        (["512"], "512"),
        (["1e3"], "1e3"),
        (["0"], "0"),
        ([], "0"),
    ],
)
def test_sums_are_written_like_kubernetes(texts: list[str], expected: str) -> None:
    total = Quantity()
    for text in texts:
        total = total + Quantity.parse(text)
    assert str(total) == expected


def test_binary_values_below_1024_are_decimal() -> None:
    assert canonical(Decimal(1000), "BinarySI") == "1k"
    assert canonical(Decimal("1.5"), "BinarySI") == "1500m"


def _cluster(**spec: Any) -> RayCluster:
    def container(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        if requests:
            resources["requests"] = requests
        if limits:
            resources["limits"] = limits
        return {"name": "c", "image": "i", "resources": resources}

    body: dict[str, Any] = {
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {
            "headGroupSpec": {
                "template": {"spec": {"containers": [container({"cpu": "1", "memory": "2Gi"}, {"cpu": "2"})]}}
            },
            "workerGroupSpecs": [
                {
                    "groupName": "cpu",
                    "replicas": 3,
                    "template": {
                        "spec": {"containers": [container(limits={"cpu": "500m", "memory": "1Gi"}), container()]}
                    },
                },
                {
                    "groupName": "gpu",
                    "replicas": 2,
                    "numOfHosts": 2,
                    "template": {
                        "spec": {
                            "containers": [
                                container({"cpu": "4", "nvidia.com/gpu": "1", "google.com/tpu": "4"}, {"memory": "8Gi"})
                            ]
                        }
                    },
                },
            ],
        },
    }
    body["spec"].update(spec)
    return RayCluster.model_validate(body)


def test_head_plus_each_group_times_replicas_times_hosts() -> None:
    # head: requests win over limits (1 CPU); cpu group: limits where there are no requests, x3;
    # gpu group: 2 replicas x 2 hosts
    assert desired_summary(_cluster()) == {
        "desiredCPU": "18500m",  # 1 + 3 x 0.5 + 4 x 4
        "desiredMemory": "37Gi",  # 2 + 3 x 1 + 4 x 8
        "desiredGPU": "4",
        "desiredTPU": "16",
    }


def test_suspended_groups_ask_for_nothing() -> None:
    cluster = _cluster()
    groups = [g.to_dict() for g in cluster.spec.worker_groups()]
    groups[1]["suspend"] = True
    summary = desired_summary(_cluster(workerGroupSpecs=groups))
    assert summary == {"desiredCPU": "2500m", "desiredMemory": "5Gi", "desiredGPU": "0", "desiredTPU": "0"}


def test_every_gpu_resource_counts_as_gpus() -> None:
    head = {"template": {"spec": {"containers": [{"name": "h", "resources": {"limits": {"amd.com/gpu": "2"}}}]}}}
    group = {
        "groupName": "g",
        "replicas": 1,
        "template": {"spec": {"containers": [{"name": "w", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}},
    }
    assert desired_summary(_cluster(headGroupSpec=head, workerGroupSpecs=[group]))["desiredGPU"] == "3"
