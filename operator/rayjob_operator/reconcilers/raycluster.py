"""RayCluster reconcile: observe (cache) → plan (pure) → act (create/delete) → write status once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pydantic

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body, Key
from rayjob_operator.model.event_reasons import EventReason as R
from rayjob_operator.model.raycluster import RayCluster, RayClusterStatus
from rayjob_operator.model.validation import cluster_spec_violations
from rayjob_operator.reconcilers import raycluster_children as children
from rayjob_operator.reconcilers.context import Context, ParsedCluster
from rayjob_operator.runtime import store
from rayjob_operator.state import pods, requeue
from rayjob_operator.state.conditions import condition_is_true
from rayjob_operator.state.raycluster import PROVISIONED, ClusterObservation, ClusterPlan, PodDeletion, plan_children
from rayjob_operator.state.raycluster_status import compute_status, invalid_status

logger = logging.getLogger(__name__)
CREATE_PARALLELISM = 8


async def reconcile_raycluster(key: Key, ctx: Context) -> float | None:
    namespace, name = key
    body = ctx.store.get(res.RAYCLUSTERS, namespace, name)
    if body is None or bodies.is_deleting(body):
        if body is None:
            ctx.metrics.forget_cluster(namespace, name)
            ctx.parsed_clusters.forget(key)
        return None  # gone or going: owner references take its children with it
    cluster, invalid = parsed_cluster(body, ctx)
    if invalid is not None:
        await _refuse(body, cluster, invalid, ctx)
        return None
    if cluster is None or cluster.spec.managed_by not in (None, constants.MANAGER_KUBERAY):
        return None
    failure = await children.ensure_children(cluster, body, ctx)
    if failure is None:
        plan = plan_children(_observe(cluster, ctx), options=ctx.pod_options)
        failure = await _act(plan, cluster, body, ctx)
    status = compute_status(_observe(cluster, ctx), failure=failure)
    if status != cluster.status:
        _observe_provisioning(cluster, status, ctx)
        await _write_status(body, status, ctx)
    return requeue.AFTER_CREATE_FAILURE if failure else None


def parsed_cluster(body: Body, ctx: Context) -> ParsedCluster:
    """The cluster and why it is invalid, parsed once per resourceVersion."""
    return ctx.parsed_clusters.parse(bodies.key(body), body, _parse)


def _parse(body: Body) -> ParsedCluster:
    """The cluster, and why it is invalid if it is (a body that does not parse has no model)."""
    try:
        cluster = RayCluster.model_validate(body)
    except pydantic.ValidationError as exc:
        return None, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    violations = cluster_spec_violations(cluster.spec)
    return cluster, ("; ".join(map(str, violations)) if violations else None)


async def _refuse(body: Body, cluster: RayCluster | None, message: str, ctx: Context) -> None:
    """An invalid cluster gets nothing: a Warning event and the reason in its status (it recovers when fixed)."""
    if cluster is not None and cluster.status is not None and cluster.status.reason == message:
        return  # said already
    namespace, name = bodies.key(body)
    logger.warning("RayCluster %s/%s is invalid: %s", namespace, name, message)
    note = f"{namespace}/{name}: {message}"
    ctx.cluster_events.emit(body, type="Warning", reason=R.INVALID_RAYCLUSTER_SPEC, action="Validate", note=note)
    if cluster is not None:
        await _write_status(body, invalid_status(cluster, message, ctx.clock()), ctx)


def _observe(cluster: RayCluster, ctx: Context) -> ClusterObservation:
    owner = store.owned_by(cluster.metadata.namespace or "", cluster.metadata.uid)
    return ClusterObservation(
        cluster=cluster,
        pods=ctx.store.by_index(res.PODS, "owner", owner),
        services=ctx.store.by_index(res.SERVICES, "owner", owner),
        now=ctx.clock(),
    )


def _observe_provisioning(cluster: RayCluster, status: RayClusterStatus, ctx: Context) -> None:
    """``kuberay_cluster_provisioned_duration_seconds`` when RayClusterProvisioned first becomes true."""
    before = condition_is_true(cluster.status.conditions if cluster.status else None, PROVISIONED)
    created: datetime | None = cluster.metadata.creation_timestamp
    if before or created is None or not condition_is_true(status.conditions, PROVISIONED):
        return
    meta = cluster.metadata
    seconds = (ctx.clock() - created).total_seconds()
    ctx.metrics.cluster_provisioned.set(meta.name, meta.namespace, meta.uid, value=seconds)


async def _act(plan: ClusterPlan, cluster: RayCluster, body: Body, ctx: Context) -> str | None:
    """Carry out the plan; return why a pod could not be created, if one could not."""
    namespace = cluster.metadata.namespace or ""
    for service in plan.create_services:
        await _create(
            res.SERVICES, namespace, service, body, ctx, reasons=(R.CREATED_SERVICE, R.FAILED_TO_CREATE_SERVICE)
        )
    for deletion in plan.delete_pods:
        await _delete_pod(deletion, namespace, body, ctx)
    limit = asyncio.Semaphore(CREATE_PARALLELISM)

    async def create_pod(pod: Body) -> str | None:
        async with limit:
            head = pods.labels(pod).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD
            reasons = (
                (R.CREATED_HEAD_POD, R.FAILED_TO_CREATE_HEAD_POD)
                if head
                else (
                    R.CREATED_WORKER_POD,
                    R.FAILED_TO_CREATE_WORKER_POD,
                )
            )
            return await _create(res.PODS, namespace, pod, body, ctx, reasons=reasons)

    # Every creation finishes before this reconcile ends, even if one raises: a creation still in
    # flight when the next reconcile looks at the cache would be made a second time.
    outcomes = await asyncio.gather(*(create_pod(p) for p in plan.create_pods), return_exceptions=True)
    errors_raised = [o for o in outcomes if isinstance(o, BaseException)]
    if errors_raised:
        raise errors_raised[0]
    failures = [o for o in outcomes if isinstance(o, str)]
    return failures[0] if failures else None


async def _delete_pod(deletion: PodDeletion, namespace: str, owner: Body, ctx: Context) -> None:
    which = "head" if deletion.head else "worker"
    deleted, refused = (
        (R.DELETED_HEAD_POD, R.FAILED_TO_DELETE_HEAD_POD)
        if deletion.head
        else (
            R.DELETED_WORKER_POD,
            R.FAILED_TO_DELETE_WORKER_POD,
        )
    )
    try:
        gone = await ctx.store.delete(res.PODS, namespace, deletion.name)
    except errors.KubeError as exc:
        note = f"Failed deleting {which} Pod {namespace}/{deletion.name} ({deletion.reason}), {exc}"
        ctx.cluster_events.emit(owner, type="Warning", reason=refused, action="Delete", note=note)
        raise
    if not gone:
        note = f"Deleted {which} Pod {namespace}/{deletion.name}: {deletion.reason}"
        ctx.cluster_events.emit(owner, type="Normal", reason=deleted, action="Delete", note=note)


async def _create(
    resource: res.Resource, namespace: str, child: Body, owner: Body, ctx: Context, *, reasons: tuple[R, R]
) -> str | None:
    created_reason, failed_reason = reasons
    try:
        created, new = await ctx.store.create(resource, namespace, child)
    except (errors.Invalid, errors.Forbidden) as exc:
        if errors.namespace_terminating(exc):
            return None  # the namespace is going away, and the cluster with it
        message = f"Failed to create {resource.kind} in {namespace}: {exc.message}"
        ctx.cluster_events.emit(owner, type="Warning", reason=failed_reason, action="Create", note=message)
        return message
    if new:  # one that existed already (a cache behind the API) was not created by this reconcile
        ctx.cluster_events.emit(
            owner,
            type="Normal",
            reason=created_reason,
            action="Create",
            note=f"Created {resource.kind} {namespace}/{bodies.name(created)}",
        )
    return None


async def _write_status(body: Body, status: RayClusterStatus, ctx: Context) -> None:
    wire = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    try:
        await ctx.store.replace_status(res.RAYCLUSTERS, {**body, "status": wire})
    except errors.Conflict:  # decide again on the newer object, read from the API in case the watch is behind
        await ctx.store.refresh(res.RAYCLUSTERS, *bodies.key(body))
        ctx.cluster_queue.add_after(bodies.key(body), requeue.AFTER_CONFLICT)
