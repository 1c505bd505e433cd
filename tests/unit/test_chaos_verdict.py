"""The chaos run's judgement (pure): duplicate submissions, leaks, terminal states, the verdict and its report."""

from __future__ import annotations

import json
from typing import Any

from rayjob_bench.config import Mode
from rayjob_chaos.leaks import find_leaks
from rayjob_chaos.observations import FaultEvent, Observations
from rayjob_chaos.plan import JobPlan, ScenarioConfig, Treatment
from rayjob_chaos.render import render
from rayjob_chaos.submissions import check_submissions, head_of
from rayjob_chaos.verdict import judge, missing_driver_logs

NS = "chaos-0"


def host(cluster: str, ns: str = NS) -> str:
    return f"{cluster}-head-svc.{ns}.svc.cluster.local:8265"


def accepted(cluster: str, submissions: int = 1, hosts: list[str] | None = None) -> dict[str, Any]:
    return {"host": host(cluster), "hosts": hosts or [host(cluster)], "submissions": submissions}


# --- submissions -----------------------------------------------------------------------------------------
def test_a_head_services_host_names_the_attempt() -> None:
    assert head_of(host("job-a-x2b4c")) == (NS, "job-a-x2b4c")
    assert head_of("job-a-x2b4c-head-svc.chaos-1.svc:8265") == ("chaos-1", "job-a-x2b4c")
    assert head_of("127.0.0.1:8265") is None


def test_one_id_per_attempt_repeated_posts_included_is_exactly_once() -> None:
    jobs = {"job-a-1": accepted("job-a-1", submissions=3), "job-a-2": accepted("job-a-2"), "never": {"submissions": 1}}
    check = check_submissions(jobs, {(NS, "job-a"): {"job-a-1", "job-a-2"}})
    assert check.duplicates == []
    assert (check.accepted, check.repeated_ids, check.repeated_posts) == (2, 1, 2)


def test_two_ids_on_one_attempt_an_unowned_head_and_an_id_on_two_heads_are_duplicates() -> None:
    jobs = {
        "job-a-1": accepted("job-a-1"),
        "job-a-1b": accepted("job-a-1"),
        "stray": accepted("gone-cluster"),
        "job-b-1": accepted("job-b-1", hosts=[host("job-b-1"), host("job-b-2")]),
    }
    attempts = {(NS, "job-a"): {"job-a-1"}, (NS, "job-b"): {"job-b-1", "job-b-2"}}
    duplicates = check_submissions(jobs, attempts).duplicates
    assert len(duplicates) == 3
    assert "RayJob chaos-0/job-a, attempt job-a-1: 2 ids accepted: job-a-1, job-a-1b" in duplicates
    assert any("stray accepted on gone-cluster-head-svc" in d and "no RayJob attempt owns" in d for d in duplicates)
    assert any(d.startswith("submission id job-b-1 sent to 2 heads") for d in duplicates)


# --- leaks -----------------------------------------------------------------------------------------------
def obj(name: str, uid: str, owner: tuple[str, str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": uid, **extra}
    if owner is not None:
        kind, owner_name, owner_uid = owner
        meta["ownerReferences"] = [{"kind": kind, "name": owner_name, "uid": owner_uid}]
    return {"metadata": meta}


def rayjob(name: str, uid: str, state: str | None, cluster: str | None, shutdown: bool = True) -> dict[str, Any]:
    body = obj(name, uid)
    body["spec"] = {"shutdownAfterJobFinishes": shutdown}
    body["status"] = {"jobDeploymentStatus": state, "rayClusterName": cluster}
    return body


def test_children_of_a_deleted_rayjob_are_leaked_down_the_ownership_chain() -> None:
    objects = {
        "RayCluster": [obj("gone-1", "c1", ("RayJob", "gone", "j-gone"))],
        "Pod": [obj("gone-1-head", "p1", ("RayCluster", "gone-1", "c1"))],
        "Service": [obj("gone-1-head-svc", "s1", ("RayCluster", "gone-1", "c1"))],
        "ConfigMap": [obj("kube-root-ca.crt", "cm0"), obj("gone-driver-log", "cm1", ("RayJob", "gone", "j-gone"))],
        "Job": [],
    }
    leaks = find_leaks([], objects)
    assert [(leak.kind, leak.name) for leak in leaks] == [
        ("RayCluster", "gone-1"),
        ("Pod", "gone-1-head"),
        ("Service", "gone-1-head-svc"),
        ("ConfigMap", "gone-driver-log"),
    ]
    assert leaks[0].why == "its owner RayJob gone is gone"
    assert leaks[1].why == "its owner RayCluster gone-1 is leaked"


def test_a_terminal_rayjob_keeps_only_its_last_cluster_and_only_without_shutdown() -> None:
    jobs = [
        rayjob("keep", "j1", "Complete", "keep-2", shutdown=False),
        rayjob("shut", "j2", "Failed", "shut-1"),
        rayjob("busy", "j3", "Running", "busy-1"),
    ]
    clusters = [
        obj("keep-1", "c1", ("RayJob", "keep", "j1")),
        obj("keep-2", "c2", ("RayJob", "keep", "j1")),
        obj("shut-1", "c3", ("RayJob", "shut", "j2")),
        obj("busy-1", "c4", ("RayJob", "busy", "j3")),
    ]
    leaks = find_leaks(jobs, {"RayCluster": clusters})
    assert {leak.name: leak.why for leak in leaks} == {
        "keep-1": "an earlier attempt's cluster of Complete RayJob keep",
        "shut-1": "RayJob shut is Failed with shutdownAfterJobFinishes",
    }


def test_an_unowned_object_labelled_with_a_gone_rayjob_is_leaked() -> None:
    labels = {"ray.io/originated-from-crd": "RayJob", "ray.io/originated-from-cr-name": "gone"}
    mine = {"ray.io/originated-from-crd": "RayJob", "ray.io/originated-from-cr-name": "here"}
    objects = {"Service": [obj("a", "s1", labels=labels), obj("b", "s2", labels=mine)]}
    leaks = find_leaks([rayjob("here", "j1", "Complete", None)], objects)
    assert [leak.name for leak in leaks] == ["a"]


# --- verdict and report ------------------------------------------------------------------------------------
def planned(index: int, treatment: Treatment, **kwargs: Any) -> JobPlan:
    return JobPlan(index, treatment, Mode.HTTP, NS, seconds=5.0, **kwargs)


def status_body(job: JobPlan, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": job.name, "namespace": NS, "uid": job.name}, "spec": {}, "status": status}


def test_the_verdict_fails_on_stuck_lost_and_reasonless_and_reports_the_unexpected() -> None:
    ok = planned(0, Treatment.SUCCEED)
    failing = planned(1, Treatment.FAIL_RETRY, backoff_limit=2, end_status="FAILED")
    deleted = planned(2, Treatment.DELETE_MIDFLIGHT)
    stuck = planned(3, Treatment.SUCCEED)
    lost = planned(4, Treatment.SUCCEED)
    bare = planned(5, Treatment.DEADLINE)
    obs = Observations(finished=None, created=2.0, ended=130.0)
    obs.rayjobs = [
        status_body(ok, jobDeploymentStatus="Complete", jobStatus="SUCCEEDED"),
        status_body(failing, jobDeploymentStatus="Failed", reason="AppFailed", message="boom", failed=2),
        status_body(stuck, jobDeploymentStatus="Running", jobStatus="RUNNING"),
        status_body(bare, jobDeploymentStatus="Failed"),
    ]
    obs.deleted = {deleted.key}
    obs.faults.events.append(FaultEvent(15.0, "operator-restart", 3.2))
    obs.loadgen = {"by_kind": {"status": 90, "submit": 10}, "faults": {"error": 12, "reset": 8}, "jobs": {}}
    report = judge(ScenarioConfig(n=6), [ok, failing, deleted, stuck, lost, bare], obs)
    assert not report.passed
    assert [o.plan.name for o in report.stuck] == [stuck.name]
    assert [o.plan.name for o in report.lost] == [lost.name]
    assert [o.plan.name for o in report.reasonless] == [bare.name]
    unexpected = {o.plan.name for o in report.unexpected}
    assert unexpected == {failing.name, stuck.name, lost.name, bare.name}  # failing: 2 attempts, not 3
    text = render(report, operator_settings="defaults")
    assert "operator SIGKILLed and restarted (survived)      1" in text
    assert "20 of 100 (20.0%" in text
    assert "verdict: FAIL: 1 RayJobs not terminal by the deadline, 1 RayJobs gone that nobody deleted" in text
    json.dumps(report.to_json(), default=str)


def test_a_clean_run_passes() -> None:
    ok = planned(0, Treatment.SUCCEED)
    gone = planned(1, Treatment.DELETE_MIDFLIGHT)
    obs = Observations(finished=40.0)
    obs.rayjobs = obs.final_rayjobs = [status_body(ok, jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")]
    obs.deleted = {gone.key}
    obs.attempts = {ok.key: {"chaos-0000-succeed-x"}}
    obs.loadgen = {"jobs": {"chaos-0000-succeed-x": accepted("chaos-0000-succeed-x")}}
    report = judge(ScenarioConfig(n=2), [ok, gone], obs)
    assert report.passed, report.failures
    assert report.unexpected == []
    assert render(report, operator_settings="defaults").endswith("verdict: PASS\n")


def test_driver_logs_are_looked_for_where_a_ray_job_ran() -> None:
    def job(name: str, state: str, job_status: str | None) -> dict[str, Any]:
        status = {"jobDeploymentStatus": state, "jobStatus": job_status, "jobId": f"{name}-x"}
        return {"metadata": {"name": name, "namespace": NS}, "status": status}

    def log(name: str, job_id: str) -> dict[str, Any]:
        return {"metadata": {"name": f"{name}-driver-log", "namespace": NS, "annotations": {"ray.io/job-id": job_id}}}

    jobs = [
        job("kept", "Complete", "SUCCEEDED"),
        job("lost", "Failed", "FAILED"),
        job("stale", "Failed", "FAILED"),
        job("never-ran", "Failed", None),
        job("busy", "Running", "RUNNING"),
    ]
    eligible, missing = missing_driver_logs(jobs, [log("kept", "kept-x"), log("stale", "stale-earlier")])
    assert eligible == 3
    assert missing == ["chaos-0/lost (job lost-x, jobStatus FAILED)", "chaos-0/stale (job stale-x, jobStatus FAILED)"]
