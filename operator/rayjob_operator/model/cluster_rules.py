"""RayCluster rules only the controller checks: the in-tree autoscaler's, and the options the operator
cannot honour yet (refused with a reason rather than silently ignored). ``validation`` reports them."""

from __future__ import annotations

from collections.abc import Iterator

from rayjob_operator.model import rules
from rayjob_operator.model.base import Rule
from rayjob_operator.model.enums import AutoscalerVersion
from rayjob_operator.model.raycluster import RayClusterSpec
from rayjob_operator.model.violation import Violation

AUTOSCALER_V2_ENV = "RAY_enable_autoscaler_v2"
GENERATED_AUTOSCALER_COMMAND_ENV = "KUBERAY_GEN_AUTOSCALER_START_CMD"
_TRUE = ("1", "true")


def head_env_value(spec: RayClusterSpec, name: str) -> str | None:
    """The plain value of env ``name`` in the head's Ray container, if it sets one."""
    containers = spec.head_group_spec.template.containers()
    for item in (containers[0].get("env") or []) if containers else []:
        if item.get("name") == name:
            return str(item.get("value") or "")
    return None


def autoscaler_version(spec: RayClusterSpec) -> AutoscalerVersion | None:
    """The autoscaler version asked for: ``autoscalerOptions.version``, else the head's v2 env switch."""
    options = spec.autoscaler_options
    if options is not None and options.version is not None:
        return options.version
    value = head_env_value(spec, AUTOSCALER_V2_ENV)
    if value is None:
        return None
    return AutoscalerVersion.V2 if value.lower() in _TRUE else AutoscalerVersion.V1


def cluster_controller_violations(spec: RayClusterSpec) -> list[Violation]:
    found = [Violation(rule) for rule in _unsupported(spec)]
    found += list(_autoscaler_violations(spec))
    return found


def _unsupported(spec: RayClusterSpec) -> Iterator[Rule]:
    if spec.gcs_fault_tolerance_options is not None:
        yield rules.GCS_FAULT_TOLERANCE_UNSUPPORTED
    if spec.tls_options is not None:
        yield rules.TLS_UNSUPPORTED
    if spec.network_policy is not None:
        yield rules.NETWORK_POLICY_UNSUPPORTED
    if spec.head_group_spec.enable_ingress:
        yield rules.INGRESS_UNSUPPORTED
    if spec.history_server_options is not None:
        yield rules.HISTORY_SERVER_UNSUPPORTED


def _autoscaler_violations(spec: RayClusterSpec) -> Iterator[Violation]:
    options = spec.autoscaler_options
    env_v2 = head_env_value(spec, AUTOSCALER_V2_ENV)
    if not spec.autoscaling and env_v2 is not None and env_v2.lower() in _TRUE:
        yield Violation(rules.AUTOSCALER_V2_ENV_WITHOUT_AUTOSCALING)
    if options is not None:
        if options.idle_timeout_seconds is not None and options.idle_timeout_seconds < 0:
            yield Violation(rules.AUTOSCALER_IDLE_TIMEOUT_NON_NEGATIVE, f"got {options.idle_timeout_seconds}")
        if any(e.get("name") == GENERATED_AUTOSCALER_COMMAND_ENV for e in options.env or []):
            yield Violation(rules.AUTOSCALER_GENERATED_COMMAND_RESERVED)
    if spec.autoscaling and options is not None and options.version is not None and env_v2 is not None:
        yield Violation(rules.AUTOSCALER_VERSION_AND_ENV)
    if spec.autoscaling and options is not None and options.version == AutoscalerVersion.V2:
        yield from _v2_restart_policies(spec)
    v2 = spec.autoscaling and autoscaler_version(spec) == AutoscalerVersion.V2
    for group in spec.worker_groups():
        timeout = group.idle_timeout_seconds
        if timeout is not None and (not v2 or timeout < 0):
            yield Violation(rules.GROUP_IDLE_TIMEOUT_NEEDS_V2, f"group {group.group_name!r}")


def _v2_restart_policies(spec: RayClusterSpec) -> Iterator[Violation]:
    templates = [("the head", spec.head_group_spec.template)]
    templates += [(f"group {g.group_name!r}", g.template) for g in spec.worker_groups()]
    for where, template in templates:
        policy = template.spec.restart_policy if template.spec else None
        if policy not in (None, "", "Never"):
            yield Violation(rules.AUTOSCALER_V2_RESTART_NEVER, f"{where} has {policy}")
