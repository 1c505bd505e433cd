"""State machine: New, Initializing, Waiting, validation (rows of §2.12 plus our own)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rayjob_operator import constants
from rayjob_operator.model.enums import ClusterState, JobDeploymentStatus, JobFailedReason
from rayjob_operator.model.raycluster import RayClusterStatus
from rayjob_operator.state.rayjob import actions as a
from rayjob_operator.state.rayjob.decide import decide
from rayjob_operator.state.rayjob.outcome import refused
from tests.unit.jobstate import NOW, T0, events, job, kinds, observe, ready_cluster, run

S = JobDeploymentStatus
INIT = {
    "jobDeploymentStatus": "Initializing",
    "jobId": "demo-abcde",
    "rayClusterName": "demo-abcde",
    "startTime": T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
}


def test_new_persists_identity_before_creating_anything() -> None:
    decision = run(job(), has_finalizer=False)
    status = decision.status
    assert status.job_deployment_status == S.INITIALIZING
    assert (status.job_id, status.ray_cluster_name, status.start_time) == ("demo-abcde", "demo-abcde", NOW)
    assert kinds(decision) == ["AddFinalizer"]  # no cluster yet: it is created once the ids are written


def test_new_uses_spec_job_id_and_selected_cluster() -> None:
    decision = run(job(jobId="mine", rayClusterSpec=None, clusterSelector={constants.LABEL_CLUSTER: "shared"}))
    assert (decision.status.job_id, decision.status.ray_cluster_name) == ("mine", "shared")


def test_new_interactive_has_no_job_id() -> None:
    assert run(job(submissionMode="InteractiveMode")).status.job_id is None


def test_new_suspended_goes_straight_to_suspended_without_a_cluster() -> None:
    decision = run(job(suspend=True, shutdownAfterJobFinishes=True))
    assert decision.status.job_deployment_status == S.SUSPENDED
    assert decision.status.ray_cluster_name is None
    assert kinds(decision) == []


def test_initializing_creates_the_cluster_with_the_persisted_name() -> None:
    decision = run(job(INIT))
    assert kinds(decision) == ["CreateCluster"]
    action = decision.actions[0]
    assert isinstance(action, a.CreateCluster)
    meta = action.manifest["metadata"]
    assert meta["name"] == "demo-abcde"
    assert meta["ownerReferences"][0]["uid"] == "uid-1"
    assert meta["ownerReferences"][0]["controller"] is True
    assert decision.status.job_deployment_status == S.INITIALIZING


def test_initializing_names_the_pod_problem_and_copies_the_cluster_status_when_it_first_shows() -> None:
    cluster = ready_cluster(status=RayClusterStatus(state=None), problem="pod x: ray-head: ImagePullBackOff")
    decision = run(job(INIT), cluster=cluster)
    assert decision.status.job_deployment_status == S.INITIALIZING
    assert decision.status.ray_cluster_status == RayClusterStatus(state=None)
    assert "ImagePullBackOff" in (decision.status.message or "")


def test_initializing_copies_the_cluster_status_again_only_when_its_state_changes() -> None:
    copied = {**INIT, "rayClusterStatus": {"readyWorkerReplicas": 0}}
    more_pods = ready_cluster(status=RayClusterStatus(state=None, ready_worker_replicas=1))
    decision = run(job(copied), cluster=more_pods)
    assert decision.status.ray_cluster_status == RayClusterStatus(ready_worker_replicas=0)  # no write for a pod
    assert decision.status.message is None
    failed = RayClusterStatus(state=ClusterState.FAILED, reason="quota exceeded")
    decision = run(job(copied), cluster=ready_cluster(status=failed))
    assert decision.status.ray_cluster_status == failed


@pytest.mark.parametrize(
    ("mode", "state", "actions"),
    [
        ("K8sJobMode", S.RUNNING, ["CreateSubmitter"]),
        ("HTTPMode", S.RUNNING, ["SubmitJob"]),  # at once: nothing is polled before it is submitted
        ("SidecarMode", S.RUNNING, []),
        ("InteractiveMode", S.WAITING, []),
    ],
)
def test_ready_cluster_moves_on_per_mode(mode: str, state: JobDeploymentStatus, actions: list[str]) -> None:
    decision = run(job(INIT, submissionMode=mode), cluster=ready_cluster())
    assert decision.status.job_deployment_status == state
    assert decision.status.dashboard_url == ready_cluster().dashboard_address
    assert kinds(decision) == actions


def test_http_mode_submits_with_the_persisted_id_to_the_ready_cluster() -> None:
    decision = run(job(INIT, submissionMode="HTTPMode"), cluster=ready_cluster())
    (submit,) = decision.actions
    assert isinstance(submit, a.SubmitJob)
    assert (submit.address, submit.request["submission_id"]) == (ready_cluster().dashboard_address, "demo-abcde")


def test_submitter_job_gets_the_persisted_id_and_address() -> None:
    decision = run(job(INIT), cluster=ready_cluster())
    action = decision.actions[0]
    assert isinstance(action, a.CreateSubmitter)
    env = {e["name"]: e.get("value") for e in action.manifest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_JOB_SUBMISSION_ID"] == "demo-abcde"
    assert env["RAY_DASHBOARD_ADDRESS"] == ready_cluster().dashboard_address
    assert env["RAY_JOB_ENTRYPOINT"] == "python -c 'print(1)'"


def test_existing_submitter_is_not_created_again() -> None:
    from tests.unit.jobstate import submitter

    decision = run(job(INIT), cluster=ready_cluster(), submitter=submitter())
    assert kinds(decision) == []


def test_cluster_without_head_service_keeps_waiting() -> None:
    decision = run(job(INIT), cluster=ready_cluster(head_service_ready=False))
    assert decision.status.job_deployment_status == S.INITIALIZING


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"activeDeadlineSeconds": 50}, JobFailedReason.DEADLINE_EXCEEDED),
        ({"preRunningDeadlineSeconds": 50}, JobFailedReason.PRE_RUNNING_DEADLINE_EXCEEDED),
    ],
)
def test_deadlines_fail_initializing(spec: dict[str, int], reason: JobFailedReason) -> None:
    decision = run(job(INIT, **spec))
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, reason)
    assert decision.status.end_time == NOW
    assert decision.status.failed == 1
    assert events(decision) == [reason.value]


def test_pre_running_deadline_is_retried_but_active_deadline_is_not() -> None:
    retried = run(job(INIT, preRunningDeadlineSeconds=50, backoffLimit=1))
    assert retried.status.job_deployment_status == S.RETRYING
    not_retried = run(job(INIT, activeDeadlineSeconds=50, backoffLimit=1))
    assert not_retried.status.job_deployment_status == S.FAILED


def test_deadline_not_yet_due_schedules_a_check() -> None:
    decision = run(job(INIT, activeDeadlineSeconds=160))
    assert decision.requeue_after == pytest.approx(60.0)


def test_suspend_while_initializing_deletes_the_cluster() -> None:
    decision = run(job(INIT, suspend=True, shutdownAfterJobFinishes=True), cluster=ready_cluster())
    assert decision.status.job_deployment_status == S.SUSPENDING
    assert kinds(decision) == ["DeleteCluster"]


def test_selected_cluster_missing_waits_then_fails() -> None:
    spec = {"rayClusterSpec": None, "clusterSelector": {constants.LABEL_CLUSTER: "shared"}}
    waiting = run(job(INIT | {"rayClusterName": "shared", "startTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}, **spec))
    assert waiting.status.job_deployment_status == S.INITIALIZING
    assert events(waiting) == ["RayClusterNotFound"]
    late = run(job(INIT | {"rayClusterName": "shared"}, **spec), now=T0 + timedelta(seconds=61))
    assert (late.status.job_deployment_status, late.status.reason) == (S.FAILED, JobFailedReason.CLUSTER_NOT_FOUND)


def test_cluster_failed_for_long_fails_the_job_with_its_reason() -> None:
    failed = RayClusterStatus(
        state=ClusterState.FAILED,
        reason="exceeded quota",
        state_transition_times={"failed": NOW - timedelta(seconds=90)},
    )
    decision = run(job(INIT), cluster=ready_cluster(status=failed))
    assert (decision.status.job_deployment_status, decision.status.reason) == (S.FAILED, JobFailedReason.CLUSTER_FAILED)
    assert "exceeded quota" in (decision.status.message or "")


def test_refused_submitter_job_fails_the_attempt_in_the_status_of_that_reconcile() -> None:
    """The refusal is settled into the status the reconcile writes: no process memory decides later."""
    obs = observe(job(INIT), cluster=ready_cluster())
    decided = decide(obs)
    assert kinds(decided) == ["CreateSubmitter"]
    settled = refused(obs, decided.status, "Job", "Failed to create new Kubernetes Job ns/demo: invalid")
    status = settled.status
    assert (status.job_deployment_status, status.reason) == (S.FAILED, JobFailedReason.SUBMISSION_FAILED)
    assert status.dashboard_url == ready_cluster().dashboard_address  # the decided status, then failed
    assert "Failed to create new Kubernetes Job" in (status.message or "")


def test_refused_cluster_is_retried_when_the_backoff_limit_allows() -> None:
    obs = observe(job(INIT, backoffLimit=1))
    settled = refused(obs, decide(obs).status, "RayCluster", "Failed to create RayCluster ns/demo-abcde: quota")
    assert (settled.status.job_deployment_status, settled.status.reason) == (S.RETRYING, JobFailedReason.CLUSTER_FAILED)


def test_waiting_moves_to_running_once_the_user_sets_job_id() -> None:
    waiting = {**INIT, "jobDeploymentStatus": "Waiting", "jobId": None, "dashboardURL": "x:8265"}
    assert run(job(waiting, submissionMode="InteractiveMode")).status.job_deployment_status == S.WAITING
    decision = run(job(waiting, submissionMode="InteractiveMode", jobId="user-id"))
    assert (decision.status.job_deployment_status, decision.status.job_id) == (S.RUNNING, "user-id")


def test_waiting_honours_deadlines_and_suspend() -> None:
    waiting = {**INIT, "jobDeploymentStatus": "Waiting", "jobId": None}
    late = run(job(waiting, submissionMode="InteractiveMode", preRunningDeadlineSeconds=10))
    assert late.status.reason == JobFailedReason.PRE_RUNNING_DEADLINE_EXCEEDED
    active = run(job(waiting, submissionMode="InteractiveMode", activeDeadlineSeconds=10))
    assert active.status.reason == JobFailedReason.DEADLINE_EXCEEDED
    suspended = run(job(waiting, submissionMode="InteractiveMode", suspend=True, shutdownAfterJobFinishes=True))
    assert suspended.status.job_deployment_status == S.SUSPENDED


def test_validation_failure_cleans_up_and_is_terminal_until_fixed() -> None:
    broken = job(INIT, runtimeEnvYAML="invalid_yaml_string")
    decision = run(broken, cluster=ready_cluster())
    assert decision.status.job_deployment_status == S.VALIDATION_FAILED
    assert decision.status.reason == JobFailedReason.VALIDATION_FAILED
    assert "spec.runtimeEnvYAML" in (decision.status.message or "")
    assert kinds(decision) == ["DeleteCluster"]
    assert events(decision) == ["InvalidRayJobSpec"]
    again = run(job(decision.status.to_dict(), runtimeEnvYAML="invalid_yaml_string"))
    assert events(again) == []  # the event is not repeated on every reconcile
    fixed = run(job(decision.status.to_dict()))
    assert fixed.status.job_deployment_status == S.NEW


def test_validation_does_not_touch_finished_jobs() -> None:
    done = {**INIT, "jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED", "endTime": NOW.isoformat()}
    decision = run(job(done, runtimeEnvYAML="invalid_yaml_string"))
    assert decision.status.job_deployment_status == S.COMPLETE


def test_conditions_and_observed_generation_are_set() -> None:
    decision = run(job(INIT, activeDeadlineSeconds=50))
    conditions = {c.type: c.status for c in decision.status.conditions or []}
    assert conditions == {"Complete": "False", "Failed": "True", "Suspended": "False", "Running": "False"}
    assert decision.status.observed_generation == 3
