"""RayJob reconcile: observe → ``decide`` (pure) → act → write status once, only if it changed.

Deletion is handled first and is bounded: stopping the Ray job gets at most
``finalizer_timeout_seconds``, then the finalizer goes, whatever happened to the cluster or dashboard.
"""

from __future__ import annotations

import logging

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body, Key
from rayjob_operator.model.enums import JobDeploymentStatus, JobStatus
from rayjob_operator.model.rayjob import RayJob, RayJobStatus
from rayjob_operator.reconcilers.context import Context
from rayjob_operator.reconcilers.rayjob_act import Actor, dashboard_token, stop_job
from rayjob_operator.reconcilers.rayjob_observe import observe, parse, poll_target
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob import decide
from rayjob_operator.state.rayjob.actions import Action, SaveLogs
from rayjob_operator.state.rayjob.observation import JobObservation
from rayjob_operator.state.rayjob.outcome import Decision, refused
from rayjob_operator.state.rayjob.running import awaits_submitter

logger = logging.getLogger(__name__)
TRACKED_STATES = (JobDeploymentStatus.RUNNING,)


async def reconcile_rayjob(key: Key, ctx: Context) -> float | None:
    body = ctx.store.get(res.RAYJOBS, *key)
    if body is None:
        _forget(key, ctx)
        ctx.metrics.forget_job(*key)
        return None
    if (body.get("spec") or {}).get("managedBy") not in (None, constants.MANAGER_KUBERAY):
        _forget(key, ctx)
        return None  # MultiKueue (or another manager) owns it: no finalizer, no status, nothing
    if bodies.is_deleting(body):
        _forget(key, ctx)
        return await _finalize_deletion(key, body, ctx)
    job, invalid = ctx.parsed.parse(key, body, parse)
    obs = observe(key, job, body, invalid, ctx)
    actor = Actor(key, job, ctx)
    try:
        decision = await _act(actor, obs, decide(obs))
    except errors.Conflict:  # a write lost a race (Kueue's spec patches, say): decide again on the newer object
        await ctx.store.refresh(res.RAYJOBS, *key)
        return requeue.AFTER_CONFLICT
    await _write_status(key, job, decision.status, ctx)
    await actor.run_all(after_status(decision.actions))
    await _track(key, job, obs, decision.status, ctx)
    return decision.requeue_after


def after_status(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    """Keeping the driver log of an attempt that ended only reads the dashboard: it runs once the status is
    written, so the end of a job is never held up by a copy of its log. Its cluster goes in a later reconcile."""
    return tuple(a for a in actions if isinstance(a, SaveLogs))


def before_status(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    return tuple(a for a in actions if not isinstance(a, SaveLogs))


async def _act(actor: Actor, obs: JobObservation, decision: Decision) -> Decision:
    """Carry out the decision; a child the API server refused fails the attempt in this very status."""
    refusal = await actor.run_all(before_status(decision.actions))
    if refusal is None:
        return decision
    settled = refused(obs, decision.status, refusal.kind, refusal.message)
    await actor.run_all(before_status(settled.actions))  # stop, post the event: nothing that can be refused
    return settled


def _forget(key: Key, ctx: Context) -> None:
    """Stop following the RayJob's Ray job, and drop its remembered token."""
    ctx.poller.untrack(key)
    ctx.tokens.forget(key)
    ctx.parsed.forget(key)


def wire_status(status: RayJobStatus) -> Body:
    """The status as written: no nulls, no empty strings (as KubeRay's omitempty)."""
    return {k: v for k, v in status.model_dump(by_alias=True, exclude_none=True, mode="json").items() if v != ""}


def _as_written(body: Body) -> Body:
    return {k: v for k, v in (body.get("status") or {}).items() if v not in ("", None)}


async def _write_status(key: Key, job: RayJob, status: RayJobStatus, ctx: Context) -> None:
    old = job.status or RayJobStatus()
    if status == old:
        return  # what the decision keeps, unchanged (cheaper than comparing the wire forms)
    new_wire = wire_status(status)
    latest = ctx.store.get(res.RAYJOBS, *key)
    if latest is None or bodies.is_deleting(latest) or new_wire == _as_written(latest):
        return  # gone, going, or unchanged (compared with the status as the API holds it: no second dump)
    try:
        await ctx.store.replace_status(res.RAYJOBS, {**latest, "status": new_wire})
    except errors.Conflict:  # someone wrote meanwhile: decide again on the newer object
        await ctx.store.refresh(res.RAYJOBS, *key)
        ctx.job_queue.add_after(key, requeue.AFTER_CONFLICT)
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
        metrics.job_duration.set(*labels, value=seconds)


async def _track(key: Key, job: RayJob, obs: JobObservation, status: RayJobStatus, ctx: Context) -> None:
    """Poll the dashboard while Running (once a K8sJobMode submitter pod ran); otherwise stop polling."""
    poller = ctx.poller
    if status.job_deployment_status not in TRACKED_STATES:
        _forget(key, ctx)
        return
    if awaits_submitter(obs, status):
        poller.untrack(key)
        return
    tracked = job.model_copy(update={"status": status})
    target = poll_target(key, tracked, ctx)
    view = poller.latest(key, target) if target is not None else None
    if view is not None and view.auth_failed:
        ctx.tokens.forget(key)  # the dashboard refused the token: the Secret may have been rotated
    await dashboard_token(ctx, key, tracked)
    target = poll_target(key, tracked, ctx)
    if target is None:
        _forget(key, ctx)
    else:
        poller.track(key, target)


async def _finalize_deletion(key: Key, body: Body, ctx: Context) -> float | None:
    finalizers = bodies.finalizers(body)
    if constants.RAYJOB_FINALIZER not in finalizers:
        return None
    status = body.get("status") or {}
    terminal = JobStatus.terminal(status.get("jobStatus"))
    if not terminal and status.get("dashboardURL") and status.get("jobId"):
        job, _ = parse(body)
        await stop_job(ctx, key, job, status["dashboardURL"], status["jobId"])
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
        return requeue.AFTER_CONFLICT  # the finalizer list changed meanwhile: look again
    logger.info("RayJob %s/%s: finalizer removed", *key)
    return None
