"""The Helm chart (charts/rayjob-operator): lint, renders, restricted pods, exact RBAC, CRDs, values.

helm is the one built with the local control plane (hack/controlplane/build.sh; cached and fast).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_operator.config import PREFIX, OperatorConfig
from tests.integration.chart_support import (
    CHART,
    ROOT,
    Doc,
    HelmError,
    Permission,
    kube_version,
    operator_command,
    operator_container,
    operator_env,
    permissions,
    render_chart,
    render_chart_text,
    run_helm,
    select,
    service_account_name,
    the,
    token_kubeconfig,
    without_permission,
    write_token_kubeconfig,
)

RELEASE, NAMESPACE = "rel", "rayjob-system"
FULLNAME = "rel-rayjob-operator"
WATCHED = ["team-a", "team-b"]

# What the operator calls (operator/rayjob_operator/k8s, runtime, reconcilers, main.py) and nothing more.
FRAMEWORK = {
    *(Permission("ray.io", r, v) for r in ("rayjobs", "rayclusters") for v in ("list", "watch")),
    *(Permission("", r, v) for r in ("pods", "services") for v in ("list", "watch")),
    *(Permission("batch", "jobs", v) for v in ("list", "watch")),
}
APPLICATION = {
    *(Permission("ray.io", "rayjobs", v) for v in ("get", "patch", "delete")),
    Permission("ray.io", "rayjobs/status", "update"),
    Permission("ray.io", "rayjobs/finalizers", "update"),
    *(Permission("ray.io", "rayclusters", v) for v in ("get", "create", "patch", "delete")),
    Permission("ray.io", "rayclusters/status", "update"),
    Permission("ray.io", "rayclusters/finalizers", "update"),
    *(Permission("", "pods", v) for v in ("create", "delete", "get", "patch")),
    Permission("", "pods/resize", "patch"),
    *(Permission("", "serviceaccounts", v) for v in ("get", "create")),
    Permission("rbac.authorization.k8s.io", "roles", "create"),
    Permission("rbac.authorization.k8s.io", "rolebindings", "create"),
    *(Permission("", "services", v) for v in ("get", "create", "update")),
    *(Permission("batch", "jobs", v) for v in ("get", "create", "delete")),
    Permission("events.k8s.io", "events", "create"),
    *(Permission("", "configmaps", v) for v in ("create", "update")),
    *(Permission("", "secrets", v) for v in ("get", "create")),
}
EXPECTED = FRAMEWORK | APPLICATION
NAMESPACE_WATCH = {Permission("", "namespaces", "list"), Permission("", "namespaces", "watch")}


@pytest.fixture(scope="module")
def default_docs() -> list[Doc]:
    return render_chart(release=RELEASE, namespace=NAMESPACE)


@pytest.fixture(scope="module")
def namespaced_docs() -> list[Doc]:
    return render_chart(release=RELEASE, namespace=NAMESPACE, values={"watchNamespaces": WATCHED})


def _pod_spec(docs: list[Doc]) -> Doc:
    spec: Doc = the(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


# --- helm lint and template ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values", [{}, {"watchNamespaces": WATCHED}, {"metrics": {"serviceMonitor": {"enabled": True}}}]
)
def test_helm_lint_passes(values: dict[str, Any], tmp_path: Path) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    done = run_helm("lint", "--strict", str(CHART), f"--kube-version={kube_version()}", f"--values={values_file}")
    assert "0 chart(s) failed" in done.stdout


def test_rendered_manifests_parse(default_docs: list[Doc]) -> None:
    kinds = sorted(doc["kind"] for doc in default_docs)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    for doc in default_docs:
        assert doc["apiVersion"]
        assert doc["metadata"]["name"].startswith(FULLNAME)
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == NAMESPACE


def test_crds_are_rendered_only_with_include_crds() -> None:
    with_crds = render_chart(release=RELEASE, namespace=NAMESPACE, include_crds=True)
    names = sorted(d["metadata"]["name"] for d in select(with_crds, ["CustomResourceDefinition"]))
    assert names == ["rayclusters.ray.io", "rayjobs.ray.io"]


def test_deployment_runs_one_standalone_operator(default_docs: list[Doc]) -> None:
    deployment = the(default_docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert operator_command(default_docs) == [
        "rayjob-operator",
        "--log-format=json",
        "--liveness=http://0.0.0.0:8081/healthz",
        "--all-namespaces",
    ]
    container = operator_container(default_docs)
    assert container["image"] == "rayjob-operator/operator:0.1.0"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8081, "metrics": 8080}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe
    assert set(container["resources"]) == {"requests", "limits"}
    for part in ("requests", "limits"):
        assert set(container["resources"][part]) == {"cpu", "memory"}
    assert service_account_name(default_docs) == the(default_docs, "ServiceAccount")["metadata"]["name"] == FULLNAME


def test_security_context_meets_the_restricted_standard(default_docs: list[Doc]) -> None:
    """The checks of the "restricted" Pod Security Standard (plus a read-only root filesystem)."""
    pod = _pod_spec(default_docs)
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(flag), flag
    pod_context = pod.get("securityContext") or {}
    assert pod_context.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= {"emptyDir", "configMap", "secret", "projected", "downwardAPI"}, volume
    tmp_volume = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp_volume
    for container in [*pod["containers"], *pod.get("initContainers", [])]:
        context = {**pod_context, **container["securityContext"]}
        assert context["runAsNonRoot"] is True
        assert isinstance(context["runAsUser"], int)
        assert context["runAsUser"] > 0
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert not context.get("privileged")
        assert "ALL" in context["capabilities"]["drop"]
        assert set(context["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
        assert context["seccompProfile"]["type"] == "RuntimeDefault"
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert not any(p.get("hostPort") for p in container.get("ports", []))


# --- RBAC ----------------------------------------------------------------------------------------------


def test_rbac_all_namespaces_is_exactly_the_expected_set(default_docs: list[Doc]) -> None:
    assert not select(default_docs, ["Role", "RoleBinding"])
    role = the(default_docs, "ClusterRole")
    assert permissions(role) == EXPECTED
    binding = the(default_docs, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]


def test_rbac_namespace_list_is_a_role_per_namespace(namespaced_docs: list[Doc]) -> None:
    assert not select(namespaced_docs, ["ClusterRole", "ClusterRoleBinding"])
    roles = select(namespaced_docs, ["Role"])
    bindings = select(namespaced_docs, ["RoleBinding"])
    assert sorted(r["metadata"]["namespace"] for r in roles) == WATCHED
    assert sorted(b["metadata"]["namespace"] for b in bindings) == WATCHED
    for role in roles:
        assert permissions(role) == EXPECTED
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": FULLNAME}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert operator_command(namespaced_docs)[3:] == [f"--namespace={ns}" for ns in WATCHED]


def test_namespace_patterns_need_cluster_rights_and_namespace_watch() -> None:
    docs = render_chart(release=RELEASE, namespace=NAMESPACE, values={"watchNamespaces": ["team-*", "!team-x"]})
    assert not select(docs, ["Role", "RoleBinding"])
    assert permissions(the(docs, "ClusterRole")) == EXPECTED | NAMESPACE_WATCH
    assert operator_command(docs)[3:] == ["--namespace=team-*", "--namespace=!team-x"]


def test_every_rule_is_commented_framework_or_application() -> None:
    text = render_chart_text(release=RELEASE, namespace=NAMESPACE, show_only="templates/rbac.yaml")
    rules = text.split("rules:\n", 1)[1].split("\n---", 1)[0].splitlines()
    comment = ""
    count = 0
    for line in rules:
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = comment or stripped
        elif stripped.startswith("- apiGroups:"):
            assert comment.startswith(("# framework:", "# application:")), line
            comment = ""
            count += 1
    assert count >= 10


def test_no_rbac_when_disabled() -> None:
    docs = render_chart(release=RELEASE, namespace=NAMESPACE, values={"rbac": {"create": False}})
    assert not select(docs, ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"])


# --- values --------------------------------------------------------------------------------------------


def test_chart_defaults_are_the_operator_defaults(default_docs: list[Doc]) -> None:
    env = operator_env(default_docs)
    fields = {PREFIX + f.name.upper() for f in dataclasses.fields(OperatorConfig)}
    assert fields <= set(env), f"config fields without a chart value: {sorted(fields - set(env))}"
    assert OperatorConfig.from_env(env) == OperatorConfig()


def test_values_reach_the_deployment() -> None:
    values = {
        "image": {"repository": "registry.example/op", "tag": "1.2.3", "pullPolicy": "Always"},
        "submitterImage": {"repository": "registry.example/sub", "tag": "4.5.6"},
        "logFormat": "plain",
        "extraArgs": ["--verbose"],
        "healthPort": 9000,
        "metrics": {"port": 9100},
        "config": {"reconcileWorkers": 4, "pollConcurrency": 8, "logTailBytes": 1048576},
        "timeouts": {"statusCheck": 60, "finalizer": 2.5},
        "extraEnv": [{"name": "RAYJOB_OPERATOR_CLUSTER_DOMAIN", "value": "corp.local"}],
        "nodeSelector": {"pool": "system"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"nodeAffinity": {}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    }
    docs = render_chart(release=RELEASE, namespace=NAMESPACE, values=values)
    container = operator_container(docs)
    assert container["image"] == "registry.example/op:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert operator_command(docs) == [
        "rayjob-operator",
        "--log-format=plain",
        "--liveness=http://0.0.0.0:9000/healthz",
        "--all-namespaces",
        "--verbose",
    ]
    config = OperatorConfig.from_env({e["name"]: e["value"] for e in container["env"]})  # extraEnv comes last
    assert config.submitter_image == "registry.example/sub:4.5.6"
    assert (config.metrics_port, config.reconcile_workers, config.poll_concurrency) == (9100, 4, 8)
    assert (config.log_tail_bytes, config.status_check_timeout_seconds) == (1048576, 60.0)
    assert (config.finalizer_timeout_seconds, config.cluster_domain) == (2.5, "corp.local")
    pod = _pod_spec(docs)
    assert pod["nodeSelector"] == {"pool": "system"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert pod["affinity"] == {"nodeAffinity": {}}
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    service = the(docs, "Service")
    assert service["spec"]["ports"][0]["port"] == 9100
    assert service["metadata"]["annotations"]["prometheus.io/port"] == "9100"


def test_metrics_service_and_service_monitor(default_docs: list[Doc]) -> None:
    service = the(default_docs, "Service")
    assert service["metadata"]["name"] == f"{FULLNAME}-metrics"
    assert service["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }
    assert service["spec"]["selector"] == the(default_docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    assert not select(default_docs, ["ServiceMonitor"])

    docs = render_chart(release=RELEASE, namespace=NAMESPACE, values={"metrics": {"serviceMonitor": {"enabled": True}}})
    monitor = the(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_metrics_disabled() -> None:
    docs = render_chart(release=RELEASE, namespace=NAMESPACE, values={"metrics": {"enabled": False}})
    assert not select(docs, ["Service", "ServiceMonitor"])
    assert operator_env(docs)["RAYJOB_OPERATOR_METRICS_PORT"] == "0"
    assert [p["name"] for p in operator_container(docs)["ports"]] == ["health"]


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(HelmError, match="logFormat must be json, plain or full"):
        render_chart(release=RELEASE, namespace=NAMESPACE, values={"logFormat": "xml"})


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        return [k for key, child in node.items() for k in _leaf_keys(child, f"{prefix}{key}.")]
    return [prefix.rstrip(".")]


def test_every_value_is_documented_in_the_readme() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    missing = [key for key in _leaf_keys(values) if f"`{key}`" not in readme]
    assert not missing, f"values not documented in {CHART / 'README.md'}: {missing}"


def test_readme_states_what_happens_to_crds() -> None:
    readme = (CHART / "README.md").read_text()
    section = readme.split("## CRDs", 1)[1].split("\n## ", 1)[0]
    for phrase in ("only if it does not exist", "never** upgrades", "never** deletes"):
        assert phrase in section


# --- CRDs ----------------------------------------------------------------------------------------------


def test_chart_crds_equal_the_repository_crds() -> None:
    source = {p.name: p.read_text() for p in sorted((ROOT / "crds").glob("*.yaml"))}
    copy = {p.name: p.read_text() for p in sorted((CHART / "crds").glob("*.yaml"))}
    assert source, "no CRDs under crds/"
    assert copy == source, "charts/rayjob-operator/crds/ is stale: run scripts/sync-chart-crds.sh"


def test_sync_script_check_mode_agrees() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "sync-chart-crds.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the RBAC proof's helpers --------------------------------------------------------------------------


def test_without_permission_removes_exactly_one_permission(default_docs: list[Doc]) -> None:
    for removed in sorted(EXPECTED):
        docs = without_permission(default_docs, removed)
        assert permissions(the(docs, "ClusterRole")) == EXPECTED - {removed}, removed
    assert permissions(the(default_docs, "ClusterRole")) == EXPECTED  # the input is untouched


def test_without_permission_refuses_what_is_not_granted(namespaced_docs: list[Doc]) -> None:
    with pytest.raises(ValueError, match="no Role or ClusterRole grants list secrets"):
        without_permission(namespaced_docs, Permission("", "secrets", "list"))
    docs = without_permission(namespaced_docs, Permission("ray.io", "rayjobs/status", "update"))
    for role in select(docs, ["Role"]):
        assert permissions(role) == EXPECTED - {Permission("ray.io", "rayjobs/status", "update")}


def test_permission_reads_like_kubectl() -> None:
    assert str(Permission("ray.io", "rayjobs/status", "update")) == "update rayjobs/status.ray.io"
    assert str(Permission("", "pods", "create")) == "create pods"


def test_token_kubeconfig_keeps_the_cluster_and_drops_the_admin_credentials(tmp_path: Path) -> None:
    admin = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "other", "cluster": {"server": "https://10.0.0.1"}},
            {"name": "local", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="}},
        ],
        "users": [{"name": "admin", "user": {"client-certificate-data": "x", "client-key-data": "y"}}],
        "contexts": [{"name": "here", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "here",
    }
    config = token_kubeconfig(admin, "tok", namespace="ns")
    assert config["clusters"] == [admin["clusters"][1]]
    assert config["users"] == [{"name": "service-account", "user": {"token": "tok"}}]
    assert config["contexts"][0]["context"] == {"cluster": "local", "user": "service-account", "namespace": "ns"}
    admin_file = tmp_path / "admin.kubeconfig"
    admin_file.write_text(yaml.safe_dump(admin))
    path = write_token_kubeconfig(tmp_path / "sa" / "kubeconfig", admin_file, "tok")
    assert path.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(path.read_text())["users"][0]["user"] == {"token": "tok"}


def test_kube_version_is_the_control_plane_version() -> None:
    assert re.fullmatch(r"1\.\d+\.\d+", kube_version())
