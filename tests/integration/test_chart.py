"""The Helm chart against a real API server: install, the ServiceAccount's rights, uninstall, CRDs.

Nothing runs in the operator's pod here (kwok only simulates pods), so the tests assert what the
API server accepted and what is left after ``helm uninstall``, never the operator's readiness.

What happens to the CRDs (the session's control plane has them already, applied from crds/):
Helm creates a CRD of the chart's crds/ only when it is missing, so it leaves these untouched
(same uid, generation and field managers), does not adopt them into the release, and ``helm uninstall``
never deletes them.
"""

from __future__ import annotations

import functools
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.waiting import wait_for
from tests.integration.chart_support import (
    CHART,
    RBAC_KINDS,
    Permission,
    apply_manifests,
    mint_token,
    permissions,
    render_chart,
    run_helm,
    select,
    service_account_name,
    without_permission,
    write_token_kubeconfig,
)
from tests.integration.fixtures_controlplane import ControlPlane, api_client_for
from tests.tools.test_chart import EXPECTED

INSTANCE_LABEL = "app.kubernetes.io/instance"
DENIED = [  # rights the operator does not need, and so must not have
    Permission("", "secrets", "list"),
    Permission("", "pods", "get"),
    Permission("", "pods", "patch"),
    Permission("", "configmaps", "delete"),
    Permission("ray.io", "rayjobs", "create"),
    Permission("ray.io", "rayjobs", "update"),
    Permission("", "namespaces", "list"),
    Permission("rbac.authorization.k8s.io", "roles", "create"),
]


def _release() -> str:
    return f"rel-{secrets.token_hex(3)}"  # ClusterRoles are cluster-wide: one name per test


def _crd_versions(cp: ControlPlane) -> dict[str, tuple[str, int, frozenset[str]]]:
    """uid, generation and field managers of each CRD: any write by helm would change one of them."""
    versions = {}
    for name in ("rayjobs.ray.io", "rayclusters.ray.io"):
        meta = cp.apiextensions_v1.read_custom_resource_definition(name).metadata
        versions[name] = (meta.uid, meta.generation, frozenset(f.manager for f in meta.managed_fields or []))
    return versions


def _helm_install(cp: ControlPlane, release: str, namespace: str, *sets: str) -> str:
    args = ["install", release, str(CHART), f"--namespace={namespace}", "--timeout=60s"]
    args += [f"--set={s}" for s in sets]
    return run_helm(*args, kubeconfig=cp.kubeconfig).stdout


def _helm_uninstall(cp: ControlPlane, release: str, namespace: str) -> None:
    run_helm("uninstall", release, f"--namespace={namespace}", "--wait", "--timeout=60s", kubeconfig=cp.kubeconfig)


def _namespaced_kinds(cp: ControlPlane) -> str:
    done = cp.run_kubectl("api-resources", "--namespaced=true", "--verbs=list", "-o", "name")
    return ",".join(sorted(done.stdout.split()))


def _leftovers(cp: ControlPlane, kinds: str, namespace: str, release: str) -> list[str]:
    done = cp.run_kubectl(
        "get", kinds, f"--namespace={namespace}", f"--selector={INSTANCE_LABEL}={release}", "-o", "name"
    )
    return done.stdout.split()


def _gone(cp: ControlPlane, kinds: str, namespace: str, release: str) -> bool:
    return not _leftovers(cp, kinds, namespace, release)


def _allowed(client: Any, permission: Permission, namespace: str | None) -> bool:
    resource, _, subresource = permission.resource.partition("/")
    attributes: dict[str, Any] = {"group": permission.group, "resource": resource, "verb": permission.verb}
    if subresource:
        attributes["subresource"] = subresource
    if namespace:
        attributes["namespace"] = namespace
    authorization: Any = kubernetes.client.AuthorizationV1Api(client)
    review = authorization.create_self_subject_access_review({"spec": {"resourceAttributes": attributes}})
    return bool(review.status.allowed)


def _rights(client: Any, namespace: str | None) -> set[Permission]:
    """Which of the expected and the denied permissions the client's identity has."""
    return {p for p in [*EXPECTED, *DENIED] if _allowed(client, p, namespace)}


@pytest.fixture
def other_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"t-chart-other-{secrets.token_hex(3)}"
    control_plane.core_v1.create_namespace({"metadata": {"name": name}})
    yield name
    control_plane.core_v1.delete_namespace(name)


def test_install_all_namespaces_then_uninstall_leaves_nothing_but_the_crds(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    cp, release = control_plane, _release()
    fullname = f"{release}-rayjob-operator"
    crds_before = _crd_versions(cp)
    cp.core_v1.patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )

    notes = _helm_install(cp, release, namespace)
    assert "Scope: every namespace\n" in notes, notes
    assert f"(ClusterRole {fullname}, ServiceAccount {fullname})" in notes
    assert f"rollout status deployment/{fullname}" in notes
    assert "never upgrades or" in notes

    deployment = cp.cp.api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{fullname}")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == fullname
    cp.core_v1.read_namespaced_service_account(fullname, namespace)
    cp.core_v1.read_namespaced_service(f"{fullname}-metrics", namespace)
    rbac: Any = kubernetes.client.RbacAuthorizationV1Api(cp.api_client)
    rbac.read_cluster_role(fullname)
    rbac.read_cluster_role_binding(fullname)
    # The pod template passes the namespace's "restricted" Pod Security admission (a dry-run create).
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "restricted-probe"}}
    pod["spec"] = deployment["spec"]["template"]["spec"]
    cp.core_v1.create_namespaced_pod(namespace, pod, dry_run="All")
    # The CRDs existed: Helm skipped them (untouched, not adopted).
    assert _crd_versions(cp) == crds_before
    crd = cp.apiextensions_v1.read_custom_resource_definition("rayjobs.ray.io")
    assert "meta.helm.sh/release-name" not in (crd.metadata.annotations or {})

    # The ServiceAccount's token may read RayJobs everywhere (ClusterRoleBinding), and nothing more.
    token = mint_token(cp.core_v1, namespace, fullname)
    client: Any = api_client_for(write_token_kubeconfig(tmp_path / "sa.kubeconfig", cp.kubeconfig, token))
    try:
        wait_for(lambda: _rights(client, None) == EXPECTED, 15, "the ClusterRoleBinding to take effect")
    finally:
        client.close()

    kinds = _namespaced_kinds(cp)
    assert _leftovers(cp, kinds, namespace, release)
    _helm_uninstall(cp, release, namespace)
    wait_for(
        lambda: not _leftovers(cp, kinds, namespace, release),
        60,
        f"every namespaced object of release {release} to be gone (ReplicaSets and pods via garbage collection)",
    )
    assert not [r.metadata.name for r in rbac.list_cluster_role(label_selector=f"{INSTANCE_LABEL}={release}").items], (
        "ClusterRole left behind"
    )
    assert not rbac.list_cluster_role_binding(label_selector=f"{INSTANCE_LABEL}={release}").items
    release_secrets = cp.core_v1.list_namespaced_secret(namespace, label_selector=f"owner=helm,name={release}")
    assert not release_secrets.items, "helm's release record left behind"
    # helm uninstall never deletes CRDs.
    assert _crd_versions(cp) == crds_before


def test_install_for_a_namespace_list_makes_roles_and_uninstall_removes_them(
    control_plane: ControlPlane, namespace: str, other_namespace: str
) -> None:
    cp, release = control_plane, _release()
    fullname = f"{release}-rayjob-operator"
    notes = _helm_install(cp, release, namespace, f"watchNamespaces={{{namespace},{other_namespace}}}")
    assert f"Scope: namespaces {namespace}, {other_namespace}" in notes
    assert "(a Role in each namespace" in notes

    rbac: Any = kubernetes.client.RbacAuthorizationV1Api(cp.api_client)
    for ns in (namespace, other_namespace):
        role = rbac.read_namespaced_role(fullname, ns)
        stored = {
            "rules": [{"apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs} for r in role.rules]
        }
        assert permissions(stored) == EXPECTED
        rbac.read_namespaced_role_binding(fullname, ns)
    assert not rbac.list_cluster_role(label_selector=f"{INSTANCE_LABEL}={release}").items
    deployment = cp.cp.api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{fullname}")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace")] == [
        f"--namespace={namespace}",
        f"--namespace={other_namespace}",
    ]

    kinds = _namespaced_kinds(cp)
    _helm_uninstall(cp, release, namespace)
    for ns in (namespace, other_namespace):
        wait_for(
            functools.partial(_gone, cp, kinds, ns, release), 60, f"release {release}'s objects in {ns} to be gone"
        )


def test_the_service_account_has_exactly_the_charts_rights_in_its_namespace(
    control_plane: ControlPlane, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    """The RBAC proof's tools on a real API server: apply the rendered RBAC, act with a minted token."""
    cp = control_plane
    docs = render_chart(release="proof", namespace=namespace, values={"watchNamespaces": [namespace]})
    apply_manifests(cp.cp.kubectl_argv, select(docs, RBAC_KINDS | {"ServiceAccount"}))
    token = mint_token(cp.core_v1, namespace, service_account_name(docs))
    kubeconfig = write_token_kubeconfig(tmp_path / "sa.kubeconfig", cp.kubeconfig, token, namespace=namespace)

    whoami = subprocess.run(
        [str(cp.kubectl), f"--kubeconfig={kubeconfig}", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert whoami.stdout == f"system:serviceaccount:{namespace}:{service_account_name(docs)}"

    client: Any = api_client_for(kubeconfig)
    try:
        wait_for(lambda: _rights(client, namespace) == EXPECTED, 15, f"the RoleBinding in {namespace} to take effect")
        assert _rights(client, other_namespace) == set(), "a Role grants nothing outside its namespace"
        assert _rights(client, None) == set(), "and nothing cluster-wide"

        removed = Permission("ray.io", "rayjobs/status", "update")
        apply_manifests(cp.cp.kubectl_argv, select(without_permission(docs, removed), RBAC_KINDS))
        wait_for(
            lambda: _rights(client, namespace) == EXPECTED - {removed},
            15,
            f"the Role without '{removed}' to take effect",
        )
    finally:
        client.close()
