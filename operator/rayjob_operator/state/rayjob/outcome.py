"""Transitions shared by the states: fail (maybe retry), complete, deadlines, resets. Pure."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from rayjob_operator.model import k8s_time
from rayjob_operator.model.enums import JobDeploymentStatus, JobFailedReason, JobStatus, SubmissionMode
from rayjob_operator.model.rayjob import RayJobStatus
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob.actions import Action, Emit, SaveLogs, StopJob
from rayjob_operator.state.rayjob.observation import JobObservation, RayResult

NOT_RETRIED = frozenset({JobFailedReason.DEADLINE_EXCEEDED, JobFailedReason.JOB_STATUS_CHECK_TIMEOUT_EXCEEDED})


@dataclasses.dataclass(frozen=True)
class Decision:
    status: RayJobStatus
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None
    """Seconds until something time-based must be checked again (deadlines, TTLs, grace periods)."""


def current(obs: JobObservation) -> RayJobStatus:
    return obs.job.status or RayJobStatus()


def state_of(status: RayJobStatus) -> JobDeploymentStatus:
    return status.job_deployment_status or JobDeploymentStatus.NEW


def seconds_until(now: datetime, due: datetime) -> float:
    return max(0.0, (due - now).total_seconds())


def earliest(*delays: float | None) -> float | None:
    values = [d for d in delays if d is not None]
    return min(values) if values else None


def ray_job_active(obs: JobObservation, status: RayJobStatus) -> bool:
    """The Ray job of this attempt may still be running on the dashboard."""
    if not (status.dashboard_url and status.job_id):
        return False
    if obs.ray is not None and obs.ray.result in (RayResult.SUBMITTED, RayResult.SUBMITTING):
        return True  # accepted, or maybe on its way: a stop is worth sending
    if obs.ray is not None and obs.ray.result == RayResult.NOT_FOUND:
        return False  # the dashboard answered and does not know it: nothing to stop
    if obs.ray is not None and obs.ray.result == RayResult.FOUND:
        return not (obs.ray.status is not None and obs.ray.status.is_terminal)
    return status.job_status not in (JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED)


def _stop_and_save(obs: JobObservation, status: RayJobStatus, *, stop: bool) -> tuple[Action, ...]:
    if not (status.dashboard_url and status.job_id):
        return ()
    actions: list[Action] = []
    if stop and ray_job_active(obs, status):
        actions.append(StopJob(status.dashboard_url, status.job_id))
    if status.job_status not in (None, JobStatus.NEW):
        actions.append(SaveLogs(status.dashboard_url, status.job_id))
    return tuple(actions)


def fail(obs: JobObservation, status: RayJobStatus, reason: JobFailedReason, message: str) -> Decision:
    """Failed (or Retrying when backoffLimit allows): counts the failure, stops the Ray job, keeps its log."""
    failed = (status.failed or 0) + 1
    status = status.model_copy(update={"reason": reason, "message": message, "failed": failed})
    spec = obs.job.spec
    retry = spec.backoff_limit > 0 and failed < spec.backoff_limit + 1 and reason not in NOT_RETRIED
    actions = _stop_and_save(obs, status, stop=True)
    if retry:
        status = status.model_copy(update={"job_deployment_status": JobDeploymentStatus.RETRYING})
        note = f"Attempt {failed} failed ({reason.value}): {message}; retrying on a new RayCluster"
        return Decision(status, (*actions, Emit("Warning", reason, "Retry", note)), requeue_after=requeue.NOW)
    status = status.model_copy(update={"job_deployment_status": JobDeploymentStatus.FAILED, "end_time": obs.now})
    return Decision(status, (*actions, Emit("Warning", reason, "Fail", message)), requeue_after=requeue.NOW)


def complete(obs: JobObservation, status: RayJobStatus, reason: JobFailedReason | None = None) -> Decision:
    succeeded = (status.succeeded or 0) + (1 if status.job_status == JobStatus.SUCCEEDED else 0)
    status = status.model_copy(
        update={
            "job_deployment_status": JobDeploymentStatus.COMPLETE,
            "end_time": obs.now,
            "succeeded": succeeded,
            "reason": reason,
        }
    )
    return Decision(status, _stop_and_save(obs, status, stop=False), requeue_after=requeue.NOW)


def deadline_failure(obs: JobObservation, status: RayJobStatus, *, before_running: bool) -> Decision | None:
    """activeDeadlineSeconds (any active state), preRunningDeadlineSeconds (before Running)."""
    start = status.start_time
    spec = obs.job.spec
    if start is None:
        return None
    active = spec.active_deadline_seconds
    if active is not None and obs.now >= start + timedelta(seconds=active):
        message = (
            f"The RayJob has passed the activeDeadlineSeconds. StartTime: {_fmt(start)}. "
            f"ActiveDeadlineSeconds: {active}"
        )
        return fail(obs, status, JobFailedReason.DEADLINE_EXCEEDED, message)
    pre = spec.pre_running_deadline_seconds
    if before_running and pre is not None and obs.now >= start + timedelta(seconds=pre):
        message = (
            f"The RayJob has passed the preRunningDeadlineSeconds. StartTime: {_fmt(start)}. "
            f"PreRunningDeadlineSeconds: {pre}"
        )
        return fail(obs, status, JobFailedReason.PRE_RUNNING_DEADLINE_EXCEEDED, message)
    return None


def next_deadline(obs: JobObservation, status: RayJobStatus, *, before_running: bool) -> float | None:
    start = status.start_time
    if start is None:
        return None
    spec = obs.job.spec
    dues = [spec.active_deadline_seconds]
    if before_running:
        dues.append(spec.pre_running_deadline_seconds)
    return earliest(*(seconds_until(obs.now, start + timedelta(seconds=d)) for d in dues if d is not None))


def _fmt(moment: datetime) -> str:
    return k8s_time.format_time(moment)


def reset(status: RayJobStatus, state: JobDeploymentStatus) -> RayJobStatus:
    """After a teardown (suspend, retry): forget this attempt; keep start/end times and counters."""
    return status.model_copy(
        update={
            "job_deployment_status": state,
            "job_status": JobStatus.NEW,
            "ray_cluster_status": None,
            "ray_cluster_name": None,
            "dashboard_url": None,
            "job_id": None,
            "message": None,
            "reason": None,
            "ray_job_info": None,
            "job_status_check_failure_start_time": None,
        }
    )


def mode(obs: JobObservation) -> SubmissionMode:
    return obs.job.spec.submission_mode


def refused(obs: JobObservation, status: RayJobStatus, kind: str, message: str) -> Decision:
    """The API server refused this attempt's cluster (``kind`` "RayCluster") or submitter Job: it never will accept
    it. The reconcile that saw the refusal settles it into the status it writes, so no process keeps it."""
    obs = dataclasses.replace(obs, job=obs.job.model_copy(update={"status": status}))
    reason = JobFailedReason.SUBMISSION_FAILED if kind == "Job" else JobFailedReason.CLUSTER_FAILED
    return fail(obs, status, reason, message)
