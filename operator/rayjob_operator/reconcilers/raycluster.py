"""RayCluster reconcile: observe (cache) → plan (pure) → act (create/delete) → write status once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pydantic

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.validation import cluster_spec_violations
from rayjob_operator.reconcilers.context import Context, Key
from rayjob_operator.state import pods
from rayjob_operator.state.raycluster import ClusterObservation, ClusterPlan, compute_status, plan_children

logger = logging.getLogger(__name__)
Body = dict[str, Any]
CREATE_PARALLELISM = 8
RETRY_AFTER_FAILURE = 5.0


async def reconcile_raycluster(key: Key, ctx: Context) -> float | None:
    namespace, name = key
    body = ctx.store.get(res.RAYCLUSTERS, namespace, name)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return None  # gone or going: owner references take its children with it
    cluster = _parse(body, ctx)
    if cluster is None or cluster.spec.managed_by not in (None, constants.MANAGER_KUBERAY):
        return None
    plan = plan_children(_observe(cluster, ctx), options=ctx.pod_options)
    failure = await _act(plan, cluster, body, ctx)
    status = compute_status(_observe(cluster, ctx), failure=failure)
    if status != cluster.status:
        await _write_status(body, status.model_dump(by_alias=True, exclude_none=True, mode="json"), ctx)
    return RETRY_AFTER_FAILURE if failure else None


def _parse(body: Body, ctx: Context) -> RayCluster | None:
    try:
        cluster = RayCluster.model_validate(body)
    except pydantic.ValidationError as exc:
        _invalid(body, ctx, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return None
    violations = cluster_spec_violations(cluster.spec)
    if violations:
        _invalid(body, ctx, "; ".join(map(str, violations)))
        return None
    return cluster


def _invalid(body: Body, ctx: Context, message: str) -> None:
    meta = body["metadata"]
    logger.warning("RayCluster %s/%s is invalid: %s", meta["namespace"], meta["name"], message)
    ctx.cluster_events.emit(
        body,
        type="Warning",
        reason="InvalidRayClusterSpec",
        action="Validate",
        note=f"{meta['namespace']}/{meta['name']}: {message}",
    )


def _observe(cluster: RayCluster, ctx: Context) -> ClusterObservation:
    owner = f"{cluster.metadata.namespace}/{cluster.metadata.uid}"
    return ClusterObservation(
        cluster=cluster,
        pods=ctx.store.cache(res.PODS).by_index("owner", owner),
        services=ctx.store.cache(res.SERVICES).by_index("owner", owner),
        now=ctx.clock(),
    )


async def _act(plan: ClusterPlan, cluster: RayCluster, body: Body, ctx: Context) -> str | None:
    """Carry out the plan; return why a pod could not be created, if one could not."""
    namespace = cluster.metadata.namespace or ""
    for service in plan.create_services:
        await _create(
            res.SERVICES, namespace, service, body, ctx, reason="CreatedService", failed="FailedToCreateService"
        )
    for deletion in plan.delete_pods:
        if not await ctx.store.delete(res.PODS, namespace, deletion.name):
            ctx.cluster_events.emit(
                body,
                type="Normal",
                reason="DeletedPod",
                action="Delete",
                note=f"Deleted pod {namespace}/{deletion.name}: {deletion.reason}",
            )
    limit = asyncio.Semaphore(CREATE_PARALLELISM)

    async def create_pod(pod: Body) -> str | None:
        async with limit:
            head = pods.labels(pod).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD
            kind = "HeadPod" if head else "WorkerPod"
            return await _create(
                res.PODS, namespace, pod, body, ctx, reason=f"Created{kind}", failed=f"FailedToCreate{kind}"
            )

    # Every creation finishes before this reconcile ends, even if one raises: a creation still in
    # flight when the next reconcile looks at the cache would be made a second time.
    outcomes = await asyncio.gather(*(create_pod(p) for p in plan.create_pods), return_exceptions=True)
    errors_raised = [o for o in outcomes if isinstance(o, BaseException)]
    if errors_raised:
        raise errors_raised[0]
    failures = [o for o in outcomes if isinstance(o, str)]
    return failures[0] if failures else None


async def _create(
    resource: res.Resource, namespace: str, child: Body, owner: Body, ctx: Context, *, reason: str, failed: str
) -> str | None:
    try:
        created, _ = await ctx.store.create(resource, namespace, child)
    except (errors.Invalid, errors.Forbidden) as exc:
        if errors.namespace_terminating(exc):
            return None  # the namespace is going away, and the cluster with it
        message = f"Failed to create {resource.kind} in {namespace}: {exc.message}"
        ctx.cluster_events.emit(owner, type="Warning", reason=failed, action="Create", note=message)
        return message
    ctx.cluster_events.emit(
        owner,
        type="Normal",
        reason=reason,
        action="Create",
        note=f"Created {resource.kind} {namespace}/{created['metadata']['name']}",
    )
    return None


async def _write_status(body: Body, status: Body, ctx: Context) -> None:
    try:
        await ctx.store.replace_status(res.RAYCLUSTERS, {**body, "status": status})
    except errors.Conflict:  # decide again on the newer object, read from the API in case the watch is behind
        meta = body["metadata"]
        await ctx.store.refresh(res.RAYCLUSTERS, meta["namespace"], meta["name"])
        ctx.cluster_queue.add_after((meta["namespace"], meta["name"]), 0.2)
