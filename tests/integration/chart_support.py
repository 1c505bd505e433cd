"""The Helm chart in tests: render it, apply it, and act as its ServiceAccount.

Used by the chart tests and by the RBAC proof (the operator run out of cluster as the chart's
ServiceAccount, and again with one permission removed to show that the proof can fail)::

    docs = render_chart(namespace=ns, values={"watchNamespaces": [ns]})
    apply_manifests(control_plane.cp.kubectl_argv, select(docs, RBAC_KINDS | {"ServiceAccount"}))
    token = mint_token(control_plane.core_v1, ns, service_account_name(docs))
    kubeconfig = write_token_kubeconfig(tmp_path / "sa.kubeconfig", control_plane.kubeconfig, token)
    # run [*operator_command(docs)] with env {**operator_env(docs), "KUBECONFIG": str(kubeconfig)}
    broken = without_permission(docs, Permission("ray.io", "rayjobs/status", "update"))
    apply_manifests(control_plane.cp.kubectl_argv, select(broken, RBAC_KINDS))

Nothing here needs a cluster except :func:`apply_manifests` and :func:`mint_token`.
"""

from __future__ import annotations

import copy
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from rayjob_devenv.binaries import find_bin_dir

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "rayjob-operator"
VERSIONS_ENV = ROOT / "hack" / "controlplane" / "versions.env"
RBAC_KINDS = frozenset({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})
ROLE_KINDS = frozenset({"ClusterRole", "Role"})
FIELD_MANAGER = "rayjob-operator-tests"

Doc = dict[str, Any]
KubectlArgv = Callable[..., list[str]]
"""Builds a kubectl command line for a cluster, e.g. ``LocalControlPlane.kubectl_argv``."""


class HelmError(RuntimeError):
    """helm exited non-zero (the message holds its command line and stderr)."""


class Permission(NamedTuple):
    """One verb on one resource of one API group ("" is the core group), as RBAC grants it."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}{'.' + self.group if self.group else ''}"


# --- helm ----------------------------------------------------------------------------------------------


def kube_version() -> str:
    """The local control plane's Kubernetes version without the ``v`` (what --kube-version wants)."""
    for line in VERSIONS_ENV.read_text().splitlines():
        if line.startswith("KUBERNETES_VERSION="):
            return line.split("=", 1)[1].strip().lstrip("v")
    raise RuntimeError(f"no KUBERNETES_VERSION in {VERSIONS_ENV}")


def helm_binary() -> Path:
    """The helm built with the local control plane (hack/controlplane/build.sh)."""
    helm = find_bin_dir() / "helm"
    if not os.access(helm, os.X_OK):
        raise FileNotFoundError(f"{helm} is missing: run hack/controlplane/build.sh or scripts/bootstrap.sh")
    return helm


def run_helm(*args: str, kubeconfig: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run helm with private cache/config/data directories; raise :class:`HelmError` if it fails."""
    with tempfile.TemporaryDirectory(prefix="helm-home-") as home:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
        }
        env.pop("KUBECONFIG", None)
        argv = [str(helm_binary()), *args]
        if kubeconfig is not None:
            argv.append(f"--kubeconfig={kubeconfig}")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        raise HelmError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}{done.stdout[-2000:]}")
    return done


def render_chart_text(
    *,
    release: str = "rayjob-operator",
    namespace: str = "rayjob-system",
    values: Mapping[str, Any] | None = None,
    include_crds: bool = False,
    show_only: str | None = None,
) -> str:
    """``helm template`` of the chart (for the control plane's Kubernetes version), as text."""
    with tempfile.TemporaryDirectory(prefix="chart-values-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(dict(values or {})))
        args = ["template", release, str(CHART), f"--namespace={namespace}", f"--kube-version={kube_version()}"]
        args += [f"--values={values_file}"]
        if include_crds:
            args.append("--include-crds")
        if show_only:
            args.append(f"--show-only={show_only}")
        return run_helm(*args).stdout


def render_chart(**kwargs: Any) -> list[Doc]:
    """The rendered chart as a list of objects (arguments as for :func:`render_chart_text`)."""
    return parse_manifests(render_chart_text(**kwargs))


def parse_manifests(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def select(docs: Iterable[Doc], kinds: Iterable[str]) -> list[Doc]:
    wanted = set(kinds)
    return [doc for doc in docs if doc.get("kind") in wanted]


def the(docs: Iterable[Doc], kind: str) -> Doc:
    """The only object of ``kind``."""
    found = select(docs, [kind])
    if len(found) != 1:
        raise LookupError(f"expected one {kind}, found {len(found)}")
    return found[0]


# --- what the rendered chart says ----------------------------------------------------------------------


def service_account_name(docs: Iterable[Doc]) -> str:
    deployment = the(docs, "Deployment")
    return str(deployment["spec"]["template"]["spec"]["serviceAccountName"])


def operator_container(docs: Iterable[Doc]) -> Doc:
    containers = the(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "operator")


def operator_command(docs: Iterable[Doc]) -> list[str]:
    """The operator's command line as the Deployment runs it (``rayjob-operator`` plus its args)."""
    container = operator_container(docs)
    return [*container.get("command", []), *container.get("args", [])]


def operator_env(docs: Iterable[Doc]) -> dict[str, str]:
    """The operator's plain env vars (``value`` ones; ``valueFrom`` ones are left out)."""
    return {e["name"]: e["value"] for e in operator_container(docs).get("env", []) if "value" in e}


def permissions(role: Doc) -> set[Permission]:
    """Every (group, resource, verb) a Role or ClusterRole grants."""
    granted: set[Permission] = set()
    for rule in role.get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                granted.update(Permission(group, resource, verb) for verb in rule.get("verbs") or [])
    return granted


def without_permission(docs: Iterable[Doc], permission: Permission) -> list[Doc]:
    """A copy of ``docs`` whose Roles and ClusterRoles no longer grant ``permission``.

    Rules that grant it are split so that everything else they grant stays granted. Raises
    ``ValueError`` if no role grants it (a typo must not yield a proof that proves nothing).
    """
    result = copy.deepcopy(list(docs))
    removed = False
    for doc in result:
        if doc.get("kind") not in ROLE_KINDS:
            continue
        rules: list[Doc] = []
        for rule in doc.get("rules") or []:
            split = _split_rule(rule, permission)
            removed = removed or split != [rule]
            rules.extend(split)
        doc["rules"] = rules
    if not removed:
        raise ValueError(f"no Role or ClusterRole grants {permission}")
    return result


def _split_rule(rule: Doc, permission: Permission) -> list[Doc]:
    groups, resources, verbs = rule.get("apiGroups") or [], rule.get("resources") or [], rule.get("verbs") or []
    if "*" in groups or "*" in resources or "*" in verbs:
        raise ValueError(f"cannot remove one permission from a wildcard rule: {rule}")
    if permission.group not in groups or permission.resource not in resources or permission.verb not in verbs:
        return [rule]
    parts: list[Doc] = []
    other_groups = [g for g in groups if g != permission.group]
    if other_groups:
        parts.append({**rule, "apiGroups": other_groups})
    other_resources = [r for r in resources if r != permission.resource]
    if other_resources:
        parts.append({**rule, "apiGroups": [permission.group], "resources": other_resources})
    other_verbs = [v for v in verbs if v != permission.verb]
    if other_verbs:
        parts.append(
            {**rule, "apiGroups": [permission.group], "resources": [permission.resource], "verbs": other_verbs}
        )
    return parts


# --- acting on a cluster -------------------------------------------------------------------------------


def apply_manifests(kubectl_argv: KubectlArgv, docs: Iterable[Doc], *, timeout: float = 60) -> str:
    """Server-side apply ``docs`` (a Role's rules are replaced as a whole). Returns kubectl's output."""
    text = yaml.safe_dump_all(list(docs), sort_keys=False)
    argv = kubectl_argv("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-")
    done = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl apply failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def mint_token(core_v1: Any, namespace: str, service_account: str, *, seconds: int = 3600) -> str:
    """A token of the ServiceAccount from the TokenRequest API (``kubernetes.client.CoreV1Api``)."""
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}}
    response = core_v1.create_namespaced_service_account_token(service_account, namespace, request)
    token = response.status.token
    if not token:
        raise RuntimeError(f"the TokenRequest for {namespace}/{service_account} returned no token")
    return str(token)


def token_kubeconfig(admin: Mapping[str, Any], token: str, *, namespace: str | None = None) -> Doc:
    """A kubeconfig for the cluster of ``admin``'s current context, authenticating with ``token`` only."""
    context_name = admin["current-context"]
    context = next(c["context"] for c in admin["contexts"] if c["name"] == context_name)
    cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    new_context: Doc = {"cluster": cluster["name"], "user": "service-account"}
    if namespace:
        new_context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [copy.deepcopy(cluster)],
        "users": [{"name": "service-account", "user": {"token": token}}],
        "contexts": [{"name": "service-account", "context": new_context}],
        "current-context": "service-account",
    }


def write_token_kubeconfig(path: Path, admin_kubeconfig: Path, token: str, *, namespace: str | None = None) -> Path:
    """Write :func:`token_kubeconfig` of the admin kubeconfig file to ``path`` (mode 0600)."""
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(token_kubeconfig(admin, token, namespace=namespace), sort_keys=False))
    path.chmod(0o600)
    return path
