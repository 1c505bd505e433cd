"""The controller's validation of a RayJob (``validate_rayjob``), run before anything is created.

It reports the same messages as the CRD's CEL rules (both come from :mod:`rules`), plus the rules CEL
cannot express. Every violation is reported, not only the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic

from rayjob_operator import constants
from rayjob_operator.model import rules
from rayjob_operator.model.base import Crd, KubeModel, Rule, merge_markers, split_annotated
from rayjob_operator.model.cluster_rules import cluster_controller_violations
from rayjob_operator.model.controller_rules import controller_only_violations, labels_violations
from rayjob_operator.model.enums import DeletionPolicyType, JobDeploymentStatus, SubmissionMode
from rayjob_operator.model.event_reasons import EventReason
from rayjob_operator.model.raycluster import HeadGroupSpec, RayClusterSpec, WorkerGroupSpec
from rayjob_operator.model.rayjob import DeletionStrategy, RayJob, RayJobSpec
from rayjob_operator.model.violation import Violation

SCHEMA_RULE = Rule("schema", "the manifest does not match the RayJob schema")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


class InvalidSpec(Exception):
    """A RayJob that can never run as written; the message names each field and rule."""

    def __init__(self, violations: list[Violation], *, reason: EventReason = EventReason.INVALID_RAYJOB_SPEC) -> None:
        self.violations = violations
        self.reason = reason
        """The event reason, after the part that is invalid (as KubeRay: metadata, then spec, then status)."""
        super().__init__("; ".join(str(v) for v in violations))

    @property
    def rule_ids(self) -> list[str]:
        return [v.rule.id for v in self.violations]


def validate_rayjob(body: Mapping[str, Any]) -> RayJob:
    """Parse and check a RayJob body; raise :class:`InvalidSpec` listing every violation."""
    try:
        job = RayJob.model_validate(body)
    except pydantic.ValidationError as exc:
        raise InvalidSpec(list(_schema_violations(exc))) from None
    metadata, spec, status = list(_metadata_violations(job)), spec_violations(job.spec), list(_status_violations(job))
    if metadata or spec or status:
        reason = (
            EventReason.INVALID_RAYJOB_METADATA
            if metadata
            else EventReason.INVALID_RAYJOB_SPEC
            if spec
            else EventReason.INVALID_RAYJOB_STATUS
        )
        raise InvalidSpec([*metadata, *spec, *status], reason=reason)
    return job


def spec_violations(spec: RayJobSpec) -> list[Violation]:
    """Every rule a RayJob spec breaks (CEL-expressible ones first, in CRD order)."""
    found = [Violation(r) for r in _job_rules(spec)]
    if spec.deletion_strategy is not None:
        found += [Violation(r) for r in _strategy_rules(spec.deletion_strategy)]
    if spec.ray_cluster_spec is not None:
        found += cluster_spec_violations(spec.ray_cluster_spec)
    found += controller_only_violations(spec)
    return found


def cluster_spec_violations(spec: RayClusterSpec) -> list[Violation]:
    found = [Violation(r) for r in _head_rules(spec.head_group_spec)]
    for group in spec.worker_groups():
        found += [Violation(r, f"group {group.group_name!r}") for r in _worker_rules(group)]
    if spec.enable_in_tree_autoscaling and any(g.suspend for g in spec.worker_groups()):
        found.append(Violation(rules.SUSPEND_WORKERS_WITH_AUTOSCALING))
    names = [g.group_name for g in spec.worker_groups()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        found.append(Violation(rules.WORKER_GROUP_NAMES_UNIQUE, ", ".join(duplicates)))
    found += labels_violations(spec)
    found += cluster_controller_violations(spec)
    return found


# --- schema errors ------------------------------------------------------------------------------------


def _schema_violations(exc: pydantic.ValidationError) -> Iterator[Violation]:
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = _dotted(loc)
        field_rules = _field_rules(RayJob, loc) if error["type"] in ("enum", "literal_error") else ()
        if field_rules:
            for rule in field_rules:
                yield Violation(rule, f"got {error.get('input')!r}")
        else:
            yield Violation(SCHEMA_RULE, f"{path}: {error['msg']}")


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field_rules(model: type[KubeModel], loc: tuple[Any, ...]) -> tuple[Rule, ...]:
    """The CRD rules declared on the field a pydantic error points at (so both layers say the same)."""
    tp: Any = model
    rules_here: tuple[Rule, ...] = ()
    for part in loc:
        if isinstance(part, int):
            tp, _ = split_annotated(_list_item(tp))
            continue
        if not (isinstance(tp, type) and issubclass(tp, KubeModel)):
            return ()
        field = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return ()
        tp, markers = split_annotated(field.annotation)
        rules_here = merge_markers(markers + [m for m in field.metadata if isinstance(m, Crd)]).rules
    return rules_here


def _list_item(tp: Any) -> Any:
    args = getattr(tp, "__args__", ())
    return args[0] if args else None


# --- metadata and status -------------------------------------------------------------------------------


def _metadata_violations(job: RayJob) -> Iterator[Violation]:
    name = job.metadata.name
    if name is None:
        return
    if len(name) > constants.MAX_RAYJOB_NAME_LENGTH:
        yield Violation(rules.NAME_TOO_LONG, f"{name!r} has {len(name)}")
    if not _DNS1035.match(name):
        yield Violation(rules.NAME_NOT_DNS1035, repr(name))


def _status_violations(job: RayJob) -> Iterator[Violation]:
    status = job.status
    if (
        status is not None
        and status.job_deployment_status == JobDeploymentStatus.WAITING
        and job.spec.submission_mode != SubmissionMode.INTERACTIVE
    ):
        yield Violation(rules.WAITING_NEEDS_INTERACTIVE)


# --- the CEL rules, in Python ----------------------------------------------------------------------------


def _legacy_policies(spec: RayJobSpec) -> set[DeletionPolicyType]:
    ds = spec.deletion_strategy
    if ds is None:
        return set()
    return {p.policy for p in (ds.on_success, ds.on_failure) if p is not None and p.policy is not None}


def _rule_policies(spec: RayJobSpec) -> set[DeletionPolicyType]:
    ds = spec.deletion_strategy
    return {r.policy for r in (ds.deletion_rules or [])} if ds is not None else set()


def _job_rules(spec: RayJobSpec) -> Iterator[Rule]:  # noqa: PLR0912 - one line per KubeRay rule
    selector = bool(spec.cluster_selector)
    shutdown = bool(spec.shutdown_after_job_finishes)
    mode = spec.submission_mode
    has_rules = spec.deletion_strategy is not None and spec.deletion_strategy.deletion_rules is not None
    cluster = spec.ray_cluster_spec
    autoscaling = bool(cluster and cluster.enable_in_tree_autoscaling)
    policies = _legacy_policies(spec) | _rule_policies(spec)
    for rule, value in _field_checks(spec):
        if not value:
            yield rule
    if spec.suspend and not shutdown:
        yield rules.SUSPEND_REQUIRES_SHUTDOWN
    if spec.ttl_seconds_after_finished > 0 and not shutdown:
        yield rules.TTL_REQUIRES_SHUTDOWN
    if has_rules and shutdown:
        yield rules.RULES_EXCLUDE_SHUTDOWN
    if spec.suspend and selector:
        yield rules.SUSPEND_FORBIDS_CLUSTER_SELECTOR
    if cluster is None and not selector:
        yield rules.NEEDS_CLUSTER
    if selector and not spec.cluster_selector_name:
        yield rules.CLUSTER_SELECTOR_NEEDS_NAME
    if selector and mode == SubmissionMode.SIDECAR:
        yield rules.CLUSTER_SELECTOR_FORBIDS_SIDECAR
    if selector and spec.backoff_limit > 0:
        yield rules.CLUSTER_SELECTOR_FORBIDS_BACKOFF
    if mode == SubmissionMode.INTERACTIVE and spec.backoff_limit > 0:
        yield rules.INTERACTIVE_FORBIDS_BACKOFF
    if mode == SubmissionMode.SIDECAR:
        yield from _sidecar_rules(spec)
    if cluster and cluster.auth_options and cluster.auth_options.enable_k8s_token_auth:
        yield rules.K8S_TOKEN_AUTH_FORBIDDEN
    if selector and policies & {DeletionPolicyType.DELETE_CLUSTER, DeletionPolicyType.DELETE_WORKERS}:
        yield rules.DELETION_WITH_CLUSTER_SELECTOR
    if autoscaling and DeletionPolicyType.DELETE_WORKERS in policies:
        yield rules.DELETE_WORKERS_WITH_AUTOSCALING
    if shutdown and DeletionPolicyType.DELETE_NONE in _legacy_policies(spec):
        yield rules.SHUTDOWN_WITH_DELETE_NONE


def _field_checks(spec: RayJobSpec) -> list[tuple[Rule, bool]]:
    cpus, gpus = spec.entrypoint_num_cpus, spec.entrypoint_num_gpus
    submitter_backoff = spec.submitter_config.backoff_limit if spec.submitter_config else None
    return [
        (
            rules.ACTIVE_DEADLINE_POSITIVE,
            spec.active_deadline_seconds is None or spec.active_deadline_seconds > 0,
        ),
        (
            rules.PRE_RUNNING_DEADLINE_POSITIVE,
            spec.pre_running_deadline_seconds is None or spec.pre_running_deadline_seconds > 0,
        ),
        (rules.BACKOFF_LIMIT_NON_NEGATIVE, spec.backoff_limit >= 0),
        (rules.TTL_NON_NEGATIVE, spec.ttl_seconds_after_finished >= 0),
        (rules.SUBMITTER_BACKOFF_NON_NEGATIVE, submitter_backoff is None or submitter_backoff >= 0),
        (rules.ENTRYPOINT_CPUS_NON_NEGATIVE, cpus is None or cpus >= 0),
        (rules.ENTRYPOINT_GPUS_NON_NEGATIVE, gpus is None or gpus >= 0),
        (rules.MANAGED_BY_ENUM, spec.managed_by is None or spec.managed_by in constants.MANAGED_BY_VALUES),
    ]


def _sidecar_rules(spec: RayJobSpec) -> Iterator[Rule]:
    if spec.submitter_pod_template is not None:
        yield rules.SIDECAR_FORBIDS_SUBMITTER_TEMPLATE
    if spec.submitter_config is not None:
        yield rules.SIDECAR_FORBIDS_SUBMITTER_CONFIG
    head = spec.ray_cluster_spec.head_group_spec if spec.ray_cluster_spec else None
    restart = head.template.spec.restart_policy if head and head.template.spec else None
    if restart is not None and restart != "Never":
        yield rules.SIDECAR_HEAD_RESTART_NEVER


def _strategy_rules(ds: DeletionStrategy) -> Iterator[Rule]:
    legacy = ds.on_success is not None or ds.on_failure is not None
    if ds.deletion_rules is None and not legacy:
        yield rules.STRATEGY_NOT_EMPTY
    if ds.deletion_rules is not None and legacy:
        yield rules.STRATEGY_ONE_STYLE
    if ds.deletion_rules is None and (ds.on_success is None) != (ds.on_failure is None):
        yield rules.LEGACY_BOTH_POLICIES
    for policy in (ds.on_success, ds.on_failure):
        if policy is not None and policy.policy is None:
            yield rules.POLICY_REQUIRED
    if ds.deletion_rules is not None:
        yield from _deletion_rules_rules(ds)


def _deletion_rules_rules(ds: DeletionStrategy) -> Iterator[Rule]:
    items = ds.deletion_rules or []
    if not items:
        yield rules.RULES_NOT_EMPTY
    for item in items:
        cond = item.condition
        if (cond.job_status is None) == (cond.job_deployment_status is None):
            yield rules.CONDITION_ONE_OF
        if cond.ttl_seconds < 0:
            yield rules.CONDITION_TTL_NON_NEGATIVE
    keys = [(_condition_key(r.condition), r.policy) for r in items]
    if len(set(keys)) != len(keys):
        yield rules.RULES_NO_DUPLICATES
    for a in items:
        for b in items:
            same = _condition_key(a.condition) == _condition_key(b.condition)
            if same and 0 < a.policy.impact < b.policy.impact and a.condition.ttl_seconds > b.condition.ttl_seconds:
                yield rules.RULES_TTL_ORDER
                return


def _condition_key(cond: Any) -> str:
    if cond.job_status is not None:
        return f"jobStatus={cond.job_status.value}"
    if cond.job_deployment_status is not None:
        return f"jobDeploymentStatus={cond.job_deployment_status.value}"
    return ""


def _head_rules(head: HeadGroupSpec) -> Iterator[Rule]:
    if not head.template.containers():
        yield rules.HEAD_NEEDS_CONTAINER
    yield from _group_params_rules(head.resources, head.ray_start_params)


def _worker_rules(group: WorkerGroupSpec) -> Iterator[Rule]:
    if not group.template.containers():
        yield rules.WORKER_NEEDS_CONTAINER
    if group.min_replicas > group.max_replicas:
        yield rules.WORKER_MIN_LE_MAX
    if min(group.replicas, group.min_replicas, group.max_replicas) < 0:
        yield rules.REPLICAS_NON_NEGATIVE
    if group.num_of_hosts < 1:
        yield rules.NUM_OF_HOSTS_POSITIVE
    yield from _group_params_rules(group.resources, group.ray_start_params)


def _group_params_rules(resources: dict[str, str] | None, params: dict[str, str] | None) -> Iterator[Rule]:
    params = params or {}
    if resources and any(k in params for k in ("num-cpus", "num-gpus", "memory", "resources")):
        yield rules.GROUP_RESOURCES_EXCLUSIVE
    if "labels" in params:
        yield rules.RAY_START_LABELS_FORBIDDEN
