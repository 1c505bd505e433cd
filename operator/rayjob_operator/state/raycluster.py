"""What a RayCluster needs: pods and services to create or delete, and the other children it owns. Pure.

``plan_children`` compares the spec with the observed pods and services (the per-group rules live in
:mod:`worker_groups`); ``cluster_children`` lists the objects that are created once and never changed
(the autoscaler's ServiceAccount, Role and RoleBinding, the token Secret). The status is in
:mod:`raycluster_status`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import auth as auth_builders
from rayjob_operator.builders import autoscaler as autoscaler_builders
from rayjob_operator.builders import raycluster as pod_builders
from rayjob_operator.builders import services as service_builders
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model import bodies
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.state import pods
from rayjob_operator.state.conditions import condition_is_true
from rayjob_operator.state.worker_groups import PodDeletion, plan_group

Body = dict[str, Any]
PROVISIONED = "RayClusterProvisioned"

__all__ = ["ClusterObservation", "ClusterPlan", "PodDeletion", "cluster_children", "plan_children"]


@dataclasses.dataclass(frozen=True)
class ClusterObservation:
    cluster: RayCluster
    pods: Sequence[Body]
    """Pods labelled with the cluster's name (terminating ones included)."""
    services: Sequence[Body]
    now: datetime


@dataclasses.dataclass(frozen=True)
class ClusterPlan:
    create_pods: list[Body]
    delete_pods: list[PodDeletion]
    create_services: list[Body]

    @property
    def empty(self) -> bool:
        return not (self.create_pods or self.delete_pods or self.create_services)


def head_pods(observed: Sequence[Body]) -> list[Body]:
    return [p for p in observed if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD]


def worker_pods(observed: Sequence[Body], group: str | None = None) -> list[Body]:
    return [
        p
        for p in observed
        if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_WORKER
        and (group is None or pods.labels(p).get(constants.LABEL_GROUP) == group)
    ]


def live(observed: Sequence[Body]) -> list[Body]:
    return [p for p in observed if not pods.is_terminating(p) and not pods.is_dead(p)]


def _is_head(pod: Body) -> bool:
    return pods.labels(pod).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD


def plan_children(obs: ClusterObservation, *, options: PodOptions) -> ClusterPlan:
    cluster = obs.cluster
    deletions = [
        PodDeletion(pods.name(p), "its Ray container has ended", head=_is_head(p))
        for p in obs.pods
        if pods.is_dead(p) and not pods.is_terminating(p)
    ]
    if cluster.spec.suspend:
        deletions += [PodDeletion(pods.name(p), "the cluster is suspended", head=_is_head(p)) for p in live(obs.pods)]
        return ClusterPlan([], deletions, _missing_services(obs, options))
    creates, head_deletions = _plan_head(obs, options)
    deletions += head_deletions
    for group in cluster.spec.worker_groups():
        everyone = worker_pods(obs.pods, group.group_name)
        group_plan = plan_group(cluster, group, live(everyone), everyone, options)
        creates += group_plan.creates
        deletions += group_plan.deletions
    known_groups = {g.group_name for g in cluster.spec.worker_groups()}
    deletions += [
        PodDeletion(pods.name(p), "its worker group was removed")
        for p in live(worker_pods(obs.pods))
        if pods.labels(p).get(constants.LABEL_GROUP) not in known_groups
    ]
    return ClusterPlan(creates, deletions, _missing_services(obs, options))


def _plan_head(obs: ClusterObservation, options: PodOptions) -> tuple[list[Body], list[PodDeletion]]:
    heads = head_pods(obs.pods)
    running = sorted(live(heads), key=lambda p: bodies.meta(p).get("creationTimestamp") or "")
    extra = [PodDeletion(pods.name(p), "the cluster has more than one head", head=True) for p in running[1:]]
    if running or any(pods.is_terminating(p) for p in heads):
        return [], extra
    cluster = obs.cluster
    no_restart = (cluster.metadata.annotations or {}).get(constants.ANNOTATION_DISABLE_HEAD_RESTART) == "true"
    provisioned = condition_is_true(cluster.status.conditions if cluster.status else None, PROVISIONED)
    if no_restart and provisioned:
        return [], extra  # SidecarMode: a lost head is a failed job, not something to recreate
    return [pod_builders.build_head_pod(cluster, options=options)], extra


def _missing_services(obs: ClusterObservation, options: PodOptions) -> list[Body]:
    existing = {bodies.name(s) for s in obs.services}
    wanted = [service_builders.build_head_service(obs.cluster, options=options)]
    headless = service_builders.build_headless_worker_service(obs.cluster)
    if headless is not None:
        wanted.append(headless)
    return [s for s in wanted if s["metadata"]["name"] not in existing]


# --- children created once -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Child:
    """An object the cluster needs that is created once and then left alone."""

    kind: str
    """ServiceAccount, Role, RoleBinding or Secret."""
    name: str
    manifest: Body | None
    """``None``: the user's to create (a ServiceAccount named in the head template); only checked."""


def cluster_children(cluster: RayCluster, *, token: str) -> list[Child]:
    """The autoscaler's RBAC (with autoscaling) and the token Secret (token auth without a secretName).

    ``token`` is the value a new Secret gets (an existing Secret is never changed).
    """
    children: list[Child] = []
    if cluster.spec.autoscaling:
        account = autoscaler_builders.service_account_name(cluster)
        user_named = autoscaler_builders.user_service_account(cluster) is not None
        manifest = None if user_named else autoscaler_builders.build_service_account(cluster)
        children.append(Child("ServiceAccount", account, manifest))
        role = autoscaler_builders.role_name(cluster)
        children.append(Child("Role", role, autoscaler_builders.build_role(cluster)))
        children.append(Child("RoleBinding", role, autoscaler_builders.build_role_binding(cluster)))
    if auth_builders.generates_auth_secret(cluster.spec):
        secret = auth_builders.build_auth_secret(cluster, token=token)
        children.append(Child("Secret", secret["metadata"]["name"], secret))
    return children
