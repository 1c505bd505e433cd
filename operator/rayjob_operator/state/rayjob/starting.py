"""New, Initializing and Waiting: identity first, then the cluster, then the submission path. Pure."""

from __future__ import annotations

from datetime import timedelta

from rayjob_operator.builders import rayjob as job_builders
from rayjob_operator.builders import submission
from rayjob_operator.builders import submitter as submitter_builders
from rayjob_operator.model.enums import ClusterState, JobDeploymentStatus, JobFailedReason, JobStatus, SubmissionMode
from rayjob_operator.model.event_reasons import EventReason
from rayjob_operator.model.raycluster import RayClusterStatus
from rayjob_operator.model.rayjob import RayJobStatus
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob import outcome
from rayjob_operator.state.rayjob.actions import Action, AddFinalizer, CreateCluster, CreateSubmitter, Emit, SubmitJob
from rayjob_operator.state.rayjob.observation import ClusterView, JobObservation
from rayjob_operator.state.rayjob.outcome import Decision
from rayjob_operator.state.rayjob.teardown import interrupted


def new(obs: JobObservation) -> Decision:
    """Persist identity (job id, cluster name, start time) before anything is created."""
    job, status = obs.job, outcome.current(obs)
    actions: tuple[Action, ...] = () if obs.has_finalizer else (AddFinalizer(),)
    if job.spec.suspend:
        suspended = status.model_copy(
            update={"job_deployment_status": JobDeploymentStatus.SUSPENDED, "job_status": JobStatus.NEW}
        )
        return Decision(suspended, actions)
    name = job.metadata.name or ""
    suffix = obs.random_suffix
    job_id = job.spec.job_id or (None if outcome.mode(obs) == SubmissionMode.INTERACTIVE else f"{name}-{suffix}")
    status = status.model_copy(
        update={
            "job_deployment_status": JobDeploymentStatus.INITIALIZING,
            "job_status": JobStatus.NEW,
            "job_id": job_id,
            "ray_cluster_name": job.spec.cluster_selector_name or f"{name}-{suffix}",
            "start_time": obs.now,
            "end_time": None,
            "reason": None,
            "message": None,
            "dashboard_url": None,
            "ray_job_info": None,
            "ray_cluster_status": None,
            "job_status_check_failure_start_time": None,
        }
    )
    return Decision(status, actions, requeue_after=requeue.NOW)


def initializing(obs: JobObservation) -> Decision:
    status = outcome.current(obs)
    ended = interrupted(obs, status, before_running=True)
    if ended is not None:
        return ended
    cluster = obs.cluster
    if cluster is None or cluster.deleting:
        return _ensure_cluster(obs, status)
    state = cluster.status.state if cluster.status else None
    if state != ClusterState.READY or not (cluster.head_service_ready and cluster.dashboard_address):
        return _wait_for_cluster(obs, _with_cluster_state(status, cluster), cluster)
    update = {"dashboard_url": cluster.dashboard_address, "message": None, "ray_cluster_status": cluster.status}
    status = status.model_copy(update=update)
    if outcome.mode(obs) == SubmissionMode.INTERACTIVE:
        waiting = status.model_copy(update={"job_deployment_status": JobDeploymentStatus.WAITING})
        return Decision(waiting, requeue_after=outcome.next_deadline(obs, waiting, before_running=True))
    actions: tuple[Action, ...] = ()
    if outcome.mode(obs) == SubmissionMode.HTTP:  # submitted at once: nothing is polled before it is submitted
        request = submission.submit_request(obs.job, job_id=status.job_id or "")
        actions = (SubmitJob(cluster.dashboard_address, request),)
    if outcome.mode(obs) == SubmissionMode.K8S_JOB and not (obs.submitter and obs.submitter.exists):
        manifest = submitter_builders.build_submitter_job(
            obs.job,
            job_id=status.job_id or "",
            dashboard_address=cluster.dashboard_address,
            cluster=cluster.model,
            image=obs.submitter_image,
        )
        actions = (CreateSubmitter(manifest),)
    running = status.model_copy(update={"job_deployment_status": JobDeploymentStatus.RUNNING})
    return Decision(running, actions, requeue_after=requeue.NOW)


def _ensure_cluster(obs: JobObservation, status: RayJobStatus) -> Decision:
    """The decision that creates the attempt's cluster or waits for it (it does not exist yet)."""
    cluster, name = obs.cluster, status.ray_cluster_name or ""
    if obs.job.spec.cluster_selector:
        return _cluster_not_found(obs, status, name)
    if cluster is not None:  # a previous attempt's cluster of the same name is still going away
        return Decision(
            status,
            requeue_after=outcome.earliest(
                requeue.WHILE_DELETING, outcome.next_deadline(obs, status, before_running=True)
            ),
        )
    manifest = job_builders.build_cluster_for_job(
        obs.job, cluster_name=name, job_id=status.job_id or "", submitter_image=obs.submitter_image, options=obs.options
    )
    return Decision(
        status, (CreateCluster(manifest),), requeue_after=outcome.next_deadline(obs, status, before_running=True)
    )


def _cluster_not_found(obs: JobObservation, status: RayJobStatus, name: str) -> Decision:
    started = status.start_time or obs.now
    message = f"RayCluster {obs.job.metadata.namespace}/{name} set in the clusterSelector is not found"
    if obs.now >= started + timedelta(seconds=obs.timeouts.lost):
        return outcome.fail(obs, status, JobFailedReason.CLUSTER_NOT_FOUND, f"{message} after {obs.timeouts.lost:.0f}s")
    actions: tuple[Action, ...] = ()
    if status.message != message:
        actions = (
            Emit("Warning", EventReason.RAYCLUSTER_NOT_FOUND, "Validate", f"{message}. It must be created manually"),
        )
    remaining = outcome.seconds_until(obs.now, started + timedelta(seconds=obs.timeouts.lost))
    waiting = status.model_copy(update={"message": message})
    return Decision(
        waiting,
        actions,
        requeue_after=outcome.earliest(remaining, outcome.next_deadline(obs, status, before_running=True)),
    )


def _wait_for_cluster(obs: JobObservation, status: RayJobStatus, cluster: ClusterView) -> Decision:
    cluster_status = cluster.status
    if cluster_status is not None and cluster_status.state == ClusterState.FAILED:
        since = (cluster_status.state_transition_times or {}).get(ClusterState.FAILED.value, obs.now)
        if obs.now >= since + timedelta(seconds=obs.timeouts.lost):
            reason = cluster_status.reason or "its pods could not be created"
            return outcome.fail(
                obs, status, JobFailedReason.CLUSTER_FAILED, f"RayCluster {cluster.name} failed: {reason}"
            )
    # Only what a user must act on is written while the cluster starts: every status write costs the API
    # server (and each of its watchers) a round, and "Initializing" already says that it is starting.
    problem = f"Waiting for RayCluster {cluster.name} to be ready: {cluster.problem}" if cluster.problem else None
    waiting = status.model_copy(update={"message": problem})
    return Decision(waiting, requeue_after=outcome.next_deadline(obs, status, before_running=True))


def _with_cluster_state(status: RayJobStatus, cluster: ClusterView) -> RayJobStatus:
    """The cluster's status is copied while it starts when it first has one and when its state changes (Kueue
    reads it as "pods ready"), not on every pod that comes up; from Running on, every change is copied."""
    copied, now = status.ray_cluster_status, cluster.status
    if now is None or (copied is not None and _state_of(copied) == _state_of(now)):
        return status
    return status.model_copy(update={"ray_cluster_status": now})


def _state_of(cluster_status: RayClusterStatus | None) -> tuple[object, object]:
    return (cluster_status.state, cluster_status.reason) if cluster_status is not None else (None, None)


def waiting(obs: JobObservation) -> Decision:
    """InteractiveMode: the cluster is ready; wait until the user sets spec.jobId."""
    status = outcome.current(obs)
    ended = interrupted(obs, status, before_running=True)
    if ended is not None:
        return ended
    if not obs.job.spec.job_id:
        return Decision(status, requeue_after=outcome.next_deadline(obs, status, before_running=True))
    running = status.model_copy(
        update={"job_id": obs.job.spec.job_id, "job_deployment_status": JobDeploymentStatus.RUNNING}
    )
    return Decision(running, requeue_after=requeue.NOW)
