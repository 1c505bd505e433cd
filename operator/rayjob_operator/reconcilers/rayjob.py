"""RayJob reconcile: observe → ``decide`` (pure) → act → write status once, only if it changed.

Deletion is handled first and is bounded: stopping the Ray job gets at most
``finalizer_timeout_seconds``, then the finalizer goes, whatever happened to the cluster or dashboard.
"""

from __future__ import annotations

import logging
from typing import Any

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.enums import JobDeploymentStatus, JobStatus
from rayjob_operator.model.rayjob import RayJob, RayJobStatus
from rayjob_operator.reconcilers.context import Context, Key
from rayjob_operator.reconcilers.rayjob_act import Actor, dashboard_token, stop_job
from rayjob_operator.reconcilers.rayjob_observe import observe, parse, poll_target
from rayjob_operator.state.rayjob import decide

logger = logging.getLogger(__name__)
Body = dict[str, Any]
TRACKED_STATES = (JobDeploymentStatus.RUNNING,)
TERMINAL_JOB_STATUSES = frozenset(s.value for s in JobStatus if s.is_terminal)


async def reconcile_rayjob(key: Key, ctx: Context) -> float | None:
    body = ctx.store.get(res.RAYJOBS, *key)
    poller = ctx.poller
    if body is None:
        poller.untrack(key)
        ctx.failures.pop(key, None)
        ctx.metrics.forget_job(*key)
        return None
    if (body.get("spec") or {}).get("managedBy") not in (None, constants.MANAGER_KUBERAY):
        poller.untrack(key)
        return None  # MultiKueue (or another manager) owns it: no finalizer, no status, nothing
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        poller.untrack(key)
        return await _finalize_deletion(key, body, ctx)
    job, invalid = parse(body)
    decision = decide(observe(key, job, body, invalid, ctx))
    actor = Actor(key, job, ctx)
    for action in decision.actions:
        await actor.run(action)
    await _write_status(key, job, decision.status, ctx)
    await _track(key, job, decision.status, ctx)
    return decision.requeue_after


def wire_status(status: RayJobStatus) -> Body:
    """The status as written: no nulls, no empty strings (as KubeRay's omitempty)."""
    return {k: v for k, v in status.model_dump(by_alias=True, exclude_none=True, mode="json").items() if v != ""}


async def _write_status(key: Key, job: RayJob, status: RayJobStatus, ctx: Context) -> None:
    old = job.status or RayJobStatus()
    new_wire = wire_status(status)
    if new_wire == wire_status(old):
        return
    latest = ctx.store.get(res.RAYJOBS, *key)
    if latest is None or latest.get("metadata", {}).get("deletionTimestamp"):
        return
    try:
        await ctx.store.replace_status(res.RAYJOBS, {**latest, "status": new_wire})
    except errors.Conflict:  # someone wrote meanwhile: decide again on the newer object
        await ctx.store.refresh(res.RAYJOBS, *key)
        ctx.job_queue.add_after(key, 0.2)
        return
    except errors.NotFound:
        return
    before, after = old.job_deployment_status or JobDeploymentStatus.NEW, status.job_deployment_status
    if before != after:
        _record_transition(job, old, status, ctx)
        logger.info(
            "RayJob %s/%s: %s -> %s%s",
            *key,
            before.value or "New",
            after.value if after else "New",
            f" ({status.reason.value}: {status.message})" if status.reason else "",
        )


ATTEMPT_ENDS = (JobDeploymentStatus.COMPLETE, JobDeploymentStatus.FAILED, JobDeploymentStatus.RETRYING)


def _record_transition(job: RayJob, old: RayJobStatus, new: RayJobStatus, ctx: Context) -> None:
    metrics = ctx.metrics
    before = (old.job_deployment_status or JobDeploymentStatus.NEW).value or "New"
    after = (new.job_deployment_status or JobDeploymentStatus.NEW).value or "New"
    metrics.transitions.labels(before, after).inc()
    ended = new.job_deployment_status in ATTEMPT_ENDS and old.job_deployment_status not in ATTEMPT_ENDS
    if ended and new.start_time is not None:
        meta = job.metadata
        seconds = (ctx.clock() - new.start_time).total_seconds()
        labels = (meta.name, meta.namespace, meta.uid, after, str(old.failed or 0))
        metrics.job_duration.labels(*labels).set(seconds)


async def _track(key: Key, job: RayJob, status: RayJobStatus, ctx: Context) -> None:
    """Poll the dashboard while Running; otherwise stop polling."""
    poller = ctx.poller
    if status.job_deployment_status not in TRACKED_STATES:
        poller.untrack(key)
        return
    tracked = job.model_copy(update={"status": status})
    await dashboard_token(ctx, tracked)
    target = poll_target(tracked, ctx)
    if target is None:
        poller.untrack(key)
    else:
        poller.track(key, target)


async def _finalize_deletion(key: Key, body: Body, ctx: Context) -> float | None:
    finalizers = (body.get("metadata") or {}).get("finalizers") or []
    if constants.RAYJOB_FINALIZER not in finalizers:
        return None
    status = body.get("status") or {}
    terminal = status.get("jobStatus") in TERMINAL_JOB_STATUSES
    if not terminal and status.get("dashboardURL") and status.get("jobId"):
        job, _ = parse(body)
        await stop_job(ctx, job, status["dashboardURL"], status["jobId"])
    index = finalizers.index(constants.RAYJOB_FINALIZER)
    patch = [
        {"op": "test", "path": f"/metadata/finalizers/{index}", "value": constants.RAYJOB_FINALIZER},
        {"op": "remove", "path": f"/metadata/finalizers/{index}"},
    ]
    try:
        await ctx.store.patch(res.RAYJOBS, *key, patch, kind="json")
    except errors.NotFound:
        return None
    except (errors.Conflict, errors.Invalid):
        return 0.2  # the finalizer list changed meanwhile: look again
    logger.info("RayJob %s/%s: finalizer removed", *key)
    return None
