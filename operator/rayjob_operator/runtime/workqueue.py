"""A keyed work queue: deduplicated, one worker per key at a time, delayed re-adds, backoff on errors.

Watch events, timers and the dashboard poller only *add keys*; a bounded pool of workers runs the
level-based reconcile for each key. A key added while it is being processed runs once more afterwards,
so no change is ever missed, and two reconciles of one object never overlap. Urgent keys (e.g. a Ray job
that just ended) go before every other waiting key.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from rayjob_operator.k8s import errors

K = TypeVar("K", bound=Hashable)
Handler = Callable[[K], Awaitable[float | None]]
"""Reconciles one key; returns a delay after which the key should run again, or None."""

logger = logging.getLogger(__name__)


class WorkQueue(Generic[K]):
    def __init__(self, name: str, *, min_backoff: float = 0.5, max_backoff: float = 60.0) -> None:
        self.name = name
        self._queue: collections.deque[K] = collections.deque()
        self._urgent: collections.deque[K] = collections.deque()
        self._urgent_keys: set[K] = set()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._due: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._wakeup = asyncio.Event()
        self._urgent_wakeup = asyncio.Event()
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._closed = False

    def __len__(self) -> int:
        """Keys waiting to be processed."""
        return len(self._dirty)

    def add(self, key: K, *, urgent: bool = False) -> None:
        """Queue the key once (a key already waiting keeps its place unless ``urgent`` moves it ahead)."""
        if self._closed:
            return
        waiting = key in self._dirty and key not in self._processing
        if key in self._dirty and not (urgent and waiting and key not in self._urgent_keys):
            if urgent:
                self._urgent_keys.add(key)  # being processed: it runs again first thing afterwards
            return
        self._dirty.add(key)
        if urgent:
            self._urgent_keys.add(key)
        if key not in self._processing:
            (self._urgent if urgent else self._queue).append(key)  # an older plain entry is skipped later
            self._wake(urgent=urgent)

    def add_after(self, key: K, delay: float) -> None:
        """Add the key after ``delay`` seconds (the earliest of several requests wins)."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        if key in self._timers and self._due[key] <= due:
            return
        if key in self._timers:
            self._timers[key].cancel()
        self._due[key] = due
        self._timers[key] = loop.call_at(due, self._fire, key)

    def forget(self, key: K) -> None:
        """Drop pending timers and error backoff of a key (e.g. its object is gone)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._due.pop(key, None)
        self._failures.pop(key, None)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self._due.pop(key, None)
        self.add(key)

    def _wake(self, *, urgent: bool) -> None:
        self._wakeup.set()
        if urgent:
            self._urgent_wakeup.set()

    async def _get(self, *, urgent_only: bool = False) -> K:
        wakeup = self._urgent_wakeup if urgent_only else self._wakeup
        while True:
            while not (self._urgent or (self._queue and not urgent_only)):
                wakeup.clear()
                await wakeup.wait()
            key = self._urgent.popleft() if self._urgent else self._queue.popleft()
            if key in self._dirty and key not in self._processing:
                break  # else: a second entry of a key that already ran (it moved ahead as urgent)
        self._dirty.discard(key)
        self._urgent_keys.discard(key)
        self._processing.add(key)
        return key

    def _done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            urgent = key in self._urgent_keys
            (self._urgent if urgent else self._queue).append(key)
            self._wake(urgent=urgent)

    async def run(self, handler: Handler[K], *, workers: int, urgent_workers: int = 0) -> None:
        """Run ``workers`` workers, and ``urgent_workers`` that take only urgent keys, until cancelled.

        The urgent-only workers are idle most of the time: an urgent key starts at once even when every other
        worker is busy (waiting on the API server) with ordinary keys."""
        tasks = [asyncio.create_task(self._worker(handler), name=f"{self.name}-worker-{i}") for i in range(workers)]
        tasks += [
            asyncio.create_task(self._worker(handler, urgent_only=True), name=f"{self.name}-urgent-worker-{i}")
            for i in range(urgent_workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self._closed = True
            for task in tasks:
                task.cancel()
            for timer in self._timers.values():
                timer.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self, handler: Handler[K], *, urgent_only: bool = False) -> None:
        while True:
            key = await self._get(urgent_only=urgent_only)
            try:
                delay = await handler(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                backoff = min(self._max_backoff, self._min_backoff * 2 ** (failures - 1))
                message = "%s: reconciling %s failed (attempt %d); retrying in %.1fs"
                if isinstance(exc, errors.Unavailable):  # the API server is away or busy: no traceback to read
                    logger.warning(message + ": %s", self.name, key, failures, backoff, exc)
                else:
                    logger.exception(message, self.name, key, failures, backoff)
                self._done(key)
                self.add_after(key, backoff)
                continue
            self._failures.pop(key, None)
            self._done(key)
            if delay is not None:
                self.add_after(key, delay)
