"""The event recorder: events go out in the background, a few at a time, and a burst waits in the process."""

from __future__ import annotations

import asyncio
from typing import Any

from rayjob_operator.k8s import events
from rayjob_operator.k8s.events import EventRecorder
from rayjob_operator.k8s.resources import Resource

REGARDING = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "demo", "namespace": "ns", "uid": "u"}}


class SlowApi:
    """Holds every create until ``release`` is set; counts how many were in flight at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.posted: list[str] = []

    async def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        self.posted.append(body["reason"])
        return body


async def test_a_burst_of_events_is_posted_a_few_at_a_time_and_none_is_lost() -> None:
    api = SlowApi()
    recorder = EventRecorder(api, controller="c", instance="i")  # type: ignore[arg-type]
    for i in range(20):
        recorder.emit(REGARDING, type="Normal", reason=f"R{i}", action="Create", note="n")
    async with asyncio.timeout(2):
        while api.in_flight < events.POSTS_IN_FLIGHT:
            await asyncio.sleep(0.001)
        for _ in range(20):  # every emitted post gets its turn on the loop: more would be in flight if not held back
            await asyncio.sleep(0)
        assert api.in_flight == events.POSTS_IN_FLIGHT
        api.release.set()
        await recorder.flush()
    assert api.most == events.POSTS_IN_FLIGHT
    assert sorted(api.posted) == sorted(f"R{i}" for i in range(20))
