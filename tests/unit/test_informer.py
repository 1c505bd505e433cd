"""The informer's watch streams over a scripted API: events reach the Store, a gone version lists again,
a failing connection is opened again from where it stopped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.runtime import informer
from rayjob_operator.runtime.namespaces import NamespaceScope
from rayjob_operator.runtime.store import WATCHED, Store
from tests.unit.fakes import FakeKube

RAYJOBS = next(w for w in WATCHED if w.resource == res.RAYJOBS)


def job(name: str, version: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(version)}, "spec": {}}


class ScriptedKube(FakeKube):
    """Lists from the fake's objects; each watch call takes the next script: events to yield, then an outcome."""

    def __init__(self, scripts: list[tuple[list[tuple[str, dict[str, Any]]], BaseException | None]]) -> None:
        super().__init__()
        self.scripts = scripts
        self.watched_from: list[str] = []

    async def watch(self, resource: Any, namespace: Any, *, resource_version: str, **_: Any) -> AsyncIterator[Any]:
        self.watched_from.append(resource_version)
        if not self.scripts:
            await asyncio.Event().wait()  # nothing more to say: a quiet stream
        events, outcome = self.scripts.pop(0)
        for event in events:
            yield event
        if outcome is not None:
            raise outcome


async def follow(kube: ScriptedKube, store: Store, until: Any) -> None:
    task = asyncio.create_task(informer.Informer(store, kube)._follow(RAYJOBS, None, "10"))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(5):
            while not until():
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_events_reach_the_store_and_the_stream_goes_on_from_the_last_version() -> None:
    kube = ScriptedKube([([("ADDED", job("a", 11)), ("BOOKMARK", {"metadata": {"resourceVersion": "15"}})], None)])
    store = Store(kube, NamespaceScope())  # type: ignore[arg-type]
    await follow(kube, store, lambda: len(kube.watched_from) == 2)
    assert store.get(res.RAYJOBS, "ns", "a") is not None
    assert kube.watched_from == ["10", "15"]  # the server ended the stream: opened again after the bookmark


async def test_a_gone_version_is_answered_by_listing_again() -> None:
    kube = ScriptedKube([([("ADDED", job("ghost", 11))], errors.Gone(410, "Expired", "too old"))])
    store = Store(kube, NamespaceScope())  # type: ignore[arg-type]
    deleted: list[str] = []
    store.listeners.append(lambda resource, body, gone: deleted.append(body["metadata"]["name"]) if gone else None)
    await follow(kube, store, lambda: len(kube.watched_from) == 2)
    assert store.get(res.RAYJOBS, "ns", "ghost") is None  # the re-list showed it is gone (its deletion was missed)
    assert deleted == ["ghost"]
    assert int(kube.watched_from[1]) > 11  # from the new list's version


async def test_a_broken_connection_is_opened_again_from_where_it_stopped(monkeypatch: Any) -> None:
    monkeypatch.setattr(informer, "MAX_BACKOFF", 0.01)
    refused = errors.Unavailable(0, "ClientConnectorError", "connection refused")
    kube = ScriptedKube([([("ADDED", job("a", 12))], refused), ([("MODIFIED", job("a", 13))], refused)])
    store = Store(kube, NamespaceScope())  # type: ignore[arg-type]
    await follow(kube, store, lambda: len(kube.watched_from) == 3)
    assert kube.watched_from == ["10", "12", "13"]
    body = store.get(res.RAYJOBS, "ns", "a")
    assert body is not None and body["metadata"]["resourceVersion"] == "13"
