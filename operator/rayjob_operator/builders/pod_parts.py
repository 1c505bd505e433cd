"""The pieces KubeRay adds to a Ray pod (spec §4.4): env, ports, /dev/shm, probes, the init container.

Each ``add_*`` function changes the (already deep-copied) container or pod spec it is given, and only
adds: a port, env var, volume mount or probe the user already has is left as it is.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import auth
from rayjob_operator.model.enums import AuthMode
from rayjob_operator.model.raycluster import RayCluster

WAIT_GCS_READY = "wait-gcs-ready"
SHARED_MEMORY_VOLUME = "shared-mem"
SHARED_MEMORY_PATH = "/dev/shm"
INIT_CONTAINER_RESOURCES = {"cpu": "200m", "memory": "256Mi"}
HTTP_HEALTH_MIN_RAY = (2, 53)
HEALTH_PATH = "/api/healthz"
RAYLET_HEALTH_PATH = "/api/local_raylet_healthz"
GCS_HEALTH_PATH = "/api/gcs_healthz"
_RAY_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


@dataclasses.dataclass(frozen=True)
class Replica:
    """Where a worker pod sits in its group: replica index, host index, replica (slice) name."""

    index: int
    host_index: int
    name: str


@dataclasses.dataclass(frozen=True)
class RayEnv:
    """What the env injected into a Ray pod depends on."""

    head: bool
    head_service_fqdn: str
    gcs_port: int
    start_command: str
    usage_tags: str
    """``RAY_USAGE_STATS_EXTRA_TAGS`` (head only): ``kuberay_version=…;kuberay_crd=…``."""


# --- env ---------------------------------------------------------------------------------------------------


def _value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def _field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def add_env(container: dict[str, Any], env: Iterable[dict[str, Any]]) -> None:
    """Append each variable the container does not define yet (by name)."""
    current = list(container.get("env") or [])
    names = {e.get("name") for e in current}
    added = [e for e in env if e["name"] not in names]
    if added:
        container["env"] = current + added


def _head_service_env(fqdn: str) -> list[dict[str, Any]]:
    return [_value("FQ_RAY_IP", fqdn), _value("RAY_IP", fqdn.split(".", 1)[0])]


def ray_container_env(env: RayEnv) -> list[dict[str, Any]]:
    """KubeRay's env for the Ray container, in KubeRay's order."""
    host = "127.0.0.1" if env.head else env.head_service_fqdn
    out = [] if env.head else _head_service_env(env.head_service_fqdn)
    out += [
        _field("RAY_CLUSTER_NAME", f"metadata.labels['{constants.LABEL_CLUSTER}']"),
        _field("RAY_CLUSTER_NAMESPACE", "metadata.namespace"),
        _field("RAY_CLOUD_INSTANCE_ID", "metadata.name"),
        _field("RAY_NODE_TYPE_NAME", f"metadata.labels['{constants.LABEL_GROUP}']"),
        _value("KUBERAY_GEN_RAY_START_CMD", env.start_command),
        _value("RAY_PORT", str(env.gcs_port)),
        _value("RAY_ADDRESS", f"{host}:{env.gcs_port}"),
        _value("RAY_USAGE_STATS_KUBERAY_IN_USE", "1"),
    ]
    if env.head:
        out.append(_value("RAY_USAGE_STATS_EXTRA_TAGS", env.usage_tags))
    out.append(_value("RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE", "1"))
    return out


def init_container_env(env: RayEnv) -> list[dict[str, Any]]:
    """Every init container (head and worker) can find the head: ``FQ_RAY_IP`` and ``RAY_IP``."""
    return _head_service_env(env.head_service_fqdn)


def auth_env(cluster: RayCluster, *, cluster_name: str) -> list[dict[str, Any]]:
    """``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` from the auth Secret, when token auth is on."""
    if not auth.token_auth_enabled(cluster.spec):
        return []
    secret = auth.auth_secret_name(cluster.spec, cluster_name)
    token = {"secretKeyRef": {"name": secret, "key": auth.AUTH_TOKEN_SECRET_KEY}}
    return [_value("RAY_AUTH_MODE", AuthMode.TOKEN.value), {"name": "RAY_AUTH_TOKEN", "valueFrom": token}]


# --- ports and volumes -------------------------------------------------------------------------------------


def add_ports(container: dict[str, Any], wanted: Mapping[str, int]) -> None:
    """Add each named port whose name and number the container does not use yet."""
    ports = list(container.get("ports") or [])
    names = {p.get("name") for p in ports}
    numbers = {p.get("containerPort") for p in ports}
    for name, number in wanted.items():
        if name not in names and number not in numbers:
            ports.append({"name": name, "containerPort": number})
            names.add(name)
            numbers.add(number)
    container["ports"] = ports


def _memory_size(container: Mapping[str, Any]) -> str | None:
    resources = container.get("resources") or {}
    for kind in ("limits", "requests"):
        memory = (resources.get(kind) or {}).get("memory")
        if memory is not None:
            return str(memory)
    return None


def add_shared_memory(spec: dict[str, Any], ray: dict[str, Any], *, params: Mapping[str, str]) -> None:
    """Mount a memory-backed emptyDir at /dev/shm for Ray's object store (KubeRay's ``shared-mem``).

    Skipped when ``plasma-directory`` moves the object store elsewhere or /dev/shm is already mounted.
    """
    mounts = list(ray.get("volumeMounts") or [])
    if "plasma-directory" in params or any(m.get("mountPath") == SHARED_MEMORY_PATH for m in mounts):
        return
    volumes = list(spec.get("volumes") or [])
    if not any(v.get("name") == SHARED_MEMORY_VOLUME for v in volumes):
        empty_dir: dict[str, Any] = {"medium": "Memory"}
        size = _memory_size(ray)
        if size is not None:
            empty_dir["sizeLimit"] = size
        spec["volumes"] = [*volumes, {"name": SHARED_MEMORY_VOLUME, "emptyDir": empty_dir}]
    ray["volumeMounts"] = [*mounts, {"name": SHARED_MEMORY_VOLUME, "mountPath": SHARED_MEMORY_PATH}]


# --- init container ----------------------------------------------------------------------------------------


def has_init_container(spec: Mapping[str, Any], name: str) -> bool:
    return any(c.get("name") == name for c in spec.get("initContainers") or [])


def _wait_script(address: str) -> str:
    return "\n".join(
        [
            "SECONDS=0",
            "while true; do",
            f"  if output=$(ray health-check --address {address} 2>&1); then",
            f'    echo "wait-gcs-ready: the GCS at {address} is ready after ${{SECONDS}}s."',
            "    break",
            "  fi",
            f'  echo "wait-gcs-ready: waiting for the GCS at {address} (${{SECONDS}}s so far); next check in 5s."',
            '  if (( SECONDS > 120 )); then echo "$output"; fi',
            "  sleep 5",
            "done",
        ]
    )


def wait_gcs_ready(ray: Mapping[str, Any], *, address: str) -> dict[str, Any]:
    """The worker init container that blocks until the head's GCS answers ``ray health-check``.

    It runs in the Ray image with the Ray container's env, volume mounts and security context (TLS
    settings live there), and fixed small resources (a GPU-sized request would be wasted on it).
    """
    init: dict[str, Any] = {"name": WAIT_GCS_READY, "image": ray.get("image")}
    if ray.get("imagePullPolicy"):
        init["imagePullPolicy"] = ray["imagePullPolicy"]
    init["command"] = ["/bin/bash", "-c", "--"]
    init["args"] = [_wait_script(address)]
    for key in ("securityContext", "env", "volumeMounts"):
        if ray.get(key):
            init[key] = copy.deepcopy(ray[key])
    init["resources"] = {"limits": dict(INIT_CONTAINER_RESOURCES), "requests": dict(INIT_CONTAINER_RESOURCES)}
    return init


# --- probes ------------------------------------------------------------------------------------------------


def http_health_supported(ray_version: str | None) -> bool:
    """Ray ≥ 2.53 serves one ``/api/healthz`` on the dashboard agent; an unknown version counts as new."""
    match = _RAY_VERSION.match((ray_version or "").strip())
    if match is None:
        return True
    return (int(match.group(1)), int(match.group(2))) >= HTTP_HEALTH_MIN_RAY


def _port(params: Mapping[str, str], key: str, default: int) -> int:
    value = params.get(key, "")
    return int(value) if value.isdigit() else default


def _wget_check(port: int, path: str, timeout: int) -> str:
    return f"wget --tries=1 -T {timeout} -q -O- http://localhost:{port}{path} | grep -q success"


def _probe_action(*, head: bool, params: Mapping[str, str], http: bool, timeout: int) -> dict[str, Any]:
    agent = _port(params, "dashboard-agent-listen-port", constants.PORT_DASHBOARD_AGENT)
    if http:
        return {"httpGet": {"path": HEALTH_PATH, "port": agent}}
    checks = [_wget_check(agent, RAYLET_HEALTH_PATH, timeout)]
    if head:
        dashboard = _port(params, "dashboard-port", constants.PORT_DASHBOARD)
        checks.append(_wget_check(dashboard, GCS_HEALTH_PATH, timeout))
    return {"exec": {"command": ["bash", "-c", " && ".join(checks)]}}


def add_probes(ray: dict[str, Any], *, head: bool, params: Mapping[str, str], ray_version: str | None) -> None:
    """Readiness and liveness probes on the Ray container, each only if the user has not defined it."""
    http = http_health_supported(ray_version)
    timeout = 5 if head else 2
    timings = {
        "readinessProbe": {"initialDelaySeconds": 10, "failureThreshold": 10},
        "livenessProbe": {"initialDelaySeconds": 30, "failureThreshold": 120},
    }
    for key, timing in timings.items():
        if ray.get(key) is None:
            ray[key] = {
                **_probe_action(head=head, params=params, http=http, timeout=timeout),
                "initialDelaySeconds": timing["initialDelaySeconds"],
                "timeoutSeconds": timeout,
                "periodSeconds": 5,
                "successThreshold": 1,
                "failureThreshold": timing["failureThreshold"],
            }
