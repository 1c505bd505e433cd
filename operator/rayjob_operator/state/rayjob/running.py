"""Running: follow the Ray job on its dashboard until it is terminal. Pure.

Ray's status is the truth: a submitter that crashed, was evicted or was deleted does not fail a job
Ray is running. What cannot be followed is failed within a bounded time with a reason of its own:
a job that never got submitted, a job the dashboard forgot (head restart), a dashboard that stays
unreachable, a head pod or cluster that is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rayjob_operator.builders import rayjob as job_builders
from rayjob_operator.builders import submission
from rayjob_operator.model import k8s_time
from rayjob_operator.model.enums import JobFailedReason, JobStatus, SubmissionMode
from rayjob_operator.model.rayjob import RayJobStatus, RayJobStatusInfo
from rayjob_operator.state.rayjob.actions import EnsureJobService, SubmitJob
from rayjob_operator.state.rayjob.observation import JobObservation, RayResult
from rayjob_operator.state.rayjob.outcome import (
    Decision,
    complete,
    current,
    earliest,
    fail,
    mode,
    next_deadline,
    seconds_until,
)
from rayjob_operator.state.rayjob.teardown import interrupted


def running(obs: JobObservation) -> Decision:
    decision = _running(obs)
    service = _job_service(obs)
    if service is None:
        return decision
    return Decision(decision.status, (service, *decision.actions), decision.requeue_after)


def _job_service(obs: JobObservation) -> EnsureJobService | None:
    """Keep ``<rayjob>-head-svc`` pointing at this attempt's head (never for a clusterSelector job)."""
    cluster = obs.cluster
    if obs.job.spec.cluster_selector or cluster is None or cluster.model is None:
        return None
    if obs.job_service_cluster == cluster.name:
        return None
    return EnsureJobService(job_builders.build_job_head_service(obs.job, cluster.model, options=obs.options))


def _running(obs: JobObservation) -> Decision:
    status = current(obs)
    ended = interrupted(obs, status, before_running=False)
    if ended is not None:
        return ended
    status = _with_observations(obs, status)
    lost_cluster = _cluster_lost(obs, status)
    if lost_cluster is not None:
        return lost_cluster
    timed_out = _status_check_timeout(obs, status)
    if timed_out is not None:
        return timed_out
    ray = obs.ray
    if ray is None and awaits_submitter(obs, status):
        return _k8s_submitter(obs, status, submitted=False) or _keep_running(obs, status)
    if ray is None or ray.result == RayResult.UNREACHABLE:
        return _keep_running(obs, status)
    if ray.result == RayResult.NOT_FOUND:
        return _not_found(obs, status)
    if ray.result == RayResult.SUBMITTING:
        return _submitting(obs, status)
    if ray.result == RayResult.SUBMITTED:
        return _submitter_check(obs, status) or _keep_running(obs, status)  # the first GET will tell more
    if ray.status is not None and ray.status.is_terminal:
        return _terminal(obs, status)
    return _submitter_check(obs, status) or _keep_running(obs, status)


def awaits_submitter(obs: JobObservation, status: RayJobStatus) -> bool:
    """K8sJobMode before any submitter pod ran: the dashboard cannot know the job yet, so it is not asked
    (the submitter's start timer runs instead); asking starts when the pod runs."""
    sub = obs.submitter
    return (
        mode(obs) == SubmissionMode.K8S_JOB
        and sub is not None
        and sub.exists
        and not sub.deleting
        and not sub.started
        and not _should_be_known(obs, status)
    )


def _with_observations(obs: JobObservation, status: RayJobStatus) -> RayJobStatus:
    """Copy what the dashboard and the cluster say; start or clear the status-check failure timer."""
    update: dict[str, object] = {}
    if obs.cluster is not None and obs.cluster.status is not None:
        update["ray_cluster_status"] = obs.cluster.status
    ray = obs.ray
    if ray is not None and ray.result == RayResult.FOUND:
        update.update(
            job_status=ray.status or status.job_status,
            message=ray.message,
            ray_job_info=_info(ray.start_time_ms, ray.end_time_ms),
            job_status_check_failure_start_time=None,
        )
    elif ray is not None and ray.result == RayResult.SUBMITTED:
        update["job_status_check_failure_start_time"] = None  # the dashboard just accepted the job
    elif ray is not None and ray.result == RayResult.SUBMITTING and ray.submit_error:
        update["job_status_check_failure_start_time"] = status.job_status_check_failure_start_time or ray.since
        update["message"] = f"Submitting the job failed: {ray.submit_error}"
    elif ray is not None and ray.result == RayResult.UNREACHABLE:
        update["job_status_check_failure_start_time"] = status.job_status_check_failure_start_time or ray.since
        update["message"] = f"Cannot reach the Ray dashboard at {status.dashboard_url}: {ray.error}"
    elif ray is not None and ray.result == RayResult.NOT_FOUND:  # the dashboard answers, but does not know the job
        update["job_status_check_failure_start_time"] = _not_found_since(obs, status)
    return status.model_copy(update=update)


def _not_found_since(obs: JobObservation, status: RayJobStatus) -> datetime | None:
    """A job the dashboard should know and does not starts the timer (kept in status, so a restarted operator
    grants the same grace); in HTTPMode the timer also measures failing submissions, so it stays. A job that a
    submitter has yet to submit is simply not there yet."""
    timer = status.job_status_check_failure_start_time
    if _should_be_known(obs, status):
        return timer or obs.now
    return timer if mode(obs) == SubmissionMode.HTTP else None


def _should_be_known(obs: JobObservation, status: RayJobStatus) -> bool:
    seen = status.job_status not in (None, JobStatus.NEW) or bool(obs.ray and obs.ray.submitted)
    return seen or mode(obs) == SubmissionMode.INTERACTIVE


def _info(start_ms: int | None, end_ms: int | None) -> RayJobStatusInfo | None:
    if not start_ms and not end_ms:
        return None
    start = datetime.fromtimestamp(start_ms / 1000, UTC).replace(microsecond=0) if start_ms else None
    end = datetime.fromtimestamp(end_ms / 1000, UTC).replace(microsecond=0) if end_ms else None
    return RayJobStatusInfo(start_time=start, end_time=end)


def _keep_running(obs: JobObservation, status: RayJobStatus, *extra_delays: float | None) -> Decision:
    since = status.job_status_check_failure_start_time
    timeout_due = (
        seconds_until(obs.now, since + timedelta(seconds=obs.timeouts.status_check)) if since is not None else None
    )
    delay = earliest(next_deadline(obs, status, before_running=False), timeout_due, *extra_delays)
    return Decision(status, requeue_after=delay)


def _cluster_lost(obs: JobObservation, status: RayJobStatus) -> Decision | None:
    cluster = obs.cluster
    if obs.job.spec.cluster_selector or (cluster is not None and not cluster.deleting):
        return None
    name = status.ray_cluster_name
    if cluster is None:
        return fail(obs, status, JobFailedReason.CLUSTER_NOT_FOUND, f"RayCluster {name} was deleted while the job ran")
    return fail(
        obs, status, JobFailedReason.CLUSTER_NOT_FOUND, f"RayCluster {name} is being deleted while the job runs"
    )


def _status_check_timeout(obs: JobObservation, status: RayJobStatus) -> Decision | None:
    since = status.job_status_check_failure_start_time
    if since is None:
        return None
    limit = obs.timeouts.status_check
    if obs.now >= since + timedelta(seconds=limit):
        message = (
            f"Job status checks have been failing since {k8s_time.format_time(since)}; exceeded timeout of {limit:.0f}s"
        )
        return fail(obs, status, JobFailedReason.JOB_STATUS_CHECK_TIMEOUT_EXCEEDED, message)
    return None


# --- the Ray job is unknown to the dashboard ------------------------------------------------------------------


def _not_found(obs: JobObservation, status: RayJobStatus) -> Decision:
    seen = status.job_status.value if status.job_status not in (None, JobStatus.NEW) else None
    if seen is None and obs.ray is not None and obs.ray.submitted:
        seen = "submitted"
    if seen is not None:  # never submitted again: the job may have run already (KubeRay re-runs it)
        return _lost(
            obs,
            status,
            f"The Ray job {status.job_id} was {seen} and the dashboard no longer knows it (the head restarted?)",
            JobFailedReason.JOB_NOT_FOUND,
        )
    current_mode = mode(obs)
    if current_mode == SubmissionMode.HTTP:
        return _submit(obs, status)
    if current_mode == SubmissionMode.INTERACTIVE:
        message = f"spec.jobId {status.job_id} is not a job of the Ray dashboard at {status.dashboard_url}"
        return _lost(obs, status, message, JobFailedReason.JOB_NOT_FOUND)
    return _submitter_check(obs, status, submitted=False) or _keep_running(obs, status)


def _lost(obs: JobObservation, status: RayJobStatus, message: str, reason: JobFailedReason) -> Decision:
    """Tolerated for a while (the dashboard may be catching up), then the attempt fails."""
    since = status.job_status_check_failure_start_time or obs.now
    due = since + timedelta(seconds=obs.timeouts.lost)
    if obs.now >= due:
        return fail(obs, status, reason, message)
    return _keep_running(obs, status, seconds_until(obs.now, due))


def _submit(obs: JobObservation, status: RayJobStatus) -> Decision:
    """HTTPMode, the dashboard does not know the job and never did: submit it (once; the poller sends it)."""
    request = submission.submit_request(obs.job, job_id=status.job_id or "")
    submit = SubmitJob(status.dashboard_url or "", request)
    return Decision(status, (submit,), requeue_after=next_deadline(obs, status, before_running=False))


def _submitting(obs: JobObservation, status: RayJobStatus) -> Decision:
    """The poller is getting the job accepted; a refusal ends the attempt, other failures run the timer."""
    ray = obs.ray
    if ray is not None and ray.submit_error_permanent:
        message = f"The dashboard rejected the job: {ray.submit_error}"
        return fail(obs, status, JobFailedReason.SUBMISSION_FAILED, message)
    return _keep_running(obs, status)


# --- terminal Ray job -------------------------------------------------------------------------------------------


def _terminal(obs: JobObservation, status: RayJobStatus) -> Decision:
    """Ray says the job is over; with a submitter, wait (bounded) until it has tailed the logs."""
    finished = _submitter_finished(obs)
    if finished or mode(obs) in (SubmissionMode.HTTP, SubmissionMode.INTERACTIVE):
        return _outcome(obs, status)
    end_ms = obs.ray.end_time_ms if obs.ray else None
    ended = datetime.fromtimestamp(end_ms / 1000, UTC) if end_ms else obs.now
    due = ended + timedelta(seconds=obs.timeouts.transition_grace)
    if obs.now >= due:
        return _outcome(obs, status, JobFailedReason.TRANSITION_GRACE_PERIOD_EXCEEDED)
    return _keep_running(obs, status, seconds_until(obs.now, due))


def _outcome(obs: JobObservation, status: RayJobStatus, reason: JobFailedReason | None = None) -> Decision:
    if status.job_status == JobStatus.FAILED:
        return fail(obs, status, reason or JobFailedReason.APP_FAILED, status.message or "The Ray job failed")
    return complete(obs, status, reason)


def _submitter_finished(obs: JobObservation) -> bool:
    """The submitter is done (or gone, so nothing is left to wait for)."""
    if mode(obs) == SubmissionMode.K8S_JOB:
        sub = obs.submitter
        return sub is None or not sub.exists or sub.finished_at is not None
    if mode(obs) == SubmissionMode.SIDECAR:
        side = obs.sidecar
        return side is None or not side.head_exists or side.terminated
    return True


# --- the submitter (K8sJobMode Job, SidecarMode container) ------------------------------------------------------


def _submitter_check(obs: JobObservation, status: RayJobStatus, *, submitted: bool = True) -> Decision | None:
    if mode(obs) == SubmissionMode.K8S_JOB:
        return _k8s_submitter(obs, status, submitted=submitted)
    if mode(obs) == SubmissionMode.SIDECAR:
        return _sidecar(obs, status, submitted=submitted)
    return None


def _k8s_submitter(obs: JobObservation, status: RayJobStatus, *, submitted: bool) -> Decision | None:
    sub = obs.submitter
    if sub is None or not sub.exists:
        if submitted:
            return None  # Ray has the job: it is followed on the dashboard without the submitter
        return fail(
            obs,
            status,
            JobFailedReason.SUBMISSION_FAILED,
            f"The submitter Job {obs.job.metadata.name} was deleted before the Ray job was submitted",
        )
    if not submitted and sub.failed is not None:
        reason, message = sub.failed
        detail = f" ({sub.problem})" if sub.problem else ""
        return fail(
            obs,
            status,
            JobFailedReason.SUBMISSION_FAILED,
            f"Job submission has failed. Reason: {reason}. Message: {message}{detail}",
        )
    if not submitted and sub.finished_at is not None:
        return fail(
            obs, status, JobFailedReason.SUBMISSION_FAILED, "Submitter completed but Ray job not found in RayCluster."
        )
    if not submitted and not sub.started:
        return _not_started(obs, status, sub.created_at, sub.problem)
    if submitted and sub.finished_at is not None and sub.failed is None:
        return _finished_early(obs, status, sub.finished_at)
    return None


def _not_started(
    obs: JobObservation, status: RayJobStatus, created: datetime | None, problem: str | None
) -> Decision | None:
    due = (created or obs.now) + timedelta(seconds=obs.timeouts.submitter_start)
    if obs.now < due:
        if problem:
            status = status.model_copy(update={"message": f"The submitter pod is not running: {problem}"})
        return _keep_running(obs, status, seconds_until(obs.now, due))
    detail = problem or "it was never scheduled or never started"
    return fail(
        obs,
        status,
        JobFailedReason.SUBMISSION_FAILED,
        f"The submitter pod did not start within {obs.timeouts.submitter_start:.0f}s: {detail}",
    )


def _finished_early(obs: JobObservation, status: RayJobStatus, finished_at: datetime) -> Decision | None:
    """The submitter ended while Ray still reports a running job: allow a short catch-up, then fail."""
    due = finished_at + timedelta(seconds=obs.timeouts.submitter_finished)
    if obs.now < due:
        return _keep_running(obs, status, seconds_until(obs.now, due))
    message = (
        f"The RayJob submitter finished at {k8s_time.format_time(finished_at)} but the ray job did not reach "
        f"terminal state within {obs.timeouts.submitter_finished:.0f}s"
    )
    return fail(obs, status, JobFailedReason.TRANSITION_GRACE_PERIOD_EXCEEDED, message)


def _sidecar(obs: JobObservation, status: RayJobStatus, *, submitted: bool) -> Decision | None:
    side = obs.sidecar
    if side is None or not side.head_exists:
        return fail(obs, status, JobFailedReason.HEAD_POD_LOST, "Ray head pod not found.")
    if not side.terminated:
        return None
    if not submitted:
        return fail(
            obs,
            status,
            JobFailedReason.SUBMISSION_FAILED,
            f"Ray head pod container ray-job-submitter terminated with exit code {side.exit_code}: "
            f"{side.reason or 'unknown reason'}",
        )
    if side.exit_code != 0:
        return None  # the sidecar gave up (e.g. lost the dashboard); Ray still runs the job: follow Ray
    return _finished_early(obs, status, side.finished_at or obs.now)
