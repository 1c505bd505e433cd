"""Head and worker pods of a RayCluster (spec §4.4). Pure: the typed spec in, a Pod manifest out.

Every field of the user's pod template is kept: the builders start from a deep copy and only add
(labels, owner reference, the Ray container's command, env, ports, probes, the /dev/shm volume, the
worker's ``wait-gcs-ready`` init container). What the user already set is never replaced, except
KubeRay's own labels. Only container[0], the Ray container, is touched; other containers (such as
the SidecarMode submitter, added before this builder runs) pass through.

With ``enableInTreeAutoscaling`` the head also gets the autoscaler sidecar (see :mod:`autoscaler`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import autoscaler, labels, pod_parts, ray_start, services
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import PodTemplate, RayCluster, WorkerGroupSpec

__all__ = ["PodOptions", "build_head_pod", "build_worker_pod"]

Manifest = dict[str, Any]
DEFAULT_CRD = constants.RAYCLUSTER_KIND


def _pod_from_template(template: PodTemplate) -> tuple[dict[str, Any], dict[str, Any]]:
    """A private deep copy of the template's metadata and spec: the input model is never changed."""
    body = copy.deepcopy(template.to_dict())
    metadata = dict(body.get("metadata") or {})
    spec = dict(body.get("spec") or {})
    if not spec.get("containers"):
        raise ValueError("the pod template has no containers: container[0] must run Ray")
    return metadata, spec


def _asks_overwrite(annotations: Mapping[str, str] | None) -> bool:
    return str((annotations or {}).get(constants.ANNOTATION_OVERWRITE_CONTAINER_CMD, "")).lower() == "true"


def _overwrite_requested(cluster: RayCluster, template_metadata: Mapping[str, Any]) -> bool:
    """``ray.io/overwrite-container-cmd: "true"`` on the RayCluster or on the pod template."""
    return _asks_overwrite(cluster.metadata.annotations) or _asks_overwrite(template_metadata.get("annotations"))


def _set_command(ray: dict[str, Any], *, start_command: str, overwrite: bool) -> None:
    if overwrite or ray_start.wraps_ray_start(ray.get("command"), ray.get("args")):
        return  # the user runs Ray themselves ($KUBERAY_GEN_RAY_START_CMD holds what we would run)
    ray["command"], ray["args"] = ray_start.container_command(
        ray.get("command"), ray.get("args"), start_command=start_command
    )


def _annotations(cluster: RayCluster, template_metadata: Mapping[str, Any]) -> dict[str, str]:
    annotations = dict(template_metadata.get("annotations") or {})
    if _asks_overwrite(cluster.metadata.annotations):
        annotations[constants.ANNOTATION_OVERWRITE_CONTAINER_CMD] = "true"  # KubeRay copies it onto the pods
    return annotations


def _finish(
    cluster: RayCluster,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    *,
    generate_name: str,
    pod_labels: dict[str, str],
) -> Manifest:
    metadata.update(
        generateName=generate_name,
        namespace=services.cluster_namespace(cluster),
        labels=pod_labels,
        annotations=_annotations(cluster, metadata),
        ownerReferences=[labels.owner_reference(cluster, kind=constants.RAYCLUSTER_KIND)],
    )
    if not metadata["annotations"]:
        del metadata["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _common_injections(
    cluster: RayCluster,
    spec: dict[str, Any],
    params: dict[str, str],
    *,
    head: bool,
    overwrite: bool,
    options: PodOptions,
) -> None:
    """What head and worker pods both get: the Ray command, ports, /dev/shm, env, auth and probes."""
    ray = spec["containers"][0]
    start_command = ray_start.ray_start_command(params, head=head)
    _set_command(ray, start_command=start_command, overwrite=overwrite)
    pod_parts.add_ports(ray, {constants.PORT_NAME_METRICS: services.metrics_port(params)})
    pod_parts.add_shared_memory(spec, ray, params=params)
    crd = (cluster.metadata.labels or {}).get(constants.LABEL_ORIGINATED_FROM_CRD) or DEFAULT_CRD
    env = pod_parts.RayEnv(
        head=head,
        head_service_fqdn=services.head_service_fqdn(cluster, options=options),
        gcs_port=services.gcs_port(cluster),
        start_command=start_command,
        usage_tags=f"kuberay_version={options.operator_version};kuberay_crd={crd}",
    )
    pod_parts.add_env(ray, pod_parts.ray_container_env(env))
    for init in spec.get("initContainers") or []:
        pod_parts.add_env(init, pod_parts.init_container_env(env))
    auth = pod_parts.auth_env(cluster, cluster_name=services.cluster_name(cluster))
    for container in [ray, *(c for c in spec.get("initContainers") or [] if c.get("name") == pod_parts.WAIT_GCS_READY)]:
        pod_parts.add_env(container, auth)
    if options.inject_probes:
        pod_parts.add_probes(ray, head=head, params=params, ray_version=cluster.spec.ray_version)


def build_head_pod(cluster: RayCluster, *, options: PodOptions) -> Manifest:
    """The head pod (``generateName: <cluster>-head-``) of ``cluster``, owned by it."""
    head = cluster.spec.head_group_spec
    name = services.cluster_name(cluster)
    metadata, spec = _pod_from_template(head.template)
    ray = spec["containers"][0]
    params = ray_start.complete_start_params(
        head.ray_start_params,
        head=True,
        container_resources=ray.get("resources"),
        group_resources=head.resources,
        group_labels=head.labels,
    )
    if not ray.get("ports"):
        pod_parts.add_ports(ray, services.default_head_ports(cluster))
    if cluster.spec.autoscaling:
        params["no-monitor"] = "true"  # the sidecar is the monitor: the head's own would not know Kubernetes
        autoscaler.add_to_head(cluster, spec, auth_env=pod_parts.auth_env(cluster, cluster_name=name))
    overwrite = _overwrite_requested(cluster, metadata)
    _common_injections(cluster, spec, params, head=True, overwrite=overwrite, options=options)
    spec.setdefault("restartPolicy", "Always")
    pod_labels = labels.ray_pod_labels(
        name,
        node_type=constants.NODE_TYPE_HEAD,
        group_name=constants.HEAD_GROUP_NAME,
        user=labels.merge_labels(metadata.get("labels"), head.labels),
    )
    generate_name = labels.pod_generate_name(name, constants.NODE_TYPE_HEAD)
    return _finish(cluster, metadata, spec, generate_name=generate_name, pod_labels=pod_labels)


def _worker_labels(
    cluster: RayCluster, group: WorkerGroupSpec, metadata: dict[str, Any], *, replica: pod_parts.Replica
) -> dict[str, str]:
    name = services.cluster_name(cluster)
    indexing = {constants.LABEL_WORKER_REPLICA_INDEX: str(replica.index)}
    if group.num_of_hosts > 1:
        indexing[constants.LABEL_WORKER_REPLICA_NAME] = labels.check_label_value(replica.name)
        indexing[constants.LABEL_REPLICA_HOST_INDEX] = str(replica.host_index)
    user = labels.merge_labels(metadata.get("labels"), group.labels)
    pod_labels = labels.ray_pod_labels(
        name, node_type=constants.NODE_TYPE_WORKER, group_name=group.group_name, user=user
    )
    return {**pod_labels, **indexing}


def build_worker_pod(
    cluster: RayCluster,
    group: WorkerGroupSpec,
    *,
    replica_index: int,
    host_index: int = 0,
    replica_name: str | None = None,
    options: PodOptions,
) -> Manifest:
    """One worker pod of ``group`` (``generateName: <cluster>-<group>-worker-``), owned by ``cluster``.

    ``replica_index`` and ``host_index`` become KubeRay's multi-host indexing labels; ``replica_name``
    (multi-host groups only) defaults to ``<group>-<replica_index>``.
    """
    name = services.cluster_name(cluster)
    metadata, spec = _pod_from_template(group.template)
    metadata.pop("name", None)  # many pods share the template: the API server names them
    ray = spec["containers"][0]
    fqdn = services.head_service_fqdn(cluster, options=options)
    address = f"{fqdn}:{services.gcs_port(cluster)}"
    if options.inject_init_container and not pod_parts.has_init_container(spec, pod_parts.WAIT_GCS_READY):
        spec["initContainers"] = [*(spec.get("initContainers") or []), pod_parts.wait_gcs_ready(ray, address=address)]
    params = ray_start.complete_start_params(
        group.ray_start_params,
        head=False,
        container_resources=ray.get("resources"),
        group_resources=group.resources,
        group_labels=group.labels,
        address=address,
    )
    overwrite = _overwrite_requested(cluster, metadata)
    _common_injections(cluster, spec, params, head=False, overwrite=overwrite, options=options)
    if autoscaler.uses_v2(cluster):
        spec["restartPolicy"] = "Never"
    replica = pod_parts.Replica(
        index=replica_index, host_index=host_index, name=replica_name or f"{group.group_name}-{replica_index}"
    )
    pod_labels = _worker_labels(cluster, group, metadata, replica=replica)
    generate_name = labels.pod_generate_name(f"{name}-{group.group_name}", constants.NODE_TYPE_WORKER)
    return _finish(cluster, metadata, spec, generate_name=generate_name, pod_labels=pod_labels)
