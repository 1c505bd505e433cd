"""Suspending and Retrying: stop the Ray job, delete the cluster and the submitter, then reset. Pure.

Both are atomic: once started they finish, even if ``suspend`` flips back meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

from rayjob_operator.model.enums import JobDeploymentStatus
from rayjob_operator.model.event_reasons import EventReason
from rayjob_operator.model.rayjob import RayJobStatus
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob.actions import Action, DeleteCluster, DeleteSubmitter, Emit, StopJob
from rayjob_operator.state.rayjob.observation import JobObservation
from rayjob_operator.state.rayjob.outcome import Decision, current, deadline_failure, ray_job_active, reset

AFTER = {
    JobDeploymentStatus.SUSPENDING: JobDeploymentStatus.SUSPENDED,
    JobDeploymentStatus.RETRYING: JobDeploymentStatus.NEW,
}


def interrupted(obs: JobObservation, status: RayJobStatus, *, before_running: bool) -> Decision | None:
    """What ends an active attempt whatever else goes on: suspend (Kueue), then the deadlines."""
    if obs.job.spec.suspend:
        return start_teardown(obs, status, JobDeploymentStatus.SUSPENDING)
    return deadline_failure(obs, status, before_running=before_running)


def start_teardown(obs: JobObservation, status: RayJobStatus, state: JobDeploymentStatus) -> Decision:
    return teardown(obs, status.model_copy(update={"job_deployment_status": state}))


def teardown(obs: JobObservation, status: RayJobStatus | None = None) -> Decision:
    status = status or current(obs)
    state = status.job_deployment_status or JobDeploymentStatus.SUSPENDING
    actions: list[Action] = []
    cluster, submitter = obs.cluster, obs.submitter
    cluster_alive = cluster is not None and cluster.owned and not cluster.deleting
    if cluster_alive and status.dashboard_url and status.job_id and ray_job_active(obs, status):
        actions.append(StopJob(status.dashboard_url, status.job_id))
    if cluster_alive and cluster is not None:
        actions.append(DeleteCluster(cluster.name))
    if submitter is not None and submitter.exists and not submitter.deleting:
        actions.append(DeleteSubmitter(obs.job.metadata.name or ""))
    cluster_remains = cluster is not None and cluster.owned
    if cluster_remains or (submitter is not None and submitter.exists):
        return Decision(status, tuple(actions), requeue_after=requeue.WHILE_DELETING)
    if obs.pods_left:
        waited = _wait_for_pods(obs, status)
        if waited is not None:
            return Decision(waited.status, (*actions, *waited.actions), waited.requeue_after)
        actions.append(_pods_abandoned(obs))
    return Decision(reset(status, AFTER[state]), tuple(actions), requeue_after=requeue.NOW)


def _wait_for_pods(obs: JobObservation, status: RayJobStatus) -> Decision | None:
    """Suspended (or a new attempt) only once the pods are gone: Kueue frees the quota on it. Bounded."""
    since = obs.pods_terminating_since
    if since is not None and obs.now >= since + timedelta(seconds=obs.timeouts.teardown_pods):
        return None
    waiting = status.model_copy(update={"message": f"Waiting for {len(obs.pods_left)} pod(s) to terminate"})
    return Decision(waiting, requeue_after=requeue.WHILE_DELETING)


def _pods_abandoned(obs: JobObservation) -> Emit:
    note = (
        f"Pods {', '.join(sorted(obs.pods_left))} still terminate {obs.timeouts.teardown_pods:.0f}s after "
        "their deletion; no longer waiting for them"
    )
    return Emit("Warning", EventReason.PODS_STILL_TERMINATING, "Delete", note)


def suspended(obs: JobObservation) -> Decision:
    status = current(obs)
    if obs.job.spec.suspend:
        return Decision(status)  # nothing to do until Kueue (or the user) resumes it: no requeue
    return Decision(reset(status, JobDeploymentStatus.NEW), requeue_after=requeue.NOW)
