"""The in-tree autoscaler (``enableInTreeAutoscaling: true``), as KubeRay builds it. Pure.

- the head pod gets an ``autoscaler`` container running ``ray kuberay-autoscaler`` (the head's Ray image
  unless ``autoscalerOptions.image``; 500m CPU / 512Mi by default), a ``ray-logs`` emptyDir at /tmp/ray shared
  with the Ray container, the ServiceAccount below, and ``--no-monitor`` on its ``ray start``;
- ``autoscalerOptions.version: v2`` sets ``RAY_enable_autoscaler_v2=true`` on the head's Ray container and
  ``restartPolicy: Never`` on head and workers (``v1`` sets the variable to ``false``);
- a ServiceAccount (the head template's ``serviceAccountName``, else the cluster's name), a Role that may read
  and patch pods and patch the RayCluster, and a RoleBinding, all owned by the RayCluster. A ServiceAccount the
  user names in the head template is the user's to create.
"""

from __future__ import annotations

import copy
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels, pod_parts, ray_start
from rayjob_operator.model.cluster_rules import AUTOSCALER_V2_ENV, GENERATED_AUTOSCALER_COMMAND_ENV
from rayjob_operator.model.enums import AutoscalerVersion
from rayjob_operator.model.raycluster import AutoscalerOptions, RayCluster

Manifest = dict[str, Any]
CONTAINER_NAME = "autoscaler"
LOG_VOLUME = "ray-logs"
LOG_PATH = "/tmp/ray"
DEFAULT_RESOURCES = {"cpu": "500m", "memory": "512Mi"}
START_COMMAND = "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
RBAC_API_GROUP = "rbac.authorization.k8s.io"
ROLE_RULES = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
    {"apiGroups": [constants.GROUP], "resources": [constants.RAYCLUSTER_PLURAL], "verbs": ["get", "patch"]},
)


# --- names -------------------------------------------------------------------------------------------------


def _head_pod_spec(cluster: RayCluster) -> dict[str, Any]:
    return (cluster.spec.head_group_spec.template.to_dict().get("spec")) or {}


def user_service_account(cluster: RayCluster) -> str | None:
    """The ServiceAccount the head template names, if any (the user creates it)."""
    return _head_pod_spec(cluster).get("serviceAccountName") or None


def service_account_name(cluster: RayCluster) -> str:
    return labels.check_name(user_service_account(cluster) or cluster.metadata.name or "")


def role_name(cluster: RayCluster) -> str:
    """Name of the Role and of the RoleBinding."""
    return labels.check_name(cluster.metadata.name or "")


# --- the head pod ------------------------------------------------------------------------------------------


def _value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def _field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _override(container: dict[str, Any], options: AutoscalerOptions | None) -> None:
    """autoscalerOptions on top: resources, image, pull policy and security context replace; env, envFrom and
    volume mounts are appended; command and args replace the generated ones."""
    if options is None:
        return
    for key, value in (
        ("resources", options.resources),
        ("image", options.image),
        ("imagePullPolicy", options.image_pull_policy),
        ("securityContext", options.security_context),
        ("command", options.command),
        ("args", options.args),
    ):
        if value:
            container[key] = copy.deepcopy(value)
    for key, extra in (("env", options.env), ("envFrom", options.env_from), ("volumeMounts", options.volume_mounts)):
        if extra:
            container[key] = [*(container.get(key) or []), *copy.deepcopy(extra)]


def autoscaler_container(cluster: RayCluster, *, ray_image: str | None, auth_env: list[dict[str, Any]]) -> Manifest:
    """The ``autoscaler`` container of the head pod (KubeRay's ``BuildAutoscalerContainer`` plus overrides)."""
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": ray_image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            _field("RAY_CLUSTER_NAME", f"metadata.labels['{constants.LABEL_CLUSTER}']"),
            _field("RAY_CLUSTER_NAMESPACE", "metadata.namespace"),
            _field("RAY_HEAD_POD_NAME", "metadata.name"),
            _value("KUBERAY_CRD_VER", constants.VERSION),
            _value(GENERATED_AUTOSCALER_COMMAND_ENV, START_COMMAND),
        ],
        "command": list(ray_start.SHELL_COMMAND),
        "args": [START_COMMAND],
        "resources": {"limits": dict(DEFAULT_RESOURCES), "requests": dict(DEFAULT_RESOURCES)},
    }
    pod_parts.add_env(container, auth_env)
    _override(container, cluster.spec.autoscaler_options)
    return container


def _add_log_volume(spec: dict[str, Any], container: dict[str, Any]) -> None:
    """An emptyDir at /tmp/ray: the autoscaler writes the logs the Ray head reads (its event log)."""
    mounts = list(container.get("volumeMounts") or [])
    if any(m.get("mountPath") == LOG_PATH for m in mounts):
        return
    volumes = list(spec.get("volumes") or [])
    if not any(v.get("name") == LOG_VOLUME for v in volumes):
        spec["volumes"] = [*volumes, {"name": LOG_VOLUME, "emptyDir": {}}]
    container["volumeMounts"] = [*mounts, {"name": LOG_VOLUME, "mountPath": LOG_PATH}]


def version_env(cluster: RayCluster) -> list[dict[str, Any]]:
    """``RAY_enable_autoscaler_v2`` on the head's Ray container when ``autoscalerOptions.version`` is set."""
    options = cluster.spec.autoscaler_options
    if options is None or options.version is None:
        return []
    return [_value(AUTOSCALER_V2_ENV, "true" if options.version == AutoscalerVersion.V2 else "false")]


def uses_v2(cluster: RayCluster) -> bool:
    """``autoscalerOptions.version: v2`` with autoscaling on (pods then never restart in place)."""
    options = cluster.spec.autoscaler_options
    return cluster.spec.autoscaling and options is not None and options.version == AutoscalerVersion.V2


def add_to_head(cluster: RayCluster, spec: dict[str, Any], *, auth_env: list[dict[str, Any]]) -> None:
    """Add the sidecar, its log volume, the ServiceAccount and the version switch to the head pod spec."""
    ray = spec["containers"][0]
    spec["serviceAccountName"] = service_account_name(cluster)
    sidecar = autoscaler_container(cluster, ray_image=ray.get("image"), auth_env=auth_env)
    spec["containers"] = [*spec["containers"], sidecar]
    pod_parts.add_env(ray, version_env(cluster))
    if uses_v2(cluster):
        spec["restartPolicy"] = "Never"
    _add_log_volume(spec, ray)
    _add_log_volume(spec, sidecar)


# --- RBAC --------------------------------------------------------------------------------------------------


def _metadata(cluster: RayCluster, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": cluster.metadata.namespace,
        "labels": {constants.LABEL_CLUSTER: cluster.metadata.name or "", **labels.common_labels()},
        "ownerReferences": [labels.owner_reference(cluster, kind=constants.RAYCLUSTER_KIND)],
    }


def build_service_account(cluster: RayCluster) -> Manifest:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(cluster, service_account_name(cluster))}


def build_role(cluster: RayCluster) -> Manifest:
    return {
        "apiVersion": f"{RBAC_API_GROUP}/v1",
        "kind": "Role",
        "metadata": _metadata(cluster, role_name(cluster)),
        "rules": copy.deepcopy(list(ROLE_RULES)),
    }


def build_role_binding(cluster: RayCluster) -> Manifest:
    return {
        "apiVersion": f"{RBAC_API_GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(cluster, role_name(cluster)),
        "subjects": [
            {"kind": "ServiceAccount", "name": service_account_name(cluster), "namespace": cluster.metadata.namespace}
        ],
        "roleRef": {"apiGroup": RBAC_API_GROUP, "kind": "Role", "name": role_name(cluster)},
    }
