"""The committed CRDs: generated from the models (no drift), structural, KubeRay-shaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_operator.model import crdgen, rules
from rayjob_operator.model.base import Rule

ROOT = Path(__file__).resolve().parent.parent.parent
CRDS = ROOT / "crds"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CRDS / name).read_text())  # type: ignore[no-any-return]


def test_committed_crds_match_the_models() -> None:
    rendered = crdgen.render_all()
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(rendered)
    for name, text in rendered.items():
        assert (CRDS / name).read_text() == text, f"{name} drifted: run python -m rayjob_operator.model.crdgen crds/"


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    assert crdgen.main(["--check", str(CRDS)]) == 0
    for name, text in crdgen.render_all().items():
        (tmp_path / name).write_text(text.replace("type: integer", "type: number", 1))
    assert crdgen.main(["--check", str(tmp_path)]) == 1


def test_rayjob_printer_columns_match_kuberay() -> None:
    version = _load("ray.io_rayjobs.yaml")["spec"]["versions"][0]
    columns = [(c["name"], c["jsonPath"], c["type"]) for c in version["additionalPrinterColumns"]]
    assert columns == [
        ("job status", ".status.jobStatus", "string"),
        ("deployment status", ".status.jobDeploymentStatus", "string"),
        ("ray cluster name", ".status.rayClusterName", "string"),
        ("start time", ".status.startTime", "string"),
        ("end time", ".status.endTime", "string"),
        ("age", ".metadata.creationTimestamp", "date"),
    ]


@pytest.mark.parametrize(
    ("name", "kind"), [("ray.io_rayjobs.yaml", "RayJob"), ("ray.io_rayclusters.yaml", "RayCluster")]
)
def test_crd_basics(name: str, kind: str) -> None:
    crd = _load(name)
    spec = crd["spec"]
    assert spec["group"] == "ray.io"
    assert spec["names"]["kind"] == kind
    assert spec["names"]["categories"] == ["all"]
    assert "shortNames" not in spec["names"]
    assert spec["scope"] == "Namespaced"
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {"status": {}}


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, schema)]
    for key, child in (schema.get("properties") or {}).items():
        out += _walk(child, f"{path}.{key}")
    if "items" in schema:
        out += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += _walk(schema["additionalProperties"], f"{path}{{}}")
    return out


@pytest.mark.parametrize("name", ["ray.io_rayjobs.yaml", "ray.io_rayclusters.yaml"])
def test_schema_is_structural(name: str) -> None:
    root = _load(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(root):
        assert "type" in node, f"{name}{path} has no type"
        assert not {"$ref", "anyOf", "allOf"} & set(node), f"{name}{path} is not structural"


def test_field_names_are_kuberays() -> None:
    root = _load("ray.io_rayjobs.yaml")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec = set(root["properties"]["spec"]["properties"])
    assert spec == {
        "entrypoint",
        "runtimeEnvYAML",
        "jobId",
        "metadata",
        "submissionMode",
        "submitterPodTemplate",
        "submitterConfig",
        "rayClusterSpec",
        "clusterSelector",
        "managedBy",
        "shutdownAfterJobFinishes",
        "ttlSecondsAfterFinished",
        "activeDeadlineSeconds",
        "preRunningDeadlineSeconds",
        "backoffLimit",
        "suspend",
        "deletionStrategy",
        "entrypointNumCpus",
        "entrypointNumGpus",
        "entrypointResources",
    }
    status = set(root["properties"]["status"]["properties"])
    assert status >= {
        "jobStatus",
        "jobDeploymentStatus",
        "reason",
        "message",
        "jobId",
        "rayClusterName",
        "dashboardURL",
        "startTime",
        "endTime",
        "rayJobInfo",
        "succeeded",
        "failed",
        "rayClusterStatus",
        "jobStatusCheckFailureStartTime",
        "observedGeneration",
    }


def _cel_messages(name: str) -> set[str]:
    root = _load(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return {v["message"] for _, node in _walk(root) for v in node.get("x-kubernetes-validations", [])}


def test_every_cel_rule_is_in_the_rayjob_crd() -> None:
    messages = _cel_messages("ray.io_rayjobs.yaml")
    for rule in vars(rules).values():
        if isinstance(rule, Rule) and rule.cel:
            assert rule.message in messages, rule.id


def test_cluster_rules_are_in_the_raycluster_crd() -> None:
    messages = _cel_messages("ray.io_rayclusters.yaml")
    for rule in (rules.HEAD_NEEDS_CONTAINER, rules.WORKER_MIN_LE_MAX, rules.SUSPEND_WORKERS_WITH_AUTOSCALING):
        assert rule.message in messages


def test_kuberay_defaults_are_published() -> None:
    spec = _load("ray.io_rayjobs.yaml")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props = spec["properties"]
    assert props["submissionMode"]["default"] == "K8sJobMode"
    assert props["backoffLimit"]["default"] == 0
    assert props["ttlSecondsAfterFinished"]["default"] == 0
    worker = props["rayClusterSpec"]["properties"]["workerGroupSpecs"]["items"]["properties"]
    assert worker["maxReplicas"]["default"] == 2147483647
    assert worker["numOfHosts"]["default"] == 1


def _spec_schema(crd: str) -> dict[str, Any]:
    return _load(crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("crd", "path"),
    [
        ("ray.io_rayjobs.yaml", ["rayClusterSpec", "headGroupSpec", "template"]),
        ("ray.io_rayjobs.yaml", ["rayClusterSpec", "workerGroupSpecs", "[]", "template"]),
        ("ray.io_rayjobs.yaml", ["submitterPodTemplate"]),
        ("ray.io_rayclusters.yaml", ["headGroupSpec", "template"]),
    ],
)
def test_pod_templates_get_the_container_defaults_kueue_compares(crd: str, path: list[str]) -> None:
    """Kueue's Workload stores pod templates with Kubernetes' defaults and compares containers field by field."""
    node = _spec_schema(crd)
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    spec = node["properties"]["spec"]
    for containers in ("containers", "initContainers"):
        container = spec["properties"][containers]["items"]
        assert container["x-kubernetes-preserve-unknown-fields"] is True  # everything else is kept as written
        port = container["properties"]["ports"]["items"]["properties"]
        assert port["protocol"]["default"] == "TCP"
        env_from = container["properties"]["env"]["items"]["properties"]["valueFrom"]["properties"]
        assert env_from["secretKeyRef"]["properties"]["name"]["default"] == ""
        assert container["properties"]["readinessProbe"]["properties"]["grpc"]["properties"]["service"]["default"] == ""
