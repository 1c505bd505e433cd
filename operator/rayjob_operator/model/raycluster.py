"""Typed views of the ``ray.io/v1`` RayCluster: the fields a RayJob and the RayCluster controller use.

Pod templates keep every field the user wrote: only ``spec.containers`` and ``spec.restartPolicy`` are
declared (so CEL rules can see them); everything else passes through as given.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from rayjob_operator import constants
from rayjob_operator.model import k8s_defaults, rules
from rayjob_operator.model.base import Crd, KubeModel, ObjectMeta, Opaque, OpenModel, Rule, Time
from rayjob_operator.model.enums import AuthMode, AutoscalerVersion, ClusterState, UpscalingMode

INT32_MAX = 2_147_483_647


Containers = Annotated[list[Opaque], Crd(schema=k8s_defaults.CONTAINERS)]


class PodSpec(OpenModel):
    """Pod spec, kept as given (plus the Kubernetes defaults inside containers); containers and restartPolicy
    are declared for validation."""

    containers: Containers | None = None
    init_containers: Containers | None = None
    restart_policy: str | None = None


class PodTemplate(OpenModel):
    """Pod template (PodTemplateSpec), kept exactly as given."""

    metadata: Opaque | None = None
    spec: PodSpec | None = None

    def containers(self) -> list[dict[str, Any]]:
        return list(self.spec.containers or []) if self.spec else []


StartParams = dict[str, str]


class HeadGroupSpec(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (
        rules.HEAD_NEEDS_CONTAINER,
        rules.GROUP_RESOURCES_EXCLUSIVE,
        rules.RAY_START_LABELS_FORBIDDEN,
    )

    template: PodTemplate
    """The head pod template; its first container runs Ray."""
    ray_start_params: StartParams | None = None
    """Flags for ``ray start --head``."""
    service_type: str | None = None
    """Type of the head Service (ClusterIP, NodePort, LoadBalancer)."""
    head_service: Opaque | None = None
    """A full Service that replaces the generated head Service."""
    enable_ingress: bool | None = None
    ingress_options: Opaque | None = None
    resources: dict[str, str] | None = None
    """Ray resources of the head; overrides rayStartParams resources."""
    labels: dict[str, str] | None = None
    """Ray node labels, also added to the pod."""


class WorkerGroupSpec(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (
        rules.WORKER_NEEDS_CONTAINER,
        rules.WORKER_MIN_LE_MAX,
        rules.GROUP_RESOURCES_EXCLUSIVE,
        rules.RAY_START_LABELS_FORBIDDEN,
    )

    group_name: str
    """Name of the group; pods carry it in the ray.io/group label."""
    template: PodTemplate
    """The worker pod template; its first container runs Ray."""
    replicas: Annotated[int, Crd(publish_default=True, rules=(rules.REPLICAS_NON_NEGATIVE,))] = 0
    """Desired number of replicas (each of numOfHosts pods)."""
    min_replicas: Annotated[int, Crd(publish_default=True, rules=(rules.REPLICAS_NON_NEGATIVE,))] = 0
    max_replicas: Annotated[int, Crd(publish_default=True, rules=(rules.REPLICAS_NON_NEGATIVE,))] = INT32_MAX
    num_of_hosts: Annotated[int, Crd(publish_default=True, rules=(rules.NUM_OF_HOSTS_POSITIVE,))] = 1
    """Pods per replica (multi-host groups)."""
    ray_start_params: StartParams | None = None
    suspend: bool | None = None
    """Deletes the group's pods while true (used by the DeleteWorkers deletion policy)."""
    scale_strategy: Opaque | None = None
    idle_timeout_seconds: int | None = None
    priority: int | None = None
    resources: dict[str, str] | None = None
    labels: dict[str, str] | None = None

    def desired_replicas(self, *, autoscaling: bool) -> int:
        """Replicas this group should have: 0 while suspended; with the autoscaler on, replicas clamped
        into [minReplicas, maxReplicas] as KubeRay does.

        Without the autoscaler replicas is not clamped (unlike KubeRay): Kueue reserves quota for exactly
        replicas x numOfHosts pods, and the pods we create must match what it admitted.
        """
        if self.suspend:
            return 0
        if autoscaling:
            return min(max(self.replicas, self.min_replicas), self.max_replicas)
        return self.replicas

    def desired_pods(self, *, autoscaling: bool = False) -> int:
        """Pods this group should have: its desired replicas x numOfHosts."""
        return self.desired_replicas(autoscaling=autoscaling) * self.num_of_hosts


class AutoscalerOptions(OpenModel):
    """How the in-tree autoscaler sidecar is built and behaves (fields KubeRay does not read are kept)."""

    version: Annotated[AutoscalerVersion, Crd(enum=True)] | None = None
    """v1 or v2; unset lets the Ray version decide."""
    idle_timeout_seconds: Annotated[int, Crd(rules=(rules.AUTOSCALER_IDLE_TIMEOUT_NON_NEGATIVE,))] | None = None
    """Seconds a worker stays idle before the autoscaler removes it (read by the autoscaler, default 60)."""
    upscaling_mode: Annotated[UpscalingMode, Crd(enum=True)] | None = None
    image: str | None = None
    """Image of the autoscaler container; default: the head's Ray image."""
    image_pull_policy: str | None = None
    resources: Opaque | None = None
    """Resources of the autoscaler container; default 500m CPU and 512Mi memory (requests and limits)."""
    security_context: Opaque | None = None
    env: list[Opaque] | None = None
    env_from: list[Opaque] | None = None
    volume_mounts: list[Opaque] | None = None
    command: list[str] | None = None
    """Replaces the generated command (``$KUBERAY_GEN_AUTOSCALER_START_CMD`` holds it)."""
    args: list[str] | None = None


class AuthOptions(KubeModel):
    mode: Annotated[AuthMode, Crd(enum=True)] | None = None
    secret_name: str | None = None
    enable_k8s_token_auth: bool | None = Field(default=None, alias="enableK8sTokenAuth")


class RayClusterSpec(KubeModel):
    crd_rules: ClassVar[tuple[Rule, ...]] = (rules.SUSPEND_WORKERS_WITH_AUTOSCALING,)

    head_group_spec: HeadGroupSpec
    worker_group_specs: list[WorkerGroupSpec] | None = None
    ray_version: str | None = None
    """Ray version of the images (used for version-dependent behaviour)."""
    enable_in_tree_autoscaling: bool | None = None
    autoscaler_options: AutoscalerOptions | None = None
    head_service_annotations: dict[str, str] | None = None
    gcs_fault_tolerance_options: Opaque | None = None
    auth_options: AuthOptions | None = None
    suspend: bool | None = None
    """Deletes every pod of the cluster while true."""
    managed_by: str | None = None
    upgrade_strategy: Opaque | None = None
    network_policy: Opaque | None = None
    tls_options: Opaque | None = None
    history_server_options: Opaque | None = None

    def worker_groups(self) -> list[WorkerGroupSpec]:
        return list(self.worker_group_specs or [])

    @property
    def autoscaling(self) -> bool:
        """``enableInTreeAutoscaling: true``: the autoscaler sidecar decides the replicas."""
        return bool(self.enable_in_tree_autoscaling)


class Condition(KubeModel):
    """A standard ``metav1.Condition``."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: Time | None = None
    observed_generation: Annotated[int, Crd(int64=True)] | None = None


class HeadInfo(KubeModel):
    pod_ip: str | None = Field(default=None, alias="podIP")
    pod_name: str | None = None
    service_ip: str | None = Field(default=None, alias="serviceIP")
    service_name: str | None = None


class RayClusterStatus(KubeModel):
    state: Annotated[ClusterState, Crd(enum=True)] | None = None
    reason: str | None = None
    desired_cpu: str | None = Field(default=None, alias="desiredCPU")
    desired_memory: str | None = None
    desired_gpu: str | None = Field(default=None, alias="desiredGPU")
    desired_tpu: str | None = Field(default=None, alias="desiredTPU")
    desired_worker_replicas: int | None = None
    available_worker_replicas: int | None = None
    ready_worker_replicas: int | None = None
    min_worker_replicas: int | None = None
    max_worker_replicas: int | None = None
    last_update_time: Time | None = None
    state_transition_times: dict[str, Time] | None = None
    endpoints: dict[str, str] | None = None
    head: HeadInfo | None = None
    conditions: list[Condition] | None = None
    observed_generation: Annotated[int, Crd(int64=True)] | None = None


class RayCluster(KubeModel):
    api_version: str = constants.API_VERSION
    kind: str = constants.RAYCLUSTER_KIND
    metadata: ObjectMeta = ObjectMeta()
    spec: RayClusterSpec
    status: RayClusterStatus | None = None
