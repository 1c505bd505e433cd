"""The dashboard poller with an in-memory dashboard: submissions recorded, outdated answers ignored, urgency."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Hashable
from datetime import UTC, datetime

from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.models import JobInfo, SubmitRequest
from rayjob_operator.runtime.poller import JobPoller, Target, next_poll
from rayjob_operator.state.rayjob.observation import RayResult

TARGET = Target("c-head-svc.ns.svc.cluster.local:8265", "job-1")
REQUEST = SubmitRequest("job-1", "echo hi")
KEY = ("ns", "job")


class Dashboard:
    """Answers GETs from a dict, POSTs by adding to it; ``gate`` holds every answer until it is set."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.asked = 0
        self.asked_for: collections.Counter[str] = collections.Counter()
        self.posts: list[str] = []
        self.refuse: list[errors.DashboardError] = []

    async def submit(self, address: str, request: SubmitRequest, *, token: str | None = None) -> object:
        self.posts.append(request.submission_id)
        await self.gate.wait()
        if self.refuse:
            raise self.refuse.pop(0)
        self.jobs.setdefault(request.submission_id, "PENDING")
        return "created"

    async def get_job_info(self, address: str, job_id: str, *, token: str | None = None) -> JobInfo:
        self.asked += 1
        self.asked_for[job_id] += 1
        status = self.jobs.get(job_id)  # read when asked, answered when the gate opens
        await self.gate.wait()
        if status is None:
            raise errors.JobNotFound(f"no job {job_id}")
        return JobInfo.from_json({"submission_id": job_id, "status": status, "entrypoint": "x"})


def poller(dashboard: Dashboard, changes: list[tuple[Hashable, bool]]) -> JobPoller:
    return JobPoller(
        dashboard,
        interval=0.01,
        concurrency=4,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        on_change=lambda key, urgent: changes.append((key, urgent)),
    )


async def _run_until(poll: JobPoller, done: object, timeout: float = 2.0) -> None:
    runner = asyncio.create_task(poll.run())
    try:
        async with asyncio.timeout(timeout):
            while not done():  # type: ignore[operator]
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_submission_is_posted_once_then_polled() -> None:
    dashboard, changes = Dashboard(), []
    poll = poller(dashboard, changes)
    poll.submit(KEY, TARGET, REQUEST)
    view = poll.latest(KEY, TARGET)
    assert view is not None and view.result == RayResult.SUBMITTING
    poll.submit(KEY, TARGET, REQUEST)  # asked again before it was sent: still one POST
    await _run_until(poll, lambda: (v := poll.latest(KEY, TARGET)) is not None and v.result == RayResult.FOUND)
    poll.submit(KEY, TARGET, REQUEST)  # and after it was accepted
    await _run_until(poll, lambda: dashboard.asked >= 3)
    assert dashboard.posts == ["job-1"]
    view = poll.latest(KEY, TARGET)
    assert view is not None and (view.status, view.submitted) == ("PENDING", True)


async def test_nothing_is_polled_before_the_submission_is_accepted() -> None:
    dashboard, changes = Dashboard(), []
    dashboard.refuse = [errors.DashboardUnreachable("connection refused")]
    poll = poller(dashboard, changes)
    poll.submit(KEY, TARGET, REQUEST)
    await _run_until(poll, lambda: len(dashboard.posts) == 2)  # the failure is retried by the poller itself
    assert dashboard.asked == 0
    failed = [c for c in changes if c == (KEY, False)]
    assert failed, "the failed POST was reported"


async def test_a_refused_submission_is_never_sent_again() -> None:
    dashboard, changes = Dashboard(), []
    dashboard.refuse = [errors.DashboardRejected(400, "bad runtime_env")]
    poll = poller(dashboard, changes)
    poll.submit(KEY, TARGET, REQUEST)
    await _run_until(poll, lambda: (v := poll.latest(KEY, TARGET)) is not None and v.submit_error_permanent)
    poll.submit(KEY, TARGET, REQUEST)
    other = Target(TARGET.address, "job-2")
    dashboard.jobs["job-2"] = "RUNNING"
    poll.track(("ns", "other"), other)
    await _run_until(poll, lambda: dashboard.asked >= 3)  # the loop went round: another job was polled 3 times
    assert dashboard.posts == ["job-1"]  # never sent again, and never polled: the refusal stays the answer
    assert dashboard.asked == 3
    view = poll.latest(KEY, TARGET)
    assert view is not None and view.submit_error_permanent


async def test_a_not_found_asked_before_the_submission_is_ignored() -> None:
    dashboard, changes = Dashboard(), []
    poll = poller(dashboard, changes)
    poll.track(KEY, TARGET)
    dashboard.gate.clear()  # the first GET is asked now (no job yet) and answered later
    runner = asyncio.create_task(poll.run())
    try:
        async with asyncio.timeout(2):
            while dashboard.asked == 0:
                await asyncio.sleep(0.005)
            poll.submit(KEY, TARGET, REQUEST)  # the POST goes out while that GET is on its way
            dashboard.gate.set()
            while not dashboard.posts or dashboard.asked < 2:
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    view = poll.latest(KEY, TARGET)
    assert view is not None and view.result == RayResult.FOUND, "an outdated 404 replaced the accepted submission"


async def test_a_job_that_ended_is_an_urgent_change() -> None:
    dashboard, changes = Dashboard(), []
    dashboard.jobs["job-1"] = "RUNNING"
    poll = poller(dashboard, changes)
    poll.track(KEY, TARGET)
    await _run_until(poll, lambda: changes)
    dashboard.jobs["job-1"] = "SUCCEEDED"
    await _run_until(poll, lambda: len(changes) == 2)
    assert changes == [(KEY, False), (KEY, True)]


async def test_a_job_that_ended_is_not_asked_again() -> None:
    dashboard, changes = Dashboard(), []
    dashboard.jobs.update({"job-1": "SUCCEEDED", "job-2": "RUNNING"})
    other = Target(TARGET.address, "job-2")
    poll = poller(dashboard, changes)
    poll.track(KEY, TARGET)
    poll.track(("ns", "other"), other)
    await _run_until(poll, lambda: dashboard.asked_for["job-2"] >= 10)  # job-2's polls are the clock
    assert dashboard.asked_for["job-1"] == 1
    view = poll.latest(KEY, TARGET)
    assert view is not None and view.status == "SUCCEEDED"


def test_polls_keep_their_cadence_however_long_the_answers_take() -> None:
    assert next_poll(10.0, 1.0, now=10.3) == 11.0  # due at 10, answered at 10.3: next at 11, not 11.3
    assert next_poll(11.0, 1.0, now=12.4) == 13.4  # the answer missed a whole tick: a new cadence from now
    assert next_poll(0.0, 1.0, now=500.0) == 501.0  # the first poll of a new target
