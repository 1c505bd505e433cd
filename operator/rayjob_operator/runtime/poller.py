"""Follows the Ray job of every running RayJob on its dashboard, off the reconcile path: polls and submits.

Each tracked RayJob is polled about every ``interval`` seconds with at most ``concurrency`` requests in
flight overall, so a slow or dead dashboard delays only its own RayJob. The latest answer is kept per
RayJob; when it changes (status, message, end time, the kind of failure, a submission's outcome), the
RayJob is enqueued, and a job that just ended goes ahead of the queue (its status write is what users and
Kueue wait for). A job that ended is not asked again: Ray never changes a terminal status. Each job keeps its
own cadence (``next_poll``), so slow answers do not make the polls drift later.

HTTPMode submissions go through here too, so a reconcile never waits on a dashboard: ``submit`` asks for
one POST of the attempt's job; until the dashboard has accepted it the job is not polled, a failed POST is
retried with a growing delay, and a second ``submit`` for the same attempt never sends a second POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine, Hashable
from datetime import datetime
from typing import Any, Protocol

from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.models import JobInfo, SubmitRequest
from rayjob_operator.state.rayjob.observation import RayResult, RayView

logger = logging.getLogger(__name__)
PERMANENT_SUBMIT_ERRORS = (
    errors.DashboardRejected,
    errors.DashboardAuthError,
    errors.SubmissionIdConflict,
    errors.InvalidSubmission,
)
"""The dashboard refused the job (400/401/403, the id is taken, the id is invalid): retrying cannot help."""
MAX_SUBMIT_BACKOFF = 10.0


class JobDashboard(Protocol):
    """What the poller needs of the dashboard client."""

    async def get_job_info(self, address: str, job_id: str, *, token: str | None = None) -> JobInfo: ...

    async def submit(self, address: str, request: SubmitRequest, *, token: str | None = None) -> object: ...


@dataclasses.dataclass(frozen=True)
class Target:
    address: str
    job_id: str
    token: str | None = None


@dataclasses.dataclass
class _Tracked:
    target: Target
    view: RayView | None = None
    in_flight: bool = False
    due: float = 0.0
    request: SubmitRequest | None = None
    """A submission this process still has to get accepted (None once accepted, rejected, or never asked)."""
    submit_due: float = 0.0
    submit_failures: int = 0
    submitted_at: float | None = None
    """Loop time at which this process saw the target's job accepted by the dashboard."""


class JobPoller:
    def __init__(
        self,
        client: JobDashboard,
        *,
        interval: float,
        concurrency: int,
        clock: Callable[[], datetime],
        on_change: Callable[[Hashable, bool], None],
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._interval = interval
        self._limit = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._on_change = on_change
        self._on_result = on_result
        self._tracked: dict[Hashable, _Tracked] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return len(self._tracked)

    def track(self, key: Hashable, target: Target) -> None:
        self._entry(key, target)

    def _entry(self, key: Hashable, target: Target) -> _Tracked:
        tracked = self._tracked.get(key)
        if tracked is None or tracked.target != target:
            tracked = self._tracked[key] = _Tracked(target)  # a new attempt: forget the old answer
            self._wakeup.set()
        return tracked

    def submit(self, key: Hashable, target: Target, request: SubmitRequest) -> None:
        """Get this attempt's job accepted by the dashboard, once; the outcome arrives as a change."""
        tracked = self._entry(key, target)
        if tracked.submitted_at is not None or tracked.request is not None:
            return  # accepted already, or on its way
        if _refused(tracked):
            return  # refused for good: the RayJob fails on it
        tracked.request = request
        tracked.view = RayView(result=RayResult.SUBMITTING, since=self._clock(), checked_at=self._clock())
        self._wakeup.set()

    def untrack(self, key: Hashable) -> None:
        self._tracked.pop(key, None)

    def latest(self, key: Hashable, target: Target) -> RayView | None:
        tracked = self._tracked.get(key)
        return tracked.view if tracked is not None and tracked.target == target else None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                now = loop.time()
                for key, tracked in list(self._tracked.items()):
                    self._start_due_work(key, tracked, now)
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.05, self._next_due(now) - loop.time()))
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start_due_work(self, key: Hashable, tracked: _Tracked, now: float) -> None:
        if not _pollable(tracked):
            return
        if tracked.request is not None:  # nothing is polled before it is submitted
            if tracked.submit_due <= now:
                tracked.in_flight = True
                self._spawn(self._submit(key, tracked, tracked.request))
        elif tracked.due <= now:
            tracked.in_flight = True
            self._spawn(self._poll(key, tracked))

    def _next_due(self, now: float) -> float:
        waiting = [t for t in self._tracked.values() if _pollable(t)]
        dues = [t.submit_due if t.request is not None else t.due for t in waiting]
        return min(dues, default=now + self._interval)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- submitting ---------------------------------------------------------------------------------------

    async def _submit(self, key: Hashable, tracked: _Tracked, request: SubmitRequest) -> None:
        loop = asyncio.get_running_loop()
        target = tracked.target
        try:
            async with self._limit:
                await self._client.submit(target.address, request, token=target.token)
        except errors.DashboardError as exc:
            self._submit_failed(key, tracked, exc)
            return
        finally:
            tracked.in_flight = False
            self._wakeup.set()
        logger.info("Ray job %s accepted by %s", request.submission_id, target.address)
        if self._tracked.get(key) is not tracked:
            return
        now = self._clock()
        tracked.request, tracked.submitted_at, tracked.submit_failures = None, loop.time(), 0
        tracked.due = loop.time() + self._interval
        self._update(key, tracked, RayView(result=RayResult.SUBMITTED, since=now, checked_at=now, submitted=True))

    def _submit_failed(self, key: Hashable, tracked: _Tracked, exc: errors.DashboardError) -> None:
        if self._tracked.get(key) is not tracked:
            return
        permanent = isinstance(exc, PERMANENT_SUBMIT_ERRORS)
        tracked.submit_failures += 1
        backoff = min(MAX_SUBMIT_BACKOFF, self._interval * 2 ** (tracked.submit_failures - 1))
        tracked.submit_due = asyncio.get_running_loop().time() + backoff
        if permanent:
            tracked.request = None  # never sent again for this attempt
        logger.info("Submitting Ray job %s failed (%s): %s", tracked.target.job_id, type(exc).__name__, exc)
        previous = tracked.view
        now = self._clock()
        since = previous.since if previous is not None and previous.submit_error else now
        view = RayView(
            result=RayResult.SUBMITTING,
            submit_error=str(exc),
            submit_error_permanent=permanent,
            since=since,
            checked_at=now,
        )
        self._update(key, tracked, view)

    # --- polling ------------------------------------------------------------------------------------------

    async def _poll(self, key: Hashable, tracked: _Tracked) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with self._limit:
                asked_at = loop.time()
                view = await self._ask(tracked.target, tracked.view)
        finally:
            tracked.in_flight = False
            tracked.due = next_poll(tracked.due, self._interval, loop.time())
            self._wakeup.set()
        if self._tracked.get(key) is not tracked or tracked.request is not None:
            return  # untracked or re-targeted meanwhile, or a submission was asked for: it decides
        submitted_at = tracked.submitted_at
        if submitted_at is not None:
            if view.result == RayResult.NOT_FOUND and asked_at <= submitted_at:
                return  # asked before the submission was accepted: an outdated "not found"
            view = dataclasses.replace(view, submitted=True)
        if self._on_result is not None:
            self._on_result(view.result.value)
        self._update(key, tracked, view)

    def _update(self, key: Hashable, tracked: _Tracked, view: RayView) -> None:
        changed = _meaningful(tracked.view) != _meaningful(view)
        tracked.view = view
        if changed:
            self._on_change(key, _ended(view))

    async def _ask(self, target: Target, previous: RayView | None) -> RayView:
        now = self._clock()
        try:
            info = await self._client.get_job_info(target.address, target.job_id, token=target.token)
        except errors.JobNotFound:
            return _view(RayResult.NOT_FOUND, previous, now)
        except errors.DashboardError as exc:
            view = _view(RayResult.UNREACHABLE, previous, now, error=str(exc))
            return dataclasses.replace(view, auth_failed=isinstance(exc, errors.DashboardAuthError))
        return RayView(
            result=RayResult.FOUND,
            status=info.status,
            message=info.message,
            start_time_ms=info.start_time,
            end_time_ms=info.end_time,
            since=now if previous is None or previous.result != RayResult.FOUND else previous.since,
            checked_at=now,
        )


def next_poll(scheduled: float, interval: float, now: float) -> float:
    """The next tick of a job's own cadence, counted from when this poll was due, not from when its answer came:
    slow answers do not push the polls later and later (a job ending at second 5 is seen at second 5, not 6).
    A tick already missed (the answer took longer than the interval) starts a new cadence from now."""
    following = scheduled + interval
    return following if following > now else now + interval


def _refused(tracked: _Tracked) -> bool:
    return tracked.view is not None and tracked.view.submit_error_permanent


def _ended(view: RayView | None) -> bool:
    """Ray answered with a terminal status: it never changes again, so it is not asked again."""
    return view is not None and view.result == RayResult.FOUND and view.status is not None and view.status.is_terminal


def _pollable(tracked: _Tracked) -> bool:
    """Not asked while a request is in flight, once refused for good (the refusal is the answer until the
    RayJob fails), or once the job ended (the RayJob is waiting for its submitter, or about to finish)."""
    return not (tracked.in_flight or _refused(tracked) or _ended(tracked.view))


def _view(result: RayResult, previous: RayView | None, now: datetime, *, error: str | None = None) -> RayView:
    since = previous.since if previous is not None and previous.result == result else now
    return RayView(result=result, error=error, since=since, checked_at=now)


def _meaningful(view: RayView | None) -> tuple[object, ...] | None:
    if view is None:
        return None
    return (
        view.result,
        view.status,
        view.message,
        view.start_time_ms,
        view.end_time_ms,
        view.submitted,
        view.submit_error,
        view.submit_error_permanent,
        view.auth_failed,
    )
