"""The RayJob reconciler over in-memory fakes: observe, decide, act, write status once; no process memory decides.

Each test drives ``reconcile_rayjob`` against a :class:`FakeKube` (objects, resourceVersions, finalizers,
conflicts) with the real Store; the poller is replaced by a table of dashboard answers (``Tracker``), so the
tests say exactly what the dashboard answered. "A restart" is a new Context over the same fake API.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

from rayjob_operator import constants
from rayjob_operator.dashboard.models import SubmitRequest
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.bodies import Body
from rayjob_operator.model.enums import JobStatus
from rayjob_operator.reconcilers.context import Context
from rayjob_operator.reconcilers.rayjob import reconcile_rayjob
from rayjob_operator.runtime.poller import Target
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob.observation import RayResult, RayView
from tests.unit.fakes import NOW, FakeDashboard, FakeKube, context
from tests.unit.jobstate import BASE

KEY = ("ns", "demo")
ADDRESS = "demo-abcde-head-svc.ns.svc.cluster.local:8265"


class Tracker:
    """The poller's part: answers ``latest`` from ``views``; records what was tracked and submitted."""

    def __init__(self) -> None:
        self.views: dict[Hashable, RayView] = {}
        self.tracked: dict[Hashable, Target] = {}
        self.submitted: list[SubmitRequest] = []

    def track(self, key: Hashable, target: Target) -> None:
        self.tracked[key] = target

    def untrack(self, key: Hashable) -> None:
        self.tracked.pop(key, None)

    def submit(self, key: Hashable, target: Target, request: SubmitRequest) -> None:
        self.tracked[key] = target
        self.submitted.append(request)

    def latest(self, key: Hashable, target: Target) -> RayView | None:
        return self.views.get(key)


def rayjob(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["metadata"] = {"name": "demo", "namespace": "ns"}
    body["spec"].update(spec)
    if status is not None:
        body["status"] = status
    return body


def running(**extra: Any) -> dict[str, Any]:
    return {
        "jobDeploymentStatus": "Running",
        "jobId": "demo-abcde",
        "rayClusterName": "demo-abcde",
        "dashboardURL": ADDRESS,
        "startTime": "2026-11-23T11:58:00Z",
        **extra,
    }


async def started(kube: FakeKube, *, now: Any = NOW, tracker: Tracker | None = None, **config: Any) -> Context:
    """A freshly started operator over ``kube``: caches primed from the API."""
    ctx = context(kube, FakeDashboard(), now=now, **config)
    ctx.poller = tracker or Tracker()
    await ctx.store.prime()
    return ctx


def status_of(kube: FakeKube) -> dict[str, Any]:
    body = kube.find(res.RAYJOBS, *KEY)
    assert body is not None
    return dict(body.get("status") or {})


async def test_identity_is_persisted_before_anything_is_created() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob())
    ctx = await started(kube)
    await reconcile_rayjob(KEY, ctx)
    body = kube.find(res.RAYJOBS, *KEY)
    assert body is not None and constants.RAYJOB_FINALIZER in body["metadata"]["finalizers"]
    status = status_of(kube)
    assert status["jobDeploymentStatus"] == "Initializing"
    assert status["jobId"].startswith("demo-") and status["rayClusterName"].startswith("demo-")
    assert kube.of_kind(res.RAYCLUSTERS) == []  # nothing created in the reconcile that named it
    await reconcile_rayjob(KEY, ctx)
    (cluster,) = kube.of_kind(res.RAYCLUSTERS)
    assert cluster["metadata"]["name"] == status["rayClusterName"]
    assert cluster["metadata"]["ownerReferences"][0]["controller"] is True
    assert "CreatedRayCluster" in ctx.job_events.reasons()  # type: ignore[attr-defined]


async def test_a_refused_cluster_fails_the_attempt_in_the_status_written_at_once() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob({**running(), "jobDeploymentStatus": "Initializing", "dashboardURL": None}))
    kube.refusals[res.RAYCLUSTERS.plural] = errors.Invalid(422, "Invalid", "spec.headGroupSpec: bad")
    ctx = await started(kube)
    await reconcile_rayjob(KEY, ctx)
    status = status_of(kube)
    assert (status["jobDeploymentStatus"], status["reason"]) == ("Failed", "RayClusterFailed")
    assert "spec.headGroupSpec: bad" in status["message"]
    assert ctx.job_events.reasons().count("FailedToCreateRayCluster") == 1  # type: ignore[attr-defined]
    restarted = await started(kube)  # nothing to remember: the status says it
    await reconcile_rayjob(KEY, restarted)
    assert status_of(kube)["jobDeploymentStatus"] == "Failed"
    assert kube.of_kind(res.RAYCLUSTERS) == []


async def test_the_grace_of_a_job_the_dashboard_forgot_survives_a_restart() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob(running(jobStatus="RUNNING"), submissionMode="HTTPMode"))
    forgotten = RayView(result=RayResult.NOT_FOUND, since=NOW, checked_at=NOW)
    tracker = Tracker()
    tracker.views[KEY] = forgotten
    ctx = await started(kube, tracker=tracker, head_lost_grace_seconds=60)
    await _ready_cluster(kube, ctx)
    await reconcile_rayjob(KEY, ctx)
    assert status_of(kube)["jobStatusCheckFailureStartTime"] == "2026-11-23T12:00:00Z"
    assert status_of(kube)["jobDeploymentStatus"] == "Running"
    later = Tracker()  # a restarted operator: its poller has only just seen the 404 ("since" is now)
    later.views[KEY] = RayView(result=RayResult.NOT_FOUND, since=NOW + timedelta(seconds=61))
    restarted = await started(kube, now=NOW + timedelta(seconds=61), tracker=later, head_lost_grace_seconds=60)
    await reconcile_rayjob(KEY, restarted)
    status = status_of(kube)
    assert (status["jobDeploymentStatus"], status["reason"]) == ("Failed", "JobNotFound")
    assert later.submitted == []  # never submitted again


async def test_a_write_that_loses_a_race_is_decided_again_on_the_newer_object() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob())
    ctx = await started(kube)
    newer = await kube.patch(res.RAYJOBS, *KEY, {"metadata": {"labels": {"queue": "q"}}})  # Kueue, say
    delay = await reconcile_rayjob(KEY, ctx)  # the finalizer patch loses the race: no exception, no status
    assert delay == requeue.AFTER_CONFLICT
    assert status_of(kube) == {}
    cached = ctx.store.get(res.RAYJOBS, *KEY)
    assert cached is not None and cached["metadata"]["resourceVersion"] == newer["metadata"]["resourceVersion"]
    await reconcile_rayjob(KEY, ctx)
    assert status_of(kube)["jobDeploymentStatus"] == "Initializing"


async def test_deletion_stops_the_ray_job_then_removes_the_finalizer() -> None:
    kube = FakeKube()
    body = rayjob(running(jobStatus="RUNNING"))
    body["metadata"]["finalizers"] = [constants.RAYJOB_FINALIZER]
    kube.put(res.RAYJOBS, body)
    await kube.delete(res.RAYJOBS, *KEY)  # held by the finalizer
    ctx = await started(kube)
    dashboard = ctx.dashboard
    assert isinstance(dashboard, FakeDashboard)
    dashboard.jobs["demo-abcde"] = "RUNNING"
    await reconcile_rayjob(KEY, ctx)
    assert ("stop", "demo-abcde") in dashboard.calls
    assert kube.find(res.RAYJOBS, *KEY) is None


async def test_http_mode_is_submitted_once_from_the_transition_to_running() -> None:
    kube = FakeKube()
    initializing = {**running(), "jobDeploymentStatus": "Initializing", "dashboardURL": None}
    kube.put(res.RAYJOBS, rayjob(initializing, submissionMode="HTTPMode"))
    tracker = Tracker()
    ctx = await started(kube, tracker=tracker)
    await _ready_cluster(kube, ctx)
    await reconcile_rayjob(KEY, ctx)
    assert status_of(kube)["jobDeploymentStatus"] == "Running"
    assert [r.submission_id for r in tracker.submitted] == ["demo-abcde"]
    tracker.views[KEY] = RayView(result=RayResult.SUBMITTED, submitted=True, since=NOW)
    await reconcile_rayjob(KEY, ctx)  # the status write's own watch event, say
    assert len(tracker.submitted) == 1


async def test_a_refused_token_is_read_again_from_the_secret() -> None:
    kube = FakeKube()
    auth = {"authOptions": {"mode": "token"}}
    job = rayjob(running(jobStatus="RUNNING"), submissionMode="HTTPMode")
    job["spec"]["rayClusterSpec"].update(auth)
    kube.put(res.RAYJOBS, job)
    tracker = Tracker()
    ctx = await started(kube, tracker=tracker)
    await _ready_cluster(kube, ctx, **auth)
    _secret(kube, "first")
    tracker.views[KEY] = RayView(result=RayResult.FOUND, status=JobStatus.RUNNING, since=NOW)
    await reconcile_rayjob(KEY, ctx)
    assert tracker.tracked[KEY].token == "first"
    _secret(kube, "rotated")
    await reconcile_rayjob(KEY, ctx)
    assert tracker.tracked[KEY].token == "first"  # remembered: the Secret is not read on every reconcile
    tracker.views[KEY] = RayView(result=RayResult.UNREACHABLE, auth_failed=True, error="401", since=NOW)
    await reconcile_rayjob(KEY, ctx)
    assert tracker.tracked[KEY].token == "rotated"


async def test_the_token_is_forgotten_when_the_attempt_ends() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob(running(jobStatus="RUNNING"), submissionMode="HTTPMode"))
    tracker = Tracker()
    ctx = await started(kube, tracker=tracker)
    await _ready_cluster(kube, ctx)
    tracker.views[KEY] = RayView(result=RayResult.FOUND, status=JobStatus.RUNNING, since=NOW)
    await reconcile_rayjob(KEY, ctx)
    assert ctx.tokens.lookup(KEY, "demo-abcde") == (True, None)
    tracker.views[KEY] = RayView(result=RayResult.FOUND, status=JobStatus.SUCCEEDED, since=NOW)
    await reconcile_rayjob(KEY, ctx)
    assert status_of(kube)["jobDeploymentStatus"] == "Complete"
    assert (KEY not in tracker.tracked, len(ctx.tokens)) == (True, 0)


async def _job_ends_with_log_failures(failures: int) -> tuple[FakeKube, FakeDashboard]:
    """An HTTPMode job seen SUCCEEDED, reconciled once, while the first ``failures`` log reads fail."""
    kube = FakeKube()
    kube.put(res.RAYJOBS, rayjob(running(jobStatus="RUNNING"), submissionMode="HTTPMode"))
    tracker = Tracker()
    ctx = await started(kube, tracker=tracker)
    await _ready_cluster(kube, ctx)
    dashboard = ctx.dashboard
    assert isinstance(dashboard, FakeDashboard)
    dashboard.log_failures = failures
    tracker.views[KEY] = RayView(result=RayResult.FOUND, status=JobStatus.SUCCEEDED, since=NOW)
    await reconcile_rayjob(KEY, ctx)
    assert status_of(kube)["jobDeploymentStatus"] == "Complete"
    return kube, dashboard


async def test_the_driver_log_is_kept_when_a_read_of_it_fails_once() -> None:
    """It is read once, when the job ends, and the cluster that holds it goes right after (chaos run)."""
    kube, dashboard = await _job_ends_with_log_failures(1)
    log = kube.find(res.CONFIGMAPS, "ns", "demo-driver-log")
    assert log is not None and log["data"]["driver.log"] == "log of demo-abcde\n"
    assert dashboard.calls.count(("logs", "demo-abcde")) == 2


async def test_a_dashboard_that_keeps_failing_costs_the_log_not_the_outcome() -> None:
    kube, dashboard = await _job_ends_with_log_failures(100)
    assert kube.find(res.CONFIGMAPS, "ns", "demo-driver-log") is None
    assert dashboard.calls.count(("logs", "demo-abcde")) == 3  # bounded


async def _ready_cluster(kube: FakeKube, ctx: Context, **spec: Any) -> None:
    """The attempt's RayCluster, ready, with its head Service (as the RayCluster reconciler would leave them)."""
    job = kube.find(res.RAYJOBS, *KEY)
    assert job is not None
    cluster_spec = {**copy.deepcopy(BASE["spec"]["rayClusterSpec"]), **spec}
    owner = {"apiVersion": "ray.io/v1", "kind": "RayJob", "name": "demo", "uid": job["metadata"]["uid"]}
    cluster = {
        "metadata": {"name": "demo-abcde", "namespace": "ns", "ownerReferences": [{**owner, "controller": True}]},
        "spec": cluster_spec,
        "status": {"state": "ready"},
    }
    kube.put(res.RAYCLUSTERS, cluster)
    labels = {constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE}
    service = {"metadata": {"name": "demo-abcde-head-svc", "namespace": "ns", "labels": labels}, "spec": {"ports": []}}
    kube.put(res.SERVICES, service)
    await ctx.store.prime()


def _secret(kube: FakeKube, token: str) -> None:
    key = (res.SECRETS.plural, "ns", "demo-abcde")
    kube.objects.pop(key, None)
    data = {"auth_token": base64.b64encode(token.encode()).decode()}
    kube.put(res.SECRETS, {"metadata": {"name": "demo-abcde", "namespace": "ns"}, "data": data})


LABELS = {constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE}


async def _running_with_submitter(kube: FakeKube, job_status: dict[str, Any]) -> tuple[Context, Tracker, Body]:
    """A Running K8sJobMode RayJob on a ready cluster with its submitter Job (``job_status``); the Job."""
    body = kube.put(res.RAYJOBS, rayjob(running()))
    ctx = await started(kube)
    await _ready_cluster(kube, ctx)
    owner = {"apiVersion": "ray.io/v1", "kind": "RayJob", "name": "demo", "uid": body["metadata"]["uid"]}
    meta = {"name": "demo", "namespace": "ns", "labels": LABELS, "ownerReferences": [{**owner, "controller": True}]}
    submitter = kube.put(res.JOBS, {"metadata": meta, "spec": {}, "status": job_status})
    tracker = ctx.poller
    assert isinstance(tracker, Tracker)
    return ctx, tracker, submitter


async def test_k8s_job_mode_asks_the_dashboard_only_once_a_submitter_pod_runs() -> None:
    kube = FakeKube()
    ctx, tracker, submitter = await _running_with_submitter(kube, {})
    job_owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "demo", "uid": submitter["metadata"]["uid"]}
    pod_meta = {"name": "demo-x1", "namespace": "ns", "labels": LABELS, "ownerReferences": [job_owner]}
    kube.put(res.PODS, {"metadata": pod_meta, "spec": {}, "status": {"phase": "Pending"}})
    await ctx.store.prime()
    await reconcile_rayjob(KEY, ctx)
    assert KEY not in tracker.tracked  # nothing could have submitted the job yet: no 404s to ask for
    assert status_of(kube)["jobDeploymentStatus"] == "Running"
    kube.objects[(res.PODS.plural, "ns", "demo-x1")]["status"] = {"phase": "Running"}
    await ctx.store.prime()
    await reconcile_rayjob(KEY, ctx)
    assert tracker.tracked[KEY] == Target(ADDRESS, "demo-abcde")


async def test_a_submitter_job_that_counts_a_finished_pod_has_started_though_no_pod_is_cached() -> None:
    kube = FakeKube()
    ctx, tracker, _ = await _running_with_submitter(kube, {"succeeded": 1})
    await ctx.store.prime()
    await reconcile_rayjob(KEY, ctx)
    assert tracker.tracked[KEY] == Target(ADDRESS, "demo-abcde")


async def test_the_end_of_a_job_is_written_before_its_log_is_copied() -> None:
    kube, _ = await _job_ends_with_log_failures(0)
    writes = [(verb, plural) for verb, plural, _ in kube.writes]
    assert writes.index(("replace/status", "rayjobs")) < writes.index(("create", "configmaps"))
