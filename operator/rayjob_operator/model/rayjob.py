"""Typed view of the ``ray.io/v1`` RayJob: every spec and status field of KubeRay's API."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from rayjob_operator import constants
from rayjob_operator.model import rules
from rayjob_operator.model.base import Crd, KubeModel, ObjectMeta, Rule, Time
from rayjob_operator.model.enums import (
    DeletionConditionDeploymentStatus,
    DeletionConditionJobStatus,
    DeletionPolicyType,
    JobDeploymentStatus,
    JobFailedReason,
    JobStatus,
    SubmissionMode,
)
from rayjob_operator.model.raycluster import Condition, PodTemplate, RayClusterSpec, RayClusterStatus

Int32 = int


class DeletionPolicy(KubeModel):
    """A legacy ``onSuccess``/``onFailure`` policy."""

    crd_rules: ClassVar[tuple[Rule, ...]] = (rules.POLICY_REQUIRED,)

    policy: Annotated[DeletionPolicyType, Crd(rules=(rules.POLICY_ENUM,))] | None = None


class DeletionCondition(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (rules.CONDITION_ONE_OF,)

    job_status: Annotated[DeletionConditionJobStatus, Crd(rules=(rules.CONDITION_JOB_STATUS_ENUM,))] | None = None
    """Match the Ray job status (SUCCEEDED or FAILED)."""
    job_deployment_status: (
        Annotated[DeletionConditionDeploymentStatus, Crd(rules=(rules.CONDITION_DEPLOYMENT_STATUS_ENUM,))] | None
    ) = None
    """Match the deployment status (Failed)."""
    ttl_seconds: Annotated[int, Crd(publish_default=True, rules=(rules.CONDITION_TTL_NON_NEGATIVE,))] = 0
    """Seconds after status.endTime before the rule applies."""


class DeletionRule(KubeModel):
    policy: Annotated[DeletionPolicyType, Crd(rules=(rules.POLICY_ENUM,))]
    condition: DeletionCondition


class DeletionStrategy(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (
        rules.STRATEGY_NOT_EMPTY,
        rules.STRATEGY_ONE_STYLE,
        rules.LEGACY_BOTH_POLICIES,
        rules.RULES_NOT_EMPTY,
        rules.RULES_NO_DUPLICATES,
        rules.RULES_TTL_ORDER,
    )

    on_success: DeletionPolicy | None = None
    """Deprecated: policy applied when the Ray job SUCCEEDED."""
    on_failure: DeletionPolicy | None = None
    """Deprecated: policy applied when the Ray job FAILED."""
    deletion_rules: Annotated[list[DeletionRule], Crd(max_items=12, atomic=True)] | None = None
    """Rules applied after the RayJob finishes; the most destructive due rule wins."""


class SubmitterConfig(KubeModel):
    backoff_limit: Annotated[Int32, Crd(rules=(rules.SUBMITTER_BACKOFF_NON_NEGATIVE,))] | None = None
    """backoffLimit of the submitter Kubernetes Job (default 2)."""


class RayJobSpec(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (
        rules.SUSPEND_REQUIRES_SHUTDOWN,
        rules.TTL_REQUIRES_SHUTDOWN,
        rules.RULES_EXCLUDE_SHUTDOWN,
        rules.NEEDS_CLUSTER,
        rules.CLUSTER_SELECTOR_NEEDS_NAME,
        rules.CLUSTER_SELECTOR_FORBIDS_SIDECAR,
        rules.CLUSTER_SELECTOR_FORBIDS_BACKOFF,
        rules.INTERACTIVE_FORBIDS_BACKOFF,
        rules.SIDECAR_FORBIDS_SUBMITTER_TEMPLATE,
        rules.SIDECAR_FORBIDS_SUBMITTER_CONFIG,
        rules.SIDECAR_HEAD_RESTART_NEVER,
        rules.K8S_TOKEN_AUTH_FORBIDDEN,
        rules.DELETION_WITH_CLUSTER_SELECTOR,
        rules.DELETE_WORKERS_WITH_AUTOSCALING,
        rules.SHUTDOWN_WITH_DELETE_NONE,
    )

    entrypoint: str | None = None
    """The command the Ray job runs, sent to Ray exactly as written."""
    runtime_env_yaml: str | None = Field(default=None, alias="runtimeEnvYAML")
    """Ray runtime_env as a YAML mapping."""
    job_id: str | None = None
    """Submission id; generated as <name>-<5 chars> when empty (InteractiveMode: set by the user)."""
    metadata: dict[str, str] | None = None
    """Ray job metadata."""
    submission_mode: Annotated[SubmissionMode, Crd(publish_default=True, rules=(rules.SUBMISSION_MODE_ENUM,))] = (
        SubmissionMode.K8S_JOB
    )
    """How the entrypoint reaches Ray: K8sJobMode, HTTPMode, InteractiveMode or SidecarMode."""
    submitter_pod_template: PodTemplate | None = None
    """Pod template of the K8sJobMode submitter Job."""
    submitter_config: SubmitterConfig | None = None
    ray_cluster_spec: RayClusterSpec | None = None
    """The RayCluster created for each attempt."""
    cluster_selector: dict[str, str] | None = None
    """Run on an existing RayCluster, named by the key ray.io/cluster."""
    managed_by: Annotated[str, Crd(rules=(rules.MANAGED_BY_ENUM, rules.MANAGED_BY_IMMUTABLE))] | None = None
    """ray.io/kuberay-operator (this operator) or kueue.x-k8s.io/multikueue (ignored here)."""
    shutdown_after_job_finishes: bool | None = None
    """Delete the RayCluster once the job is finished (after ttlSecondsAfterFinished)."""
    ttl_seconds_after_finished: Annotated[Int32, Crd(publish_default=True, rules=(rules.TTL_NON_NEGATIVE,))] = 0
    active_deadline_seconds: Annotated[Int32, Crd(rules=(rules.ACTIVE_DEADLINE_POSITIVE,))] | None = None
    """Seconds the job may be active (Initializing or Running) before it fails with DeadlineExceeded."""
    pre_running_deadline_seconds: Annotated[Int32, Crd(rules=(rules.PRE_RUNNING_DEADLINE_POSITIVE,))] | None = None
    """Seconds the job may take to reach Running before it fails with PreRunningDeadlineExceeded."""
    backoff_limit: Annotated[Int32, Crd(publish_default=True, rules=(rules.BACKOFF_LIMIT_NON_NEGATIVE,))] = 0
    """RayJob-level retries, each on a new RayCluster."""
    suspend: bool | None = None
    """Kueue-style suspension: no RayCluster exists while true."""
    deletion_strategy: DeletionStrategy | None = None
    entrypoint_num_cpus: Annotated[float, Crd(rules=(rules.ENTRYPOINT_CPUS_NON_NEGATIVE,))] | None = None
    entrypoint_num_gpus: Annotated[float, Crd(rules=(rules.ENTRYPOINT_GPUS_NON_NEGATIVE,))] | None = None
    entrypoint_resources: str | None = None
    """Custom resources for the driver, as a JSON object."""

    @property
    def cluster_selector_name(self) -> str | None:
        return (self.cluster_selector or {}).get(constants.LABEL_CLUSTER) or None


class RayJobStatusInfo(KubeModel):
    start_time: Time | None = None
    end_time: Time | None = None


class RayJobStatus(KubeModel):
    job_status: JobStatus | None = None
    job_deployment_status: JobDeploymentStatus | None = None
    reason: JobFailedReason | None = None
    message: str | None = None
    job_id: str | None = None
    ray_cluster_name: str | None = None
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    start_time: Time | None = None
    end_time: Time | None = None
    ray_job_info: RayJobStatusInfo | None = Field(default=None, alias="rayJobInfo")
    succeeded: Annotated[Int32, Crd(publish_default=True)] = 0
    failed: Annotated[Int32, Crd(publish_default=True)] = 0
    ray_cluster_status: RayClusterStatus | None = None
    job_status_check_failure_start_time: Time | None = None
    observed_generation: Annotated[int, Crd(int64=True)] | None = None
    conditions: list[Condition] | None = None
    """Standard conditions (Complete, Failed, Suspended, ...) for kubectl wait."""


class RayJob(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (rules.NAME_TOO_LONG, rules.NAME_NOT_DNS1035)

    api_version: str = constants.API_VERSION
    kind: str = constants.RAYJOB_KIND
    metadata: ObjectMeta = ObjectMeta()
    spec: RayJobSpec
    status: RayJobStatus | None = None
