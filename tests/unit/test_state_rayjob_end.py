"""State machine: Suspending, Retrying, Suspended, and the deletion policies after the end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rayjob_operator.model.enums import JobDeploymentStatus, JobStatus
from rayjob_operator.state.rayjob.observation import Timeouts
from tests.manifests import deletion_rules
from tests.unit.jobstate import NOW, events, job, kinds, ready_cluster, run, running_status, submitter

S = JobDeploymentStatus


def teardown_status(state: str, **extra: Any) -> dict[str, Any]:
    return running_status(jobDeploymentStatus=state, jobStatus="RUNNING", failed=1, **extra)


@pytest.mark.parametrize(("state", "after"), [("Suspending", S.SUSPENDED), ("Retrying", S.NEW)])
def test_teardown_deletes_then_resets(state: str, after: JobDeploymentStatus) -> None:
    spec = {"suspend": True, "shutdownAfterJobFinishes": True} if state == "Suspending" else {"backoffLimit": 2}
    busy = run(job(teardown_status(state), **spec), cluster=ready_cluster(), submitter=submitter())
    assert busy.status.job_deployment_status == JobDeploymentStatus(state)
    assert kinds(busy) == ["StopJob", "DeleteCluster", "DeleteSubmitter"]
    deleting = run(
        job(teardown_status(state), **spec), cluster=ready_cluster(deleting=True), submitter=submitter(deleting=True)
    )
    assert kinds(deleting) == []
    assert deleting.status.job_deployment_status == JobDeploymentStatus(state)
    done = run(job(teardown_status(state), **spec), cluster=None, submitter=submitter(exists=False))
    status = done.status
    assert status.job_deployment_status == after
    assert (status.job_id, status.ray_cluster_name, status.dashboard_url, status.job_status) == (
        None,
        None,
        None,
        JobStatus.NEW,
    )
    assert status.failed == 1  # counters survive


@pytest.mark.parametrize(("state", "after"), [("Suspending", S.SUSPENDED), ("Retrying", S.NEW)])
def test_teardown_waits_for_the_pods_to_be_gone(state: str, after: JobDeploymentStatus) -> None:
    """The cluster object is gone, its pods still terminate: not Suspended yet (Kueue would free the quota)."""
    spec = {"suspend": True, "shutdownAfterJobFinishes": True} if state == "Suspending" else {"backoffLimit": 2}
    terminating = {"pods_left": ("demo-abcde-head-x",), "pods_terminating_since": NOW - timedelta(seconds=10)}
    waiting = run(job(teardown_status(state), **spec), cluster=None, **terminating)
    assert waiting.status.job_deployment_status == JobDeploymentStatus(state)
    assert waiting.requeue_after is not None
    assert "1 pod(s)" in (waiting.status.message or "")
    stuck = {"pods_left": ("demo-abcde-head-x",), "pods_terminating_since": NOW - timedelta(seconds=301)}
    given_up = run(job(teardown_status(state), **spec), cluster=None, **stuck)
    assert given_up.status.job_deployment_status == after
    assert events(given_up) == ["PodsStillTerminating"]


def test_suspending_is_atomic_even_if_suspend_is_withdrawn() -> None:
    decision = run(job(teardown_status("Suspending")), cluster=ready_cluster(deleting=True))
    assert decision.status.job_deployment_status == S.SUSPENDING


def test_retry_after_reset_gets_a_new_cluster_name() -> None:
    done = run(job(teardown_status("Retrying"), backoffLimit=2), cluster=None)
    again = run(job(done.status.to_dict(), backoffLimit=2), random_suffix="fghjk")
    assert again.status.ray_cluster_name == "demo-fghjk"


def test_suspended_waits_without_requeue_and_resumes_through_new() -> None:
    suspended = {"jobDeploymentStatus": "Suspended"}
    stay = run(job(suspended, suspend=True, shutdownAfterJobFinishes=True))
    assert (stay.status.job_deployment_status, stay.requeue_after, stay.actions) == (S.SUSPENDED, None, ())
    resumed = run(job(suspended, shutdownAfterJobFinishes=True))
    assert resumed.status.job_deployment_status == S.NEW


# --- after the end ------------------------------------------------------------------------------------------


def finished_status(state: str = "Complete", job_status: str = "SUCCEEDED", ago: int = 100) -> dict[str, Any]:
    end = (NOW - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return running_status(jobDeploymentStatus=state, jobStatus=job_status, endTime=end)


@pytest.mark.parametrize(
    ("spec", "status", "actions"),
    [
        ({"shutdownAfterJobFinishes": True}, finished_status(), ["DeleteCluster"]),
        ({"shutdownAfterJobFinishes": True, "ttlSecondsAfterFinished": 200}, finished_status(), []),
        ({"shutdownAfterJobFinishes": True}, finished_status("Failed", ""), ["DeleteCluster"]),
        ({}, finished_status(), []),
        (
            {"deletionStrategy": deletion_rules(("DeleteWorkers", "SUCCEEDED", 0))},
            finished_status(),
            ["SuspendWorkers"],
        ),
        ({"deletionStrategy": deletion_rules(("DeleteCluster", "SUCCEEDED", 0))}, finished_status(), ["DeleteCluster"]),
        ({"deletionStrategy": deletion_rules(("DeleteSelf", "SUCCEEDED", 0))}, finished_status(), ["DeleteSelf"]),
        ({"deletionStrategy": deletion_rules(("DeleteNone", "SUCCEEDED", 0))}, finished_status(), []),
        ({"deletionStrategy": deletion_rules(("DeleteCluster", "FAILED", 0))}, finished_status(), []),
        (
            {"deletionStrategy": deletion_rules(("DeleteCluster", "Failed", 0))},
            finished_status("Failed", "RUNNING"),
            ["DeleteCluster"],
        ),
        (
            {
                "deletionStrategy": deletion_rules(
                    ("DeleteWorkers", "SUCCEEDED", 0), ("DeleteCluster", "SUCCEEDED", 0), ("DeleteSelf", "SUCCEEDED", 0)
                )
            },
            finished_status(),
            ["DeleteSelf"],
        ),
        (
            {
                "deletionStrategy": deletion_rules(
                    ("DeleteWorkers", "SUCCEEDED", 50), ("DeleteCluster", "SUCCEEDED", 150)
                )
            },
            finished_status(),
            ["SuspendWorkers"],
        ),
        (
            {"deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteNone"}}},
            finished_status(),
            ["DeleteCluster"],
        ),
        (
            {"deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteNone"}}},
            finished_status("Failed", "FAILED"),
            [],
        ),
        (
            {"deletionStrategy": {"onSuccess": {"policy": "DeleteNone"}, "onFailure": {"policy": "DeleteCluster"}}},
            finished_status("Failed", ""),
            ["DeleteCluster"],
        ),
        (
            {"deletionStrategy": {"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteNone"}}},
            finished_status("Complete", "STOPPED"),
            ["SuspendWorkers"],
        ),
    ],
)
def test_deletion_policies(spec: dict[str, Any], status: dict[str, Any], actions: list[str]) -> None:
    decision = run(job(status, **spec), cluster=ready_cluster())
    assert kinds(decision) == actions
    assert decision.status.job_deployment_status == JobDeploymentStatus(status["jobDeploymentStatus"])


def test_staged_rules_requeue_until_the_next_is_due() -> None:
    spec = {"deletionStrategy": deletion_rules(("DeleteWorkers", "SUCCEEDED", 50), ("DeleteCluster", "SUCCEEDED", 150))}
    decision = run(job(finished_status(), **spec), cluster=ready_cluster(workers_suspended=True))
    assert kinds(decision) == []
    assert decision.requeue_after == pytest.approx(52.0)


def test_done_policies_are_not_repeated() -> None:
    spec = {"shutdownAfterJobFinishes": True}
    assert kinds(run(job(finished_status(), **spec), cluster=ready_cluster(deleting=True))) == []
    assert kinds(run(job(finished_status(), **spec), cluster=None)) == []


def test_delete_self_after_finish_option() -> None:
    decision = run(
        job(finished_status(), shutdownAfterJobFinishes=True),
        cluster=ready_cluster(),
        timeouts=Timeouts(delete_self_after_finish=True),
    )
    assert kinds(decision) == ["DeleteSelf"]


def test_cluster_selector_job_never_deletes_the_cluster_but_may_delete_itself() -> None:
    sel = {"rayClusterSpec": None, "clusterSelector": {"ray.io/cluster": "demo-abcde"}}
    not_owned = ready_cluster(owned=False)
    assert kinds(
        run(
            job(finished_status(), **sel, deletionStrategy=deletion_rules(("DeleteSelf", "SUCCEEDED", 0))),
            cluster=not_owned,
        )
    ) == ["DeleteSelf"]


def test_finished_without_end_time_does_not_crash() -> None:
    status = running_status(jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")
    decision = run(job(status, shutdownAfterJobFinishes=True), cluster=ready_cluster())
    assert kinds(decision) == ["DeleteCluster"]


def test_suspend_on_a_finished_job_changes_nothing() -> None:
    decision = run(
        job(finished_status(), suspend=True, shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=500),
        cluster=ready_cluster(),
    )
    assert decision.status.job_deployment_status == S.COMPLETE
    assert kinds(decision) == []
