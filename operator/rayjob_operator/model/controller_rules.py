"""The rules only the controller can check (no CEL form): YAML/JSON parsing, Ray versions, the head's ports,
unique group names, label syntax. ``validation`` reports them with the CEL-expressible ones."""

from __future__ import annotations

import json
import re

import yaml

from rayjob_operator import constants
from rayjob_operator.model import rules
from rayjob_operator.model.base import Rule
from rayjob_operator.model.enums import AuthMode
from rayjob_operator.model.raycluster import RayClusterSpec
from rayjob_operator.model.rayjob import RayJobSpec
from rayjob_operator.model.violation import Violation

_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def controller_only_violations(spec: RayJobSpec) -> list[Violation]:
    found: list[Violation] = []
    if spec.runtime_env_yaml:
        found += _runtime_env_violations(spec.runtime_env_yaml)
    if spec.entrypoint_resources:
        found += _entrypoint_resources_violations(spec.entrypoint_resources)
    cluster = spec.ray_cluster_spec
    if cluster is not None:
        found += _version_violations(spec, cluster)
        found += _dashboard_port_violations(cluster)
    return found


def _runtime_env_violations(text: str) -> list[Violation]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [Violation(rules.RUNTIME_ENV_YAML_MAPPING, " ".join(str(exc).split()))]
    if value is not None and not isinstance(value, dict):
        return [Violation(rules.RUNTIME_ENV_YAML_MAPPING, f"got a {type(value).__name__}")]
    return []


def parse_entrypoint_resources(text: str) -> dict[str, float]:
    """``spec.entrypointResources`` as Ray wants it; raises ValueError with the reason."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"got a {type(value).__name__}")
    bad = [k for k, v in value.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise ValueError(f"not a number: {', '.join(sorted(bad))}")
    return {str(k): float(v) for k, v in value.items()}


def _entrypoint_resources_violations(text: str) -> list[Violation]:
    try:
        parse_entrypoint_resources(text)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return [Violation(rules.ENTRYPOINT_RESOURCES_JSON, str(exc))]
    return []


def parse_ray_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _version_violations(spec: RayJobSpec, cluster: RayClusterSpec) -> list[Violation]:
    needs: list[tuple[Rule, tuple[int, int, int]]] = []
    if spec.metadata:
        needs.append((rules.METADATA_NEEDS_RAY_2_6, (2, 6, 0)))
    if cluster.auth_options and cluster.auth_options.mode == AuthMode.TOKEN:
        needs.append((rules.TOKEN_AUTH_NEEDS_RAY_2_52, (2, 52, 0)))
    if not needs or cluster.ray_version is None:
        return []
    version = parse_ray_version(cluster.ray_version)
    if version is None:
        return [Violation(rules.RAY_VERSION_PARSE, repr(cluster.ray_version))]
    return [Violation(rule, f"rayVersion is {cluster.ray_version}") for rule, least in needs if version < least]


def _dashboard_port_violations(cluster: RayClusterSpec) -> list[Violation]:
    head = cluster.head_group_spec
    override_ports = ((head.head_service or {}).get("spec") or {}).get("ports")
    containers = head.template.containers()
    ports = override_ports if override_ports else (containers[0].get("ports") if containers else None)
    if ports and not any(p.get("name") == constants.PORT_NAME_DASHBOARD for p in ports):
        return [Violation(rules.HEAD_DASHBOARD_PORT)]
    return []


def labels_violations(cluster: RayClusterSpec) -> list[Violation]:
    groups: list[tuple[str, dict[str, str] | None]] = [("headGroupSpec", cluster.head_group_spec.labels)]
    groups += [(f"group {g.group_name!r}", g.labels) for g in cluster.worker_groups()]
    found = []
    for where, labels in groups:
        bad = [k for k, v in (labels or {}).items() if not (_valid_label_key(k) and _valid_label_value(v))]
        if bad:
            found.append(Violation(rules.GROUP_LABELS_VALID, f"{where}: {', '.join(sorted(bad))}"))
    return found


def _valid_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _valid_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_NAME.match(value))
