"""Polls the Ray job of every running RayJob on its dashboard, off the reconcile path.

Each tracked RayJob is polled about every ``interval`` seconds with at most ``concurrency`` requests in
flight overall, so a slow or dead dashboard delays only its own RayJob. The latest answer is kept per
RayJob; when it changes (status, message, end time, or the kind of failure), the RayJob is enqueued.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Hashable
from datetime import datetime

from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.client import DashboardClient
from rayjob_operator.state.rayjob.observation import RayResult, RayView

logger = logging.getLogger(__name__)


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


class JobPoller:
    def __init__(
        self,
        client: DashboardClient,
        *,
        interval: float,
        concurrency: int,
        clock: Callable[[], datetime],
        on_change: Callable[[Hashable], None],
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
        tracked = self._tracked.get(key)
        if tracked is not None and tracked.target == target:
            return
        self._tracked[key] = _Tracked(target)  # a new attempt (address or id changed): forget the old answer
        self._wakeup.set()

    def poke(self, key: Hashable) -> None:
        """Poll this RayJob's dashboard now (e.g. right after submitting)."""
        tracked = self._tracked.get(key)
        if tracked is not None:
            tracked.due = 0.0
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
                    if not tracked.in_flight and tracked.due <= now:
                        tracked.in_flight = True
                        task = asyncio.create_task(self._poll(key, tracked))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                self._wakeup.clear()
                next_due = min((t.due for t in self._tracked.values() if not t.in_flight), default=now + self._interval)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.05, next_due - loop.time()))
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _poll(self, key: Hashable, tracked: _Tracked) -> None:
        try:
            async with self._limit:
                view = await self._ask(tracked.target, tracked.view)
        finally:
            tracked.in_flight = False
            tracked.due = asyncio.get_running_loop().time() + self._interval
            self._wakeup.set()
        if self._tracked.get(key) is not tracked:
            return  # untracked or re-targeted meanwhile
        if self._on_result is not None:
            self._on_result(view.result.value)
        changed = _meaningful(tracked.view) != _meaningful(view)
        tracked.view = view
        if changed:
            self._on_change(key)

    async def _ask(self, target: Target, previous: RayView | None) -> RayView:
        now = self._clock()
        try:
            info = await self._client.get_job_info(target.address, target.job_id, token=target.token)
        except errors.JobNotFound:
            return _view(RayResult.NOT_FOUND, previous, now)
        except errors.DashboardError as exc:
            return _view(RayResult.UNREACHABLE, previous, now, error=str(exc))
        return RayView(
            result=RayResult.FOUND,
            status=info.status.value,
            message=info.message,
            start_time_ms=info.start_time,
            end_time_ms=info.end_time,
            since=now if previous is None or previous.result != RayResult.FOUND else previous.since,
            checked_at=now,
        )


def _view(result: RayResult, previous: RayView | None, now: datetime, *, error: str | None = None) -> RayView:
    since = previous.since if previous is not None and previous.result == result else now
    return RayView(result=result, error=error, since=since, checked_at=now)


def _meaningful(view: RayView | None) -> tuple[object, ...] | None:
    if view is None:
        return None
    return (view.result, view.status, view.message, view.start_time_ms, view.end_time_ms)
