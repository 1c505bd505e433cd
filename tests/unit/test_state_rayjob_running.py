"""State machine: Running (rows of §2.12, and the failures KubeRay leaves looping)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rayjob_operator.model.enums import JobDeploymentStatus, JobFailedReason, JobStatus
from rayjob_operator.model.rayjob import RayJob, RayJobStatus
from rayjob_operator.state.rayjob import actions as a
from rayjob_operator.state.rayjob.observation import RayResult
from rayjob_operator.state.rayjob.running import awaits_submitter
from tests.unit.jobstate import (
    ADDRESS,
    NOW,
    events,
    job,
    kinds,
    observe,
    ray,
    ready_cluster,
    run,
    running_status,
    sidecar,
    submitter,
)

S = JobDeploymentStatus
R = JobFailedReason
END_MS = int((NOW - timedelta(seconds=2)).timestamp() * 1000)


def k8s(status: dict[str, object] | None = None, **spec: object) -> object:
    return job(running_status(**(status or {})), **spec)


@pytest.mark.parametrize(
    ("ray_status", "state", "reason"),
    [("SUCCEEDED", S.COMPLETE, None), ("STOPPED", S.COMPLETE, None), ("FAILED", S.FAILED, R.APP_FAILED)],
)
def test_terminal_ray_job_with_finished_submitter(
    ray_status: str, state: JobDeploymentStatus, reason: R | None
) -> None:
    decision = run(
        k8s(), cluster=ready_cluster(), submitter=submitter(finished_at=NOW), ray=ray(ray_status, end_time_ms=END_MS)
    )
    assert (decision.status.job_deployment_status, decision.status.reason) == (state, reason)
    assert decision.status.job_status == JobStatus(ray_status)
    assert decision.status.end_time == NOW
    assert decision.status.ray_job_info is not None
    assert decision.status.ray_job_info.end_time is not None
    assert "SaveLogs" in kinds(decision)


def test_success_counts_and_app_failure_counts() -> None:
    ok = run(k8s(), cluster=ready_cluster(), submitter=submitter(finished_at=NOW), ray=ray("SUCCEEDED"))
    assert (ok.status.succeeded, ok.status.failed) == (1, 0)
    bad = run(k8s(), cluster=ready_cluster(), submitter=submitter(finished_at=NOW), ray=ray("FAILED"))
    assert (bad.status.succeeded, bad.status.failed) == (0, 1)


def test_terminal_ray_job_waits_for_the_submitter_to_finish_tailing() -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=submitter(), ray=ray("SUCCEEDED", end_time_ms=END_MS))
    assert decision.status.job_deployment_status == S.RUNNING
    assert decision.status.job_status == JobStatus.SUCCEEDED  # the Ray status is reflected at once
    assert decision.requeue_after is not None


def test_terminal_ray_job_beyond_the_grace_period_ends_without_the_submitter() -> None:
    old = int((NOW - timedelta(seconds=301)).timestamp() * 1000)
    decision = run(k8s(), cluster=ready_cluster(), submitter=submitter(), ray=ray("FAILED", end_time_ms=old))
    assert (decision.status.job_deployment_status, decision.status.reason) == (
        S.FAILED,
        R.TRANSITION_GRACE_PERIOD_EXCEEDED,
    )


@pytest.mark.parametrize("mode", ["HTTPMode", "InteractiveMode"])
def test_modes_without_submitter_end_with_ray(mode: str) -> None:
    decision = run(k8s(submissionMode=mode), cluster=ready_cluster(), ray=ray("SUCCEEDED"))
    assert decision.status.job_deployment_status == S.COMPLETE


def test_running_ray_job_stays_running_and_copies_the_message() -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=submitter(), ray=ray("RUNNING", message="busy"))
    assert (decision.status.job_deployment_status, decision.status.job_status) == (S.RUNNING, JobStatus.RUNNING)
    assert decision.status.message == "busy"


def test_active_deadline_fails_and_stops_the_ray_job() -> None:
    decision = run(k8s(activeDeadlineSeconds=50), cluster=ready_cluster(), submitter=submitter(), ray=ray("RUNNING"))
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.DEADLINE_EXCEEDED)
    stop = [x for x in decision.actions if isinstance(x, a.StopJob)]
    assert stop == [a.StopJob(ADDRESS, "demo-abcde")]


def test_suspend_while_running_stops_and_tears_down() -> None:
    decision = run(
        k8s(suspend=True, shutdownAfterJobFinishes=True),
        cluster=ready_cluster(),
        submitter=submitter(),
        ray=ray("RUNNING"),
    )
    assert decision.status.job_deployment_status == S.SUSPENDING
    assert kinds(decision) == ["StopJob", "DeleteCluster", "DeleteSubmitter"]


def test_unreachable_dashboard_starts_the_timer_then_fails() -> None:
    since = NOW - timedelta(seconds=10)
    first = run(
        k8s(),
        cluster=ready_cluster(),
        submitter=submitter(),
        ray=ray(result=RayResult.UNREACHABLE, since=since, error="refused"),
    )
    assert first.status.job_status_check_failure_start_time == since
    assert first.status.job_deployment_status == S.RUNNING
    assert first.requeue_after == pytest.approx(290.0)  # nothing else would wake it up when the timeout is due
    stale = {"jobStatusCheckFailureStartTime": (NOW - timedelta(seconds=301)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    late = run(
        k8s(stale),
        cluster=ready_cluster(),
        submitter=submitter(),
        ray=ray(result=RayResult.UNREACHABLE, error="refused"),
    )
    assert (late.status.job_deployment_status, late.status.reason) == (S.FAILED, R.JOB_STATUS_CHECK_TIMEOUT_EXCEEDED)
    assert "exceeded timeout of 300s" in (late.status.message or "")


def test_a_successful_check_clears_the_timer() -> None:
    stale = {"jobStatusCheckFailureStartTime": (NOW - timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    decision = run(k8s(stale), cluster=ready_cluster(), submitter=submitter(), ray=ray("RUNNING"))
    assert decision.status.job_status_check_failure_start_time is None


def test_http_mode_submits_when_the_job_is_unknown() -> None:
    decision = run(k8s(submissionMode="HTTPMode"), cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))
    assert kinds(decision) == ["SubmitJob"]
    submit = decision.actions[0]
    assert isinstance(submit, a.SubmitJob)
    assert submit.request["submission_id"] == "demo-abcde"
    assert submit.request["entrypoint"] == "python -c 'print(1)'"


def test_http_mode_never_resubmits_a_job_it_has_seen() -> None:
    def seen(since: timedelta) -> RayJob:
        timer = (NOW - since).strftime("%Y-%m-%dT%H:%M:%SZ")
        return k8s({"jobStatus": "RUNNING", "jobStatusCheckFailureStartTime": timer}, submissionMode="HTTPMode")

    soon = run(seen(timedelta(seconds=5)), cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))
    assert kinds(soon) == []
    assert soon.status.job_deployment_status == S.RUNNING
    late = run(seen(timedelta(seconds=61)), cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))
    assert (late.status.job_deployment_status, late.status.reason) == (S.FAILED, R.JOB_NOT_FOUND)


def test_http_mode_follows_its_own_accepted_submission_without_submitting_again() -> None:
    accepted = ray(result=RayResult.SUBMITTED, status=None, submitted=True)
    decision = run(k8s(submissionMode="HTTPMode"), cluster=ready_cluster(), ray=accepted)
    assert kinds(decision) == []
    assert (decision.status.job_deployment_status, decision.status.job_status) == (S.RUNNING, None)


def test_http_mode_job_lost_after_its_accepted_submission_is_not_submitted_again() -> None:
    """Accepted, then the dashboard forgets it before any GET saw it (a head restart): lost, never re-run."""
    lost = ray(result=RayResult.NOT_FOUND, status=None, submitted=True)
    timer = (NOW - timedelta(seconds=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
    decision = run(
        k8s({"jobStatusCheckFailureStartTime": timer}, submissionMode="HTTPMode"), cluster=ready_cluster(), ray=lost
    )
    assert kinds(decision) == []
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.JOB_NOT_FOUND)
    assert "was submitted and the dashboard no longer knows it" in (decision.status.message or "")


def test_http_mode_rejected_submission_fails_at_once() -> None:
    refused = ray(result=RayResult.SUBMITTING, submit_error="400: bad runtime_env", submit_error_permanent=True)
    decision = run(k8s(submissionMode="HTTPMode"), cluster=ready_cluster(), ray=refused)
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.SUBMISSION_FAILED)
    assert "400: bad runtime_env" in (decision.status.message or "")


def test_http_mode_transient_submit_errors_start_the_timer_and_wait_for_the_poller() -> None:
    failing = ray(result=RayResult.SUBMITTING, submit_error="connection refused", since=NOW - timedelta(seconds=3))
    decision = run(k8s(submissionMode="HTTPMode"), cluster=ready_cluster(), ray=failing)
    assert decision.status.job_status_check_failure_start_time == NOW - timedelta(seconds=3)
    assert "connection refused" in (decision.status.message or "")
    assert kinds(decision) == []  # the poller tries again by itself: no second SubmitJob
    assert decision.requeue_after == pytest.approx(300 - 3)


def test_http_mode_submission_on_its_way_is_left_alone() -> None:
    decision = run(k8s(submissionMode="HTTPMode"), cluster=ready_cluster(), ray=ray(result=RayResult.SUBMITTING))
    assert (kinds(decision), decision.status.job_deployment_status) == ([], S.RUNNING)


def test_http_mode_not_found_keeps_the_failing_submission_timer() -> None:
    since = NOW - timedelta(seconds=30)
    failing = k8s({"jobStatusCheckFailureStartTime": since.strftime("%Y-%m-%dT%H:%M:%SZ")}, submissionMode="HTTPMode")
    decision = run(failing, cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))
    assert decision.status.job_status_check_failure_start_time == since
    assert kinds(decision) == ["SubmitJob"]


def test_interactive_wrong_job_id_fails_after_a_grace_kept_in_status() -> None:
    first = run(k8s(submissionMode="InteractiveMode"), cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))
    assert first.status.job_status_check_failure_start_time == NOW  # the grace starts, in the status
    assert first.status.job_deployment_status == S.RUNNING
    since = (NOW - timedelta(seconds=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = k8s({"jobStatusCheckFailureStartTime": since}, submissionMode="InteractiveMode")
    decision = run(later, cluster=ready_cluster(), ray=ray(result=RayResult.NOT_FOUND))  # e.g. after a restart
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.JOB_NOT_FOUND)


def test_a_job_the_submitter_has_yet_to_submit_starts_no_timer() -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=submitter(), ray=ray(result=RayResult.NOT_FOUND))
    assert decision.status.job_status_check_failure_start_time is None


@pytest.mark.parametrize(
    ("sub", "reason", "text"),
    [
        (
            submitter(failed=("BackoffLimitExceeded", "Job has reached the specified backoff limit")),
            R.SUBMISSION_FAILED,
            "BackoffLimitExceeded",
        ),
        (submitter(finished_at=NOW - timedelta(seconds=1)), R.SUBMISSION_FAILED, "Ray job not found"),
        (submitter(exists=False), R.SUBMISSION_FAILED, "was deleted before"),
        (
            submitter(started=False, created_at=NOW - timedelta(seconds=301), problem="Unschedulable: 0/1 nodes"),
            R.SUBMISSION_FAILED,
            "Unschedulable",
        ),
    ],
)
def test_submitter_failures_before_submission(sub: object, reason: R, text: str) -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=sub, ray=ray(result=RayResult.NOT_FOUND))
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, reason)
    assert text in (decision.status.message or "")


def test_submitter_not_started_yet_keeps_waiting_and_says_why() -> None:
    sub = submitter(started=False, created_at=NOW - timedelta(seconds=10), problem="ImagePullBackOff")
    decision = run(k8s(), cluster=ready_cluster(), submitter=sub, ray=ray(result=RayResult.NOT_FOUND))
    assert decision.status.job_deployment_status == S.RUNNING
    assert "ImagePullBackOff" in (decision.status.message or "")


@pytest.mark.parametrize(
    "sub",
    [submitter(exists=False), submitter(failed=("BackoffLimitExceeded", "pods failed"), finished_at=NOW)],
)
def test_ray_is_the_truth_when_the_submitter_is_gone_or_failed(sub: object) -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=sub, ray=ray("RUNNING"))
    assert decision.status.job_deployment_status == S.RUNNING
    done = run(k8s(), cluster=ready_cluster(), submitter=sub, ray=ray("SUCCEEDED"))
    assert done.status.job_deployment_status == S.COMPLETE


def test_submitter_finished_long_before_ray_is_a_grace_period_failure() -> None:
    sub = submitter(finished_at=NOW - timedelta(seconds=31))
    decision = run(k8s(), cluster=ready_cluster(), submitter=sub, ray=ray("RUNNING"))
    assert (decision.status.job_deployment_status, decision.status.reason) == (
        S.FAILED,
        R.TRANSITION_GRACE_PERIOD_EXCEEDED,
    )
    assert decision.status.job_status == JobStatus.RUNNING  # we never invent a Ray status


def test_sidecar_head_pod_lost_fails() -> None:
    decision = run(
        k8s(submissionMode="SidecarMode"),
        cluster=ready_cluster(),
        sidecar=sidecar(head_exists=False),
        ray=ray("RUNNING"),
    )
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.HEAD_POD_LOST)


def test_sidecar_failed_before_submitting() -> None:
    side = sidecar(terminated=True, exit_code=4, reason="Error")
    decision = run(
        k8s(submissionMode="SidecarMode"), cluster=ready_cluster(), sidecar=side, ray=ray(result=RayResult.NOT_FOUND)
    )
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.SUBMISSION_FAILED)
    assert "exit code 4" in (decision.status.message or "")


def test_sidecar_success_needs_the_container_to_have_ended() -> None:
    side_running = run(
        k8s(submissionMode="SidecarMode"), cluster=ready_cluster(), sidecar=sidecar(), ray=ray("SUCCEEDED")
    )
    assert side_running.status.job_deployment_status == S.RUNNING
    ended = sidecar(terminated=True, exit_code=0, finished_at=NOW)
    done = run(k8s(submissionMode="SidecarMode"), cluster=ready_cluster(), sidecar=ended, ray=ray("SUCCEEDED"))
    assert done.status.job_deployment_status == S.COMPLETE


def test_cluster_deleted_under_a_running_job_fails_it() -> None:
    decision = run(k8s(), cluster=None, submitter=submitter(), ray=ray("RUNNING"))
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, R.CLUSTER_NOT_FOUND)


def test_failure_with_backoff_retries_and_counts() -> None:
    decision = run(
        k8s(backoffLimit=2), cluster=ready_cluster(), submitter=submitter(finished_at=NOW), ray=ray("FAILED")
    )
    assert decision.status.job_deployment_status == S.RETRYING
    assert (decision.status.failed, decision.status.end_time) == (1, None)
    assert events(decision) == ["AppFailed"]
    last = run(
        k8s({"failed": 2}, backoffLimit=2),
        cluster=ready_cluster(),
        submitter=submitter(finished_at=NOW),
        ray=ray("FAILED"),
    )
    assert (last.status.job_deployment_status, last.status.failed) == (S.FAILED, 3)


def test_status_check_timeout_is_not_retried() -> None:
    stale = {"jobStatusCheckFailureStartTime": (NOW - timedelta(seconds=400)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    decision = run(
        k8s(stale, backoffLimit=3),
        cluster=ready_cluster(),
        submitter=submitter(),
        ray=ray(result=RayResult.UNREACHABLE, error="x"),
    )
    assert decision.status.job_deployment_status == S.FAILED


def test_not_yet_polled_waits_quietly() -> None:
    decision = run(k8s(), cluster=ready_cluster(), submitter=submitter(), ray=None)
    assert decision.status.job_deployment_status == S.RUNNING
    assert kinds(decision) == []
    assert not events(decision)


@pytest.mark.parametrize(
    ("sub", "awaits"),
    [
        (submitter(started=False, created_at=NOW), True),
        (submitter(started=True), False),
        (submitter(exists=False), False),
        (submitter(started=False, deleting=True), False),
    ],
)
def test_the_dashboard_is_asked_only_once_a_submitter_pod_ran(sub: object, awaits: bool) -> None:
    obs = observe(k8s(), cluster=ready_cluster(), submitter=sub)
    assert awaits_submitter(obs, obs.job.status or RayJobStatus()) is awaits


def test_a_job_seen_before_is_asked_whatever_its_submitter_does() -> None:
    pending = submitter(started=False, created_at=NOW)
    obs = observe(k8s({"jobStatus": "RUNNING"}), cluster=ready_cluster(), submitter=pending)
    assert not awaits_submitter(obs, obs.job.status or RayJobStatus())


def test_while_nothing_is_asked_the_submitters_start_timer_still_runs() -> None:
    waiting = run(k8s(), cluster=ready_cluster(), submitter=submitter(started=False, created_at=NOW), ray=None)
    assert waiting.status.job_deployment_status == S.RUNNING
    assert waiting.requeue_after is not None and waiting.requeue_after <= 300
    late = submitter(started=False, created_at=NOW - timedelta(seconds=301), problem="Unschedulable: 0/1 nodes")
    failed = run(k8s(), cluster=ready_cluster(), submitter=late, ray=None)
    assert (failed.status.job_deployment_status, failed.status.reason) == (S.FAILED, R.SUBMISSION_FAILED)
    assert "Unschedulable" in (failed.status.message or "")
