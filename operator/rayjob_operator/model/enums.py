"""Enumerations of the RayJob API with KubeRay's exact values."""

from enum import StrEnum

from rayjob_submitter import contract


class JobStatus(StrEnum):
    """The Ray job's status as the dashboard reports it (``status.jobStatus``)."""

    NEW = ""
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self.value in contract.TERMINAL_STATUSES

    @staticmethod
    def terminal(value: object) -> bool:
        """Whether a raw ``jobStatus`` value (as read from a body) is a terminal status."""
        return isinstance(value, str) and value in contract.TERMINAL_STATUSES


class JobDeploymentStatus(StrEnum):
    """The RayJob lifecycle state (``status.jobDeploymentStatus``)."""

    NEW = ""
    INITIALIZING = "Initializing"
    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    VALIDATION_FAILED = "ValidationFailed"
    SUSPENDING = "Suspending"
    SUSPENDED = "Suspended"
    RETRYING = "Retrying"
    WAITING = "Waiting"

    @property
    def is_terminal(self) -> bool:
        return self in (JobDeploymentStatus.COMPLETE, JobDeploymentStatus.FAILED)


class JobFailedReason(StrEnum):
    """``status.reason``: why the RayJob failed (KubeRay's values first, then ours)."""

    NONE = ""
    SUBMISSION_FAILED = "SubmissionFailed"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    PRE_RUNNING_DEADLINE_EXCEEDED = "PreRunningDeadlineExceeded"
    APP_FAILED = "AppFailed"
    TRANSITION_GRACE_PERIOD_EXCEEDED = "JobDeploymentStatusTransitionGracePeriodExceeded"
    JOB_STATUS_CHECK_TIMEOUT_EXCEEDED = "JobStatusCheckTimeoutExceeded"
    VALIDATION_FAILED = "ValidationFailed"
    # Failures KubeRay leaves looping in a non-terminal state; we end them with a reason of their own.
    CLUSTER_FAILED = "RayClusterFailed"
    CLUSTER_NOT_FOUND = "RayClusterNotFound"
    HEAD_POD_LOST = "HeadPodLost"
    SUBMITTER_LOST = "SubmitterLost"
    JOB_NOT_FOUND = "JobNotFound"


class SubmissionMode(StrEnum):
    K8S_JOB = "K8sJobMode"
    HTTP = "HTTPMode"
    INTERACTIVE = "InteractiveMode"
    SIDECAR = "SidecarMode"


class DeletionPolicyType(StrEnum):
    DELETE_CLUSTER = "DeleteCluster"
    DELETE_WORKERS = "DeleteWorkers"
    DELETE_SELF = "DeleteSelf"
    DELETE_NONE = "DeleteNone"

    @property
    def impact(self) -> int:
        """How destructive the policy is; the most destructive due rule wins."""
        order = (
            DeletionPolicyType.DELETE_NONE,
            DeletionPolicyType.DELETE_WORKERS,
            DeletionPolicyType.DELETE_CLUSTER,
            DeletionPolicyType.DELETE_SELF,
        )
        return order.index(self)


class DeletionConditionJobStatus(StrEnum):
    """Ray job statuses a deletion rule may match."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class DeletionConditionDeploymentStatus(StrEnum):
    """Deployment statuses a deletion rule may match."""

    FAILED = "Failed"


class ClusterState(StrEnum):
    """``RayCluster.status.state``."""

    NONE = ""
    READY = "ready"
    FAILED = "failed"
    SUSPENDED = "suspended"


class AuthMode(StrEnum):
    DISABLED = "disabled"
    TOKEN = "token"


class AutoscalerVersion(StrEnum):
    """``autoscalerOptions.version``; unset lets the Ray version decide (v2 from Ray 2.47)."""

    V1 = "v1"
    V2 = "v2"


class UpscalingMode(StrEnum):
    """``autoscalerOptions.upscalingMode``: read by the Ray autoscaler, not by the operator."""

    DEFAULT = "Default"
    AGGRESSIVE = "Aggressive"
    CONSERVATIVE = "Conservative"
