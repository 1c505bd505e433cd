"""A RayCluster's head Service and its multi-host headless worker Service (spec §4.3), plus the head's
names, ports and addresses other builders and the RayJob controller derive from the spec. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import RayCluster

Manifest = dict[str, Any]
APP_PROTOCOL = "tcp"
DEFAULT_NAMESPACE = "default"


# --- identity ----------------------------------------------------------------------------------------------


def cluster_name(cluster: RayCluster) -> str:
    name = cluster.metadata.name
    if not name:
        raise ValueError("the RayCluster has no metadata.name")
    return name


def cluster_namespace(cluster: RayCluster) -> str:
    return cluster.metadata.namespace or DEFAULT_NAMESPACE


def head_service_name(cluster: RayCluster) -> str:
    """``headGroupSpec.headService.metadata.name`` if set, else ``<cluster>-head-svc``, never clipped
    (KubeRay's ``GenerateHeadServiceName``)."""
    override = cluster.spec.head_group_spec.head_service or {}
    custom = (override.get("metadata") or {}).get("name")
    if custom:
        return str(custom)
    return cluster_name(cluster) + constants.HEAD_SERVICE_SUFFIX


def head_service_fqdn(cluster: RayCluster, *, options: PodOptions) -> str:
    """``<head svc>.<namespace>.svc.<cluster domain>``: how workers and clients reach the head."""
    return f"{head_service_name(cluster)}.{cluster_namespace(cluster)}.svc.{options.cluster_domain}"


# --- ports -------------------------------------------------------------------------------------------------


def _head_param_port(cluster: RayCluster, key: str, default: int) -> int:
    value = (cluster.spec.head_group_spec.ray_start_params or {}).get(key)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def gcs_port(cluster: RayCluster) -> int:
    """The GCS port workers connect to: the head's ``rayStartParams.port``, default 6379."""
    return _head_param_port(cluster, "port", constants.PORT_GCS)


def metrics_port(params: Mapping[str, str] | None) -> int:
    """The metrics port of a Ray node: its ``metrics-export-port`` flag, default 8080."""
    value = (params or {}).get("metrics-export-port")
    return int(value) if value is not None and value.isdigit() else constants.PORT_METRICS


def default_head_ports(cluster: RayCluster) -> dict[str, int]:
    """KubeRay's head ports, used when the head container declares none (honouring rayStartParams ports)."""
    return {
        constants.PORT_NAME_CLIENT: _head_param_port(cluster, "ray-client-server-port", constants.PORT_CLIENT),
        constants.PORT_NAME_DASHBOARD: _head_param_port(cluster, "dashboard-port", constants.PORT_DASHBOARD),
        constants.PORT_NAME_GCS: gcs_port(cluster),
        constants.PORT_NAME_METRICS: metrics_port(cluster.spec.head_group_spec.ray_start_params),
        constants.PORT_NAME_SERVE: constants.PORT_SERVE,
    }


def _head_container_ports(cluster: RayCluster) -> list[dict[str, Any]]:
    containers = cluster.spec.head_group_spec.template.containers()
    return list((containers[0].get("ports") if containers else None) or [])


def dashboard_port(cluster: RayCluster) -> int:
    """The head container port named ``dashboard``; else the ``dashboard-port`` flag; else 8265.

    The head Service is headless by default, so its DNS name reaches the pod on any port: the
    fallback works even when the container declares ports but none named ``dashboard``.
    """
    for port in _head_container_ports(cluster):
        if port.get("name") == constants.PORT_NAME_DASHBOARD:
            return int(port["containerPort"])
    return _head_param_port(cluster, "dashboard-port", constants.PORT_DASHBOARD)


def dashboard_address(cluster: RayCluster, *, options: PodOptions) -> str:
    """``<head svc FQDN>:<dashboard port>``, without scheme (KubeRay's ``status.dashboardURL``)."""
    return f"{head_service_fqdn(cluster, options=options)}:{dashboard_port(cluster)}"


def head_service_ports(cluster: RayCluster) -> list[dict[str, Any]]:
    """Every head container port (unnamed ones as ``<port>-port``), KubeRay's defaults when there are
    none, and ``metrics`` when missing (unless its number is taken); appProtocol tcp, sorted by name.
    """
    ports: dict[str, int] = {}
    for port in _head_container_ports(cluster):
        number = int(port["containerPort"])
        ports[str(port.get("name") or f"{number}-port")] = number
    if not ports:
        ports = default_head_ports(cluster)
    metrics = metrics_port(cluster.spec.head_group_spec.ray_start_params)
    if constants.PORT_NAME_METRICS not in ports and metrics not in ports.values():
        ports[constants.PORT_NAME_METRICS] = metrics
    return [{"name": name, "port": number, "appProtocol": APP_PROTOCOL} for name, number in sorted(ports.items())]


# --- services ----------------------------------------------------------------------------------------------


def _is_cluster_ip(service_type: str | None) -> bool:
    return not service_type or service_type == "ClusterIP"


def _generated_head_service(cluster: RayCluster, *, options: PodOptions) -> Manifest:
    head = cluster.spec.head_group_spec
    selector = labels.head_selector(cluster_name(cluster))
    spec: dict[str, Any] = {
        "type": head.service_type or "ClusterIP",
        "selector": selector,
        "ports": head_service_ports(cluster),
    }
    if _is_cluster_ip(head.service_type) and not options.head_cluster_ip_service:
        spec["clusterIP"] = "None"  # a cluster has one head: no need for a virtual IP
        spec["publishNotReadyAddresses"] = True  # reach the head even while its probes fail
    metadata: dict[str, Any] = {"name": head_service_name(cluster), "namespace": cluster_namespace(cluster)}
    metadata["labels"] = dict(selector)
    if cluster.spec.head_service_annotations:
        metadata["annotations"] = dict(cluster.spec.head_service_annotations)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def _overridden_head_service(cluster: RayCluster, override: dict[str, Any]) -> Manifest:
    """The user's ``headService`` as the base: its fields kept, our selector, labels, ports and
    annotations added (ours win on conflicts), name defaulted, namespace forced, type defaulted.
    """
    service = copy.deepcopy(override)
    head = cluster.spec.head_group_spec
    selector = labels.head_selector(cluster_name(cluster))
    metadata = service.setdefault("metadata", {})
    spec = service.setdefault("spec", {})
    metadata["name"] = head_service_name(cluster)
    metadata["namespace"] = cluster_namespace(cluster)
    metadata["labels"] = labels.merge_labels(metadata.get("labels"), selector)
    metadata["annotations"] = labels.merge_labels(metadata.get("annotations"), cluster.spec.head_service_annotations)
    spec["selector"] = selector
    if not spec.get("type"):
        spec["type"] = head.service_type or "ClusterIP"
    user_ports = list(spec.get("ports") or [])
    names = {p.get("name") for p in user_ports}
    numbers = {p.get("port") for p in user_ports}
    extra = [p for p in head_service_ports(cluster) if p["name"] not in names and p["port"] not in numbers]
    spec["ports"] = user_ports + extra
    service["apiVersion"], service["kind"] = "v1", "Service"
    return service


def build_head_service(cluster: RayCluster, *, options: PodOptions) -> Manifest:
    """The head Service (``<cluster>-head-svc``), owned by the RayCluster.

    Headless by default when its type is empty or ClusterIP; a user ``headService`` is the base when given.
    """
    override = cluster.spec.head_group_spec.head_service
    if override:
        service = _overridden_head_service(cluster, override)
    else:
        service = _generated_head_service(cluster, options=options)
    owner = labels.owner_reference(cluster, kind=constants.RAYCLUSTER_KIND)
    service["metadata"]["ownerReferences"] = [owner]
    return service


def headless_worker_service_name(cluster: RayCluster) -> str:
    return cluster_name(cluster) + constants.HEADLESS_SERVICE_SUFFIX


def build_headless_worker_service(cluster: RayCluster) -> Manifest | None:
    """``<cluster>-headless`` selecting every worker, for peer DNS in multi-host groups; ``None`` without them.

    Besides KubeRay's ``ray.io/headless-worker-svc`` it carries the created-by label the operator's Service
    watch selects on, so that the Service stays in the operator's cache across re-lists.
    """
    if not any(group.num_of_hosts > 1 for group in cluster.spec.worker_groups()):
        return None
    name = cluster_name(cluster)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": headless_worker_service_name(cluster),
            "namespace": cluster_namespace(cluster),
            "labels": {constants.LABEL_HEADLESS_WORKER_SVC: name, **labels.common_labels()},
            "ownerReferences": [labels.owner_reference(cluster, kind=constants.RAYCLUSTER_KIND)],
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "None",
            "selector": labels.worker_selector(name),
            "publishNotReadyAddresses": True,  # peers must find each other before they are ready
        },
    }
