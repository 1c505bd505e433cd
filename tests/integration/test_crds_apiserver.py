"""The CRDs in crds/ on a real API server: accepted, printer columns, CEL rules, status subresource."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.waiting import wait_for
from tests.integration.fixtures_controlplane import ControlPlane
from tests.unit.corpus import CORPUS, Case, load_cases

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"
CASES = load_cases()
MIN_CORPUS = 40
RAYJOB: dict[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "RayJob",
    "metadata": {"name": "probe"},
    "spec": {"entrypoint": "python -c 'print(1)'", "clusterSelector": {"ray.io/cluster": "existing"}},
}


def _rayjob(name: str = "probe", **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(RAYJOB)
    body["metadata"]["name"] = name
    body["spec"].update(spec)
    return body


def _create(cp: ControlPlane, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["metadata"]["namespace"] = namespace
    created: dict[str, Any] = cp.custom_objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    return created


def _error_message(e: kubernetes.client.ApiException) -> str:
    try:
        return str(json.loads(e.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return str(e.body)


def test_crds_are_established(control_plane: ControlPlane) -> None:
    assert sorted(control_plane.crds) == ["rayclusters.ray.io", "rayjobs.ray.io"]
    for name in control_plane.crds:
        crd = control_plane.apiextensions_v1.read_custom_resource_definition(name)
        status = {c.type: c.status for c in crd.status.conditions}
        assert status["Established"] == "True"
        assert status["NamesAccepted"] == "True"


def test_kubectl_shows_the_printer_columns(control_plane: ControlPlane, namespace: str) -> None:
    _create(control_plane, namespace, _rayjob("columns"))
    control_plane.custom_objects.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "columns",
        {
            "status": {
                "jobStatus": "RUNNING",
                "jobDeploymentStatus": "Running",
                "rayClusterName": "columns-abcde",
                "startTime": "2026-01-02T03:04:05Z",
            }
        },
    )
    out = control_plane.run_kubectl("get", "rayjob", "-n", namespace).stdout.splitlines()
    header, row = (re.split(r"\s{2,}", line.strip()) for line in out[:2])
    assert header == [
        "NAME",
        "JOB STATUS",
        "DEPLOYMENT STATUS",
        "RAY CLUSTER NAME",
        "START TIME",
        "END TIME",
        "AGE",
    ]
    assert row[:5] == ["columns", "RUNNING", "Running", "columns-abcde", "2026-01-02T03:04:05Z"]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= MIN_CORPUS, f"{CORPUS} holds {len(CASES)} manifests, expected at least {MIN_CORPUS}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_manifest_on_the_api_server(control_plane: ControlPlane, namespace: str, case: Case) -> None:
    rule = case.rule
    if rule is None or rule.cel is None:  # valid, or checked by the controller only
        _create(control_plane, namespace, case.manifest)
        return
    assert "oldSelf" not in rule.cel, f"{rule.id} is a transition rule: a single create cannot trigger it"
    with pytest.raises(kubernetes.client.ApiException) as info:
        _create(control_plane, namespace, case.manifest)
    assert info.value.status == 422, info.value.body
    assert rule.message in _error_message(info.value)


def test_managed_by_cannot_change(control_plane: ControlPlane, namespace: str) -> None:
    from rayjob_operator.model.rules import MANAGED_BY_IMMUTABLE

    _create(control_plane, namespace, _rayjob("managed", managedBy="ray.io/kuberay-operator"))
    with pytest.raises(kubernetes.client.ApiException) as info:
        control_plane.custom_objects.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "managed", {"spec": {"managedBy": "kueue.x-k8s.io/multikueue"}}
        )
    assert info.value.status == 422
    assert MANAGED_BY_IMMUTABLE.message in _error_message(info.value)


def test_status_and_spec_are_written_separately(control_plane: ControlPlane, namespace: str) -> None:
    api = control_plane.custom_objects
    created = _create(control_plane, namespace, _rayjob("split"))
    generation = created["metadata"]["generation"]

    after_status = api.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "split",
        {"spec": {"entrypoint": "changed-via-status"}, "status": {"jobStatus": "RUNNING"}},
    )
    assert after_status["status"]["jobStatus"] == "RUNNING"
    assert after_status["spec"]["entrypoint"] == RAYJOB["spec"]["entrypoint"]
    assert after_status["metadata"]["generation"] == generation

    after_spec = api.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "split",
        {"spec": {"entrypoint": "python new.py"}, "status": {"jobStatus": "FAILED"}},
    )
    assert after_spec["spec"]["entrypoint"] == "python new.py"
    assert after_spec["status"]["jobStatus"] == "RUNNING"
    assert after_spec["metadata"]["generation"] == generation + 1


def test_deleting_a_rayjob_collects_what_it_owns(control_plane: ControlPlane, namespace: str) -> None:
    rayjob = _create(control_plane, namespace, _rayjob("owner"))
    owner_ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RayJob",
        "name": "owner",
        "uid": rayjob["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    core = control_plane.core_v1
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "owned", "ownerReferences": [owner_ref]}})
    control_plane.custom_objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "owner")

    def owned_gone() -> bool:
        try:
            core.read_namespaced_config_map("owned", namespace)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    wait_for(owned_gone, 30, "the garbage collector to delete the ConfigMap owned by RayJob owner")
