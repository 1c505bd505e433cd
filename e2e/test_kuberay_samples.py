"""The eight vendored KubeRay samples on a kind cluster: each reaches its expected end state.

Needs ``e2e/run.sh setup`` (images, kind cluster, chart). Deadlines come from e2e/samples.tsv.
"""

from __future__ import annotations

from typing import Any

import kubernetes
import pytest
import yaml

from e2e.support import AFTER_TERMINAL, MANIFESTS, TERMINAL_STATES, Kube, Sample, load_samples, wait_for

GROUP, VERSION = "ray.io", "v1"
PLURALS = {"RayJob": "rayjobs", "RayCluster": "rayclusters"}
SAMPLES = load_samples()


def _create(kube: Kube, namespace: str, doc: dict[str, Any]) -> dict[str, Any]:
    kind = doc["kind"]
    if kind in PLURALS:
        created: dict[str, Any] = kube.custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind], doc
        )
        return created
    if kind == "ConfigMap":
        return dict(
            kube.api_client.sanitize_for_serialization(kube.core_v1.create_namespaced_config_map(namespace, doc))
        )
    raise ValueError(f"no creator for {kind}")


def _create_file(kube: Kube, namespace: str, path: Any) -> list[dict[str, Any]]:
    return [_create(kube, namespace, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]


def _get(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = kube.custom_objects.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind], name
        )
    except kubernetes.client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return found


@pytest.mark.timeout(2400)
@pytest.mark.usefixtures("operator")
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_sample_reaches_its_end_state(kube: Kube, namespace: str, sample: Sample) -> None:
    if sample.needs:
        _create_file(kube, namespace, MANIFESTS / sample.needs)
    created = _create_file(kube, namespace, sample.path)
    name = next(o["metadata"]["name"] for o in created if o.get("kind") == "RayJob")

    def terminal() -> dict[str, Any] | None:
        body = _get(kube, namespace, "RayJob", name)
        if body is None:
            raise LookupError(f"RayJob {namespace}/{name} vanished before a terminal state")
        status = body.get("status") or {}
        return status if status.get("jobDeploymentStatus") in TERMINAL_STATES else None

    status = wait_for(terminal, sample.deadline, f"RayJob {namespace}/{name} ({sample.file}) to end")
    assert (status["jobDeploymentStatus"], status.get("jobStatus")) == ("Complete", "SUCCEEDED"), status
    if "cluster-deleted" in sample.expect:
        cluster = status["rayClusterName"]
        wait_for(
            lambda: _get(kube, namespace, "RayCluster", cluster) is None,
            AFTER_TERMINAL,
            f"RayCluster {namespace}/{cluster} to be deleted after the job (shutdownAfterJobFinishes)",
        )
    if "deleted" in sample.expect:
        wait_for(
            lambda: _get(kube, namespace, "RayJob", name) is None,
            AFTER_TERMINAL,
            f"RayJob {namespace}/{name} to delete itself (DeleteSelf rule)",
        )
