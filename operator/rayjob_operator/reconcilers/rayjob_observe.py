"""Gathering a RayJob's observation from the caches and the poller (no API calls). Impure glue."""

from __future__ import annotations

import secrets
from typing import Any

import pydantic

from rayjob_operator import constants
from rayjob_operator.builders import services
from rayjob_operator.builders.rayjob import job_head_service_name
from rayjob_operator.k8s import resources as res
from rayjob_operator.model import bodies
from rayjob_operator.model.base import ObjectMeta
from rayjob_operator.model.bodies import Body, Key
from rayjob_operator.model.enums import SubmissionMode
from rayjob_operator.model.k8s_time import parse_time
from rayjob_operator.model.rayjob import RayJob, RayJobSpec, RayJobStatus
from rayjob_operator.model.validation import InvalidSpec, validate_rayjob
from rayjob_operator.reconcilers.context import Context
from rayjob_operator.reconcilers.raycluster import parsed_cluster
from rayjob_operator.runtime import store
from rayjob_operator.runtime.poller import Target
from rayjob_operator.state import pods
from rayjob_operator.state.rayjob.observation import (
    ClusterView,
    JobObservation,
    SidecarView,
    SubmitterView,
    Timeouts,
)


def parse(body: Body) -> tuple[RayJob, InvalidSpec | None]:
    """The RayJob and, if its spec breaks a rule, why. A body that does not even parse is still usable."""
    try:
        return validate_rayjob(body), None
    except InvalidSpec as invalid:
        try:
            return RayJob.model_validate(body), invalid
        except pydantic.ValidationError:
            return _bare(body), invalid


def _bare(body: Body) -> RayJob:
    try:
        status = RayJobStatus.model_validate(body.get("status") or {})
    except pydantic.ValidationError:
        status = RayJobStatus()
    spec = RayJobSpec.model_construct()
    return RayJob.model_construct(metadata=ObjectMeta.model_validate(body["metadata"]), spec=spec, status=status)


def random_suffix() -> str:
    return "".join(secrets.choice(constants.RANDOM_SUFFIX_ALPHABET) for _ in range(constants.RANDOM_SUFFIX_LENGTH))


def timeouts(ctx: Context) -> Timeouts:
    config = ctx.config
    return Timeouts(
        status_check=config.status_check_timeout_seconds,
        transition_grace=config.transition_grace_period_seconds,
        submitter_finished=config.submitter_finished_timeout_seconds,
        submitter_start=config.submitter_start_timeout_seconds,
        lost=config.head_lost_grace_seconds,
        teardown_pods=config.teardown_pod_timeout_seconds,
        delete_self_after_finish=config.delete_rayjob_after_finish,
    )


def observe(key: Key, job: RayJob, body: Body, invalid: InvalidSpec | None, ctx: Context) -> JobObservation:
    status = job.status or RayJobStatus()
    cluster_body = ctx.store.get(res.RAYCLUSTERS, key[0], status.ray_cluster_name) if status.ray_cluster_name else None
    cluster = _cluster_view(job, cluster_body, ctx) if cluster_body else None
    mode = job.spec.submission_mode if isinstance(job.spec.submission_mode, SubmissionMode) else None
    target = poll_target(key, job, ctx)
    return JobObservation(
        job=job,
        body=body,
        now=ctx.clock(),
        invalid=invalid,
        has_finalizer=constants.RAYJOB_FINALIZER in (job.metadata.finalizers or []),
        cluster=cluster,
        submitter=_submitter_view(job, ctx) if mode == SubmissionMode.K8S_JOB else None,
        sidecar=_sidecar_view(cluster_body, ctx) if mode == SubmissionMode.SIDECAR and cluster_body else None,
        ray=ctx.poller.latest(key, target) if target is not None else None,
        random_suffix=random_suffix(),
        job_service_cluster=_job_service_cluster(job, ctx),
        **_pods_left(job, ctx),
        timeouts=timeouts(ctx),
        submitter_image=ctx.config.submitter_image,
        options=ctx.pod_options,
    )


def _pods_left(job: RayJob, ctx: Context) -> dict[str, Any]:
    """The attempt's pods still in the API: a suspend or retry is done only when they are gone."""
    namespace, status = job.metadata.namespace or "", job.status or RayJobStatus()
    left = ctx.store.by_index(res.PODS, "group", store.submitter_pods_of(namespace, job.metadata.name or ""))
    if status.ray_cluster_name and not job.spec.cluster_selector:
        left += ctx.store.by_index(res.PODS, "group", store.pods_of_cluster(namespace, status.ray_cluster_name))
    stamps = [parse_time(bodies.meta(p).get("deletionTimestamp")) for p in left]
    since = min((s for s in stamps if s is not None), default=None)
    return {"pods_left": tuple(pods.name(p) for p in left), "pods_terminating_since": since}


def _job_service_cluster(job: RayJob, ctx: Context) -> str | None:
    service = ctx.store.get(res.SERVICES, job.metadata.namespace or "", job_head_service_name(job))
    if service is None or not bodies.controlled_by(service, job.metadata.uid):
        return None
    return str(((service.get("spec") or {}).get("selector") or {}).get(constants.LABEL_CLUSTER, "")) or None


def poll_target(key: Key, job: RayJob, ctx: Context) -> Target | None:
    status = job.status or RayJobStatus()
    if not (status.dashboard_url and status.job_id):
        return None
    _, token = ctx.tokens.lookup(key, status.ray_cluster_name or "")
    return Target(status.dashboard_url, status.job_id, token)


def _children_pods(owner: Body, ctx: Context) -> list[Body]:
    return ctx.store.by_index(res.PODS, "owner", store.owned_by(bodies.namespace(owner), bodies.uid(owner)))


def _cluster_view(job: RayJob, body: Body, ctx: Context) -> ClusterView:
    namespace = bodies.namespace(body)
    model, _ = parsed_cluster(body, ctx)
    cluster_pods = _children_pods(body, ctx)
    address = services.dashboard_address(model, options=ctx.pod_options) if model else None
    service_name = services.head_service_name(model) if model else None
    groups = model.spec.worker_groups() if model else []
    return ClusterView(
        name=bodies.name(body),
        owned=bodies.controlled_by(body, job.metadata.uid),
        deleting=bodies.is_deleting(body),
        status=model.status if model else None,
        workers_suspended=all(g.suspend for g in groups),
        problem=next((p for p in map(_pod_problem, cluster_pods) if p), None),
        head_service_ready=bool(service_name and ctx.store.get(res.SERVICES, namespace, service_name)),
        dashboard_address=address,
        model=model,
    )


def _pod_problem(pod: Body) -> str | None:
    problem = pods.waiting_reason(pod) or pods.unschedulable_reason(pod)
    return f"pod {pods.name(pod)}: {problem}" if problem else None


def _submitter_view(job: RayJob, ctx: Context) -> SubmitterView:
    body = ctx.store.get(res.JOBS, job.metadata.namespace or "", job.metadata.name or "")
    if body is None or not bodies.controlled_by(body, job.metadata.uid):
        return SubmitterView(exists=False)
    meta = bodies.meta(body)
    conditions = {
        c.get("type"): c for c in (body.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
    }
    failed = conditions.get("Failed")
    finished = failed or conditions.get("Complete")
    job_pods = _children_pods(body, ctx)
    return SubmitterView(
        exists=True,
        deleting=bodies.is_deleting(body),
        created_at=parse_time(meta.get("creationTimestamp")),
        failed=(str(failed.get("reason")), str(failed.get("message") or "")) if failed else None,
        finished_at=parse_time(finished.get("lastTransitionTime")) if finished else None,
        started=_submitter_started(body, job_pods) or finished is not None,
        problem=next((p for p in map(_pod_problem, job_pods) if p), None),
    )


def _submitter_started(job: Body, job_pods: list[Body]) -> bool:
    """A pod of the submitter Job runs or ran (its count in the Job's status says so even for pods gone)."""
    counts = job.get("status") or {}
    ran = any(int(counts.get(field) or 0) > 0 for field in ("ready", "succeeded", "failed"))
    return ran or any(pods.phase(p) in ("Running", "Succeeded", "Failed") for p in job_pods)


def _sidecar_view(cluster_body: Body, ctx: Context) -> SidecarView:
    cluster_pods = _children_pods(cluster_body, ctx)
    heads = [
        p
        for p in cluster_pods
        if pods.labels(p).get(constants.LABEL_NODE_TYPE) == constants.NODE_TYPE_HEAD and not pods.is_terminating(p)
    ]
    if not heads:
        return SidecarView(head_exists=False)
    ended = pods.terminated(heads[0], constants.SUBMITTER_CONTAINER_NAME)
    if ended is None:
        return SidecarView(head_exists=True)
    return SidecarView(
        head_exists=True,
        terminated=True,
        exit_code=ended.get("exitCode"),
        reason=ended.get("reason"),
        finished_at=parse_time(ended.get("finishedAt")),
    )
