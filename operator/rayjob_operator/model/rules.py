"""The catalog of validation rules (KubeRay's ``ValidateRayJobSpec`` and ``ValidateRayClusterSpec``).

Each rule has one message, used both by the API server (CEL, ``x-kubernetes-validations``) and by the
controller (``validation.validate_rayjob``). Rules whose ``cel`` is ``None`` cannot be said in CEL
(YAML parsing, version comparisons, fields inside opaque pod templates) and are checked by the
controller only, which turns a violation into ``ValidationFailed`` before anything is created.
"""

from __future__ import annotations

from typing import Final

from rayjob_operator.model.base import Rule

_MODES = "K8sJobMode, HTTPMode, InteractiveMode, SidecarMode"
_POLICIES = "'DeleteCluster', 'DeleteWorkers', 'DeleteSelf', 'DeleteNone'"
_CLUSTER_POLICIES = "'DeleteCluster', 'DeleteWorkers'"
_WORKERS_POLICY = "'DeleteWorkers'"
_NONE_POLICY = "'DeleteNone'"

# CEL fragments (RayJobSpec is `self`).
_SELECTOR = "(has(self.clusterSelector) && size(self.clusterSelector) > 0)"
_SHUTDOWN = "(has(self.shutdownAfterJobFinishes) && self.shutdownAfterJobFinishes)"
_SUSPEND = "(has(self.suspend) && self.suspend)"
_AUTOSCALING = (
    "(has(self.rayClusterSpec) && has(self.rayClusterSpec.enableInTreeAutoscaling)"
    " && self.rayClusterSpec.enableInTreeAutoscaling)"
)
_RULES = "(has(self.deletionStrategy) && has(self.deletionStrategy.deletionRules))"


def _mode_is(mode: str) -> str:
    return f"(has(self.submissionMode) && self.submissionMode == '{mode}')"


def _legacy_policy_in(policies: str) -> str:
    parts = [
        f"(has(self.deletionStrategy.{side}) && has(self.deletionStrategy.{side}.policy)"
        f" && self.deletionStrategy.{side}.policy in [{policies}])"
        for side in ("onSuccess", "onFailure")
    ]
    return f"(has(self.deletionStrategy) && ({' || '.join(parts)}))"


def _any_rule_policy_in(policies: str) -> str:
    return f"({_RULES} && self.deletionStrategy.deletionRules.exists(r, r.policy in [{policies}]))"


def _condition_key(var: str) -> str:
    return (
        f"(has({var}.condition.jobStatus) ? 'jobStatus=' + {var}.condition.jobStatus"
        f" : (has({var}.condition.jobDeploymentStatus)"
        f" ? 'jobDeploymentStatus=' + {var}.condition.jobDeploymentStatus : ''))"
    )


def _policy_rank(var: str) -> str:
    return (
        f"({var}.policy == 'DeleteWorkers' ? 1 : ({var}.policy == 'DeleteCluster' ? 2"
        f" : ({var}.policy == 'DeleteSelf' ? 3 : 0)))"
    )


def _ttl(var: str) -> str:
    return f"(has({var}.condition.ttlSeconds) ? {var}.condition.ttlSeconds : 0)"


# --- metadata (attached to the RayJob root) ------------------------------------------------------------
NAME_TOO_LONG: Final = Rule(
    "name-too-long",
    "metadata.name must be no more than 47 characters (RayCluster and pod names are derived from it)",
    "!has(self.metadata.name) || size(self.metadata.name) <= 47",
)
NAME_NOT_DNS1035: Final = Rule(
    "name-not-dns1035",
    "metadata.name must be a DNS-1035 label: lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit",
    "!has(self.metadata.name) || self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
)

# --- RayJobSpec, single fields ---------------------------------------------------------------------------
SUBMISSION_MODE_ENUM: Final = Rule(
    "submission-mode-enum",
    f"spec.submissionMode must be one of {_MODES}",
    "self in ['K8sJobMode', 'HTTPMode', 'InteractiveMode', 'SidecarMode']",
)
ACTIVE_DEADLINE_POSITIVE: Final = Rule(
    "active-deadline-positive", "spec.activeDeadlineSeconds must be greater than 0", "self > 0"
)
PRE_RUNNING_DEADLINE_POSITIVE: Final = Rule(
    "pre-running-deadline-positive", "spec.preRunningDeadlineSeconds must be greater than 0", "self > 0"
)
BACKOFF_LIMIT_NON_NEGATIVE: Final = Rule(
    "backoff-limit-non-negative", "spec.backoffLimit must be 0 or greater", "self >= 0"
)
TTL_NON_NEGATIVE: Final = Rule("ttl-non-negative", "spec.ttlSecondsAfterFinished must be 0 or greater", "self >= 0")
SUBMITTER_BACKOFF_NON_NEGATIVE: Final = Rule(
    "submitter-backoff-non-negative", "spec.submitterConfig.backoffLimit must be 0 or greater", "self >= 0"
)
ENTRYPOINT_CPUS_NON_NEGATIVE: Final = Rule(
    "entrypoint-cpus-non-negative", "spec.entrypointNumCpus must be 0 or greater", "self >= 0.0"
)
ENTRYPOINT_GPUS_NON_NEGATIVE: Final = Rule(
    "entrypoint-gpus-non-negative", "spec.entrypointNumGpus must be 0 or greater", "self >= 0.0"
)
MANAGED_BY_ENUM: Final = Rule(
    "managed-by-enum",
    "spec.managedBy must be either 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue'",
    "self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']",
)
MANAGED_BY_IMMUTABLE: Final = Rule("managed-by-immutable", "spec.managedBy is immutable", "self == oldSelf")

# --- RayJobSpec, cross-field ------------------------------------------------------------------------------
SUSPEND_REQUIRES_SHUTDOWN: Final = Rule(
    "suspend-requires-shutdown",
    "spec.suspend: true requires spec.shutdownAfterJobFinishes: true",
    f"!{_SUSPEND} || {_SHUTDOWN}",
)
TTL_REQUIRES_SHUTDOWN: Final = Rule(
    "ttl-requires-shutdown",
    "spec.ttlSecondsAfterFinished greater than 0 requires spec.shutdownAfterJobFinishes: true",
    f"!(has(self.ttlSecondsAfterFinished) && self.ttlSecondsAfterFinished > 0) || {_SHUTDOWN}",
)
RULES_EXCLUDE_SHUTDOWN: Final = Rule(
    "deletion-rules-exclude-shutdown",
    "spec.deletionStrategy.deletionRules cannot be combined with spec.shutdownAfterJobFinishes: true",
    f"!({_RULES} && {_SHUTDOWN})",
)
NEEDS_CLUSTER: Final = Rule(
    "needs-cluster",
    "spec.rayClusterSpec is required unless spec.clusterSelector names an existing RayCluster",
    f"has(self.rayClusterSpec) || {_SELECTOR}",
)
CLUSTER_SELECTOR_NEEDS_NAME: Final = Rule(
    "cluster-selector-needs-name",
    "spec.clusterSelector must name the RayCluster under the key 'ray.io/cluster' with a non-empty value",
    f"!{_SELECTOR} || ('ray.io/cluster' in self.clusterSelector && self.clusterSelector['ray.io/cluster'] != '')",
)
CLUSTER_SELECTOR_FORBIDS_SIDECAR: Final = Rule(
    "cluster-selector-forbids-sidecar",
    "spec.clusterSelector cannot be used with spec.submissionMode: SidecarMode",
    f"!({_SELECTOR} && {_mode_is('SidecarMode')})",
)
CLUSTER_SELECTOR_FORBIDS_BACKOFF: Final = Rule(
    "cluster-selector-forbids-backoff",
    "spec.backoffLimit must be 0 with spec.clusterSelector (a retry needs a new RayCluster)",
    f"!({_SELECTOR} && has(self.backoffLimit) && self.backoffLimit > 0)",
)
INTERACTIVE_FORBIDS_BACKOFF: Final = Rule(
    "interactive-forbids-backoff",
    "spec.backoffLimit must be 0 with spec.submissionMode: InteractiveMode",
    f"!({_mode_is('InteractiveMode')} && has(self.backoffLimit) && self.backoffLimit > 0)",
)
SIDECAR_FORBIDS_SUBMITTER_TEMPLATE: Final = Rule(
    "sidecar-forbids-submitter-template",
    "spec.submitterPodTemplate cannot be used with spec.submissionMode: SidecarMode",
    f"!({_mode_is('SidecarMode')} && has(self.submitterPodTemplate))",
)
SIDECAR_FORBIDS_SUBMITTER_CONFIG: Final = Rule(
    "sidecar-forbids-submitter-config",
    "spec.submitterConfig cannot be used with spec.submissionMode: SidecarMode",
    f"!({_mode_is('SidecarMode')} && has(self.submitterConfig))",
)
SIDECAR_HEAD_RESTART_NEVER: Final = Rule(
    "sidecar-head-restart-never",
    "spec.rayClusterSpec.headGroupSpec.template.spec.restartPolicy must be Never (or unset) "
    "with spec.submissionMode: SidecarMode",
    f"!({_mode_is('SidecarMode')} && has(self.rayClusterSpec) && has(self.rayClusterSpec.headGroupSpec)"
    " && has(self.rayClusterSpec.headGroupSpec.template.spec)"
    " && has(self.rayClusterSpec.headGroupSpec.template.spec.restartPolicy)"
    " && self.rayClusterSpec.headGroupSpec.template.spec.restartPolicy != 'Never')",
)
K8S_TOKEN_AUTH_FORBIDDEN: Final = Rule(
    "k8s-token-auth-forbidden",
    "spec.rayClusterSpec.authOptions.enableK8sTokenAuth is not supported for a RayJob",
    "!(has(self.rayClusterSpec) && has(self.rayClusterSpec.authOptions)"
    " && has(self.rayClusterSpec.authOptions.enableK8sTokenAuth)"
    " && self.rayClusterSpec.authOptions.enableK8sTokenAuth)",
)
DELETION_WITH_CLUSTER_SELECTOR: Final = Rule(
    "deletion-policy-with-cluster-selector",
    "spec.deletionStrategy cannot use DeleteCluster or DeleteWorkers with spec.clusterSelector "
    "(the existing RayCluster is not owned by the RayJob)",
    f"!({_SELECTOR} && ({_legacy_policy_in(_CLUSTER_POLICIES)} || {_any_rule_policy_in(_CLUSTER_POLICIES)}))",
)
DELETE_WORKERS_WITH_AUTOSCALING: Final = Rule(
    "delete-workers-with-autoscaling",
    "spec.deletionStrategy cannot use DeleteWorkers with spec.rayClusterSpec.enableInTreeAutoscaling: true",
    f"!({_AUTOSCALING} && ({_legacy_policy_in(_WORKERS_POLICY)} || {_any_rule_policy_in(_WORKERS_POLICY)}))",
)
SHUTDOWN_WITH_DELETE_NONE: Final = Rule(
    "shutdown-with-delete-none",
    "spec.shutdownAfterJobFinishes: true contradicts a DeleteNone policy in spec.deletionStrategy.onSuccess/onFailure",
    f"!({_SHUTDOWN} && {_legacy_policy_in(_NONE_POLICY)})",
)

# --- deletionStrategy (attached to the DeletionStrategy object) ---------------------------------------------
STRATEGY_NOT_EMPTY: Final = Rule(
    "deletion-strategy-empty",
    "spec.deletionStrategy must set either deletionRules or both onSuccess and onFailure",
    "has(self.deletionRules) || has(self.onSuccess) || has(self.onFailure)",
)
STRATEGY_ONE_STYLE: Final = Rule(
    "deletion-strategy-mixed",
    "spec.deletionStrategy.deletionRules cannot be combined with onSuccess/onFailure",
    "!(has(self.deletionRules) && (has(self.onSuccess) || has(self.onFailure)))",
)
LEGACY_BOTH_POLICIES: Final = Rule(
    "deletion-legacy-incomplete",
    "spec.deletionStrategy.onSuccess and spec.deletionStrategy.onFailure must be set together",
    "has(self.deletionRules) || has(self.onSuccess) == has(self.onFailure)",
)
RULES_NOT_EMPTY: Final = Rule(
    "deletion-rules-empty",
    "spec.deletionStrategy.deletionRules must hold at least one rule",
    "!has(self.deletionRules) || size(self.deletionRules) > 0",
)
RULES_NO_DUPLICATES: Final = Rule(
    "deletion-rules-duplicate",
    "spec.deletionStrategy.deletionRules must not repeat the same policy for the same condition",
    "!has(self.deletionRules) || self.deletionRules.all(a, self.deletionRules.exists_one(b, "
    f"b.policy == a.policy && {_condition_key('b')} == {_condition_key('a')}))",
)
RULES_TTL_ORDER: Final = Rule(
    "deletion-rules-ttl-order",
    "spec.deletionStrategy.deletionRules: for one condition the TTLs must not decrease along "
    "DeleteWorkers, DeleteCluster, DeleteSelf",
    "!has(self.deletionRules) || self.deletionRules.all(a, self.deletionRules.all(b, "
    f"!({_condition_key('a')} == {_condition_key('b')} && {_policy_rank('a')} > 0"
    f" && {_policy_rank('b')} > {_policy_rank('a')}) || {_ttl('a')} <= {_ttl('b')}))",
)
POLICY_REQUIRED: Final = Rule(
    "deletion-policy-required",
    f"policy is required and must be one of {_POLICIES}",
    f"has(self.policy) && self.policy in [{_POLICIES}]",
)
POLICY_ENUM: Final = Rule("deletion-policy-enum", f"policy must be one of {_POLICIES}", f"self in [{_POLICIES}]")
CONDITION_ONE_OF: Final = Rule(
    "deletion-condition-one-of",
    "condition must set exactly one of jobStatus and jobDeploymentStatus",
    "has(self.jobStatus) != has(self.jobDeploymentStatus)",
)
CONDITION_JOB_STATUS_ENUM: Final = Rule(
    "deletion-condition-job-status-enum",
    "condition.jobStatus must be SUCCEEDED or FAILED",
    "self in ['SUCCEEDED', 'FAILED']",
)
CONDITION_DEPLOYMENT_STATUS_ENUM: Final = Rule(
    "deletion-condition-deployment-status-enum",
    "condition.jobDeploymentStatus must be Failed",
    "self == 'Failed'",
)
CONDITION_TTL_NON_NEGATIVE: Final = Rule(
    "deletion-condition-ttl-non-negative", "condition.ttlSeconds must be 0 or greater", "self >= 0"
)

# --- RayClusterSpec and its groups -------------------------------------------------------------------------
HEAD_NEEDS_CONTAINER: Final = Rule(
    "head-needs-container",
    "headGroupSpec.template.spec.containers must hold at least one container (the Ray container)",
    "has(self.template.spec) && has(self.template.spec.containers) && size(self.template.spec.containers) > 0",
)
WORKER_NEEDS_CONTAINER: Final = Rule(
    "worker-needs-container",
    "workerGroupSpecs[].template.spec.containers must hold at least one container (the Ray container)",
    "has(self.template.spec) && has(self.template.spec.containers) && size(self.template.spec.containers) > 0",
)
WORKER_MIN_LE_MAX: Final = Rule(
    "worker-min-le-max",
    "workerGroupSpecs[].minReplicas must not be greater than maxReplicas",
    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
)
REPLICAS_NON_NEGATIVE: Final = Rule(
    "replicas-non-negative", "workerGroupSpecs[] replica counts must be 0 or greater", "self >= 0"
)
NUM_OF_HOSTS_POSITIVE: Final = Rule(
    "num-of-hosts-positive", "workerGroupSpecs[].numOfHosts must be at least 1", "self >= 1"
)
_RESOURCE_PARAMS = "['num-cpus', 'num-gpus', 'memory', 'resources']"
GROUP_RESOURCES_EXCLUSIVE: Final = Rule(
    "group-resources-exclusive",
    "a group's resources field cannot be combined with rayStartParams num-cpus, num-gpus, memory or resources",
    "!(has(self.resources) && size(self.resources) > 0 && has(self.rayStartParams)"
    f" && {_RESOURCE_PARAMS}.exists(k, k in self.rayStartParams))",
)
RAY_START_LABELS_FORBIDDEN: Final = Rule(
    "ray-start-labels-forbidden",
    "rayStartParams.labels is not allowed; use the group's labels field",
    "!has(self.rayStartParams) || !('labels' in self.rayStartParams)",
)
SUSPEND_WORKERS_WITH_AUTOSCALING: Final = Rule(
    "suspend-workers-with-autoscaling",
    "workerGroupSpecs[].suspend cannot be used with enableInTreeAutoscaling: true",
    "!(has(self.enableInTreeAutoscaling) && self.enableInTreeAutoscaling && has(self.workerGroupSpecs)"
    " && self.workerGroupSpecs.exists(w, has(w.suspend) && w.suspend))",
)

AUTOSCALER_IDLE_TIMEOUT_NON_NEGATIVE: Final = Rule(
    "autoscaler-idle-timeout-non-negative", "autoscalerOptions.idleTimeoutSeconds must be 0 or greater", "self >= 0"
)

# --- checked by the controller only (no CEL form) --------------------------------------------------------
RUNTIME_ENV_YAML_MAPPING: Final = Rule(
    "runtime-env-yaml-mapping", "spec.runtimeEnvYAML must be a YAML mapping (the Ray runtime_env)"
)
ENTRYPOINT_RESOURCES_JSON: Final = Rule(
    "entrypoint-resources-json",
    "spec.entrypointResources must be a JSON object mapping resource names to numbers",
)
WORKER_GROUP_NAMES_UNIQUE: Final = Rule(
    "worker-group-names-unique", "spec.rayClusterSpec.workerGroupSpecs[].groupName values must be unique"
)
HEAD_DASHBOARD_PORT: Final = Rule(
    "head-dashboard-port",
    "the head container declares ports but none is named 'dashboard' (the RayJob could never reach Ray)",
)
RAY_VERSION_PARSE: Final = Rule("ray-version-semver", "spec.rayClusterSpec.rayVersion must be a version such as 2.52.0")
METADATA_NEEDS_RAY_2_6: Final = Rule(
    "metadata-needs-ray-2.6", "spec.metadata needs spec.rayClusterSpec.rayVersion 2.6.0 or newer"
)
TOKEN_AUTH_NEEDS_RAY_2_52: Final = Rule(
    "token-auth-needs-ray-2.52",
    "spec.rayClusterSpec.authOptions.mode: token needs spec.rayClusterSpec.rayVersion 2.52.0 or newer",
)
GROUP_LABELS_VALID: Final = Rule(
    "group-labels-valid", "a group's labels must be valid Kubernetes label keys and values"
)
SUSPEND_FORBIDS_CLUSTER_SELECTOR: Final = Rule(
    "suspend-forbids-cluster-selector",
    "spec.suspend cannot be used with spec.clusterSelector (the existing RayCluster is not the RayJob's to tear down); "
    "Kueue sets spec.suspend on every queue-labelled RayJob but never admits one with a clusterSelector: remove the "
    "kueue.x-k8s.io/queue-name label, or set spec.suspend: false to run it",
)
"""Not CEL on purpose: Kueue's webhook suspends such a RayJob before the API server validates it, and a refused
create would break ``kubectl apply``. As with KubeRay and Kueue, the RayJob is accepted and becomes
ValidationFailed (which recovers once spec.suspend is false)."""
WAITING_NEEDS_INTERACTIVE: Final = Rule(
    "waiting-needs-interactive",
    "status.jobDeploymentStatus Waiting is only possible with spec.submissionMode: InteractiveMode",
)

# --- the in-tree autoscaler (KubeRay's ValidateRayClusterSpec) ---------------------------------------------
_V2_ENV = "RAY_enable_autoscaler_v2"
AUTOSCALER_VERSION_AND_ENV: Final = Rule(
    "autoscaler-version-and-env",
    f"autoscalerOptions.version and the head container's env {_V2_ENV} are both set;"
    " use only autoscalerOptions.version",
)
AUTOSCALER_V2_ENV_WITHOUT_AUTOSCALING: Final = Rule(
    "autoscaler-v2-env-without-autoscaling",
    f"the head container's env {_V2_ENV} is true but enableInTreeAutoscaling is not; set enableInTreeAutoscaling: true",
)
AUTOSCALER_V2_RESTART_NEVER: Final = Rule(
    "autoscaler-v2-restart-never",
    "with autoscaler v2 the restartPolicy of the head and worker pod templates must be Never (or unset)",
)
AUTOSCALER_GENERATED_COMMAND_RESERVED: Final = Rule(
    "autoscaler-generated-command-reserved",
    "autoscalerOptions.env must not set KUBERAY_GEN_AUTOSCALER_START_CMD (the operator sets it)",
)
GROUP_IDLE_TIMEOUT_NEEDS_V2: Final = Rule(
    "group-idle-timeout-needs-v2",
    "workerGroupSpecs[].idleTimeoutSeconds needs the autoscaler (enableInTreeAutoscaling: true) in version v2"
    " and must be 0 or greater",
)

# --- options the operator cannot honour yet (refused instead of ignored) ------------------------------------
GCS_FAULT_TOLERANCE_UNSUPPORTED: Final = Rule(
    "gcs-fault-tolerance-unsupported",
    "gcsFaultToleranceOptions is not supported by rayjob-operator yet (the head would run without GCS fault"
    " tolerance); remove it",
)
TLS_UNSUPPORTED: Final = Rule(
    "tls-unsupported",
    "tlsOptions is not supported by rayjob-operator yet (Ray would run without TLS); remove it",
)
NETWORK_POLICY_UNSUPPORTED: Final = Rule(
    "network-policy-unsupported",
    "networkPolicy is not supported by rayjob-operator yet (no NetworkPolicy would be created); remove it",
)
INGRESS_UNSUPPORTED: Final = Rule(
    "ingress-unsupported",
    "headGroupSpec.enableIngress is not supported by rayjob-operator yet (no Ingress would be created);"
    " remove it or set it to false",
)
HISTORY_SERVER_UNSUPPORTED: Final = Rule(
    "history-server-unsupported",
    "historyServerOptions is not supported by rayjob-operator yet (no log collector would run); remove it",
)
