"""The watch streams that feed the Store: one per watched kind (and namespace, for an exact scope).

Each stream starts from the version of the list that filled the cache, follows ADDED/MODIFIED/DELETED
events (and BOOKMARKs, which only move the version on), and is opened again where it stopped when the server
ends it. A version the server no longer has (410 Gone) is answered by listing again: the re-list finds what the
gap hid, deletions included. Connection failures (an API server restarting) are retried with a growing delay.
"""

from __future__ import annotations

import asyncio
import logging

from rayjob_operator.k8s import errors
from rayjob_operator.k8s.client import KubeClient
from rayjob_operator.k8s.resources import Resource
from rayjob_operator.model import bodies
from rayjob_operator.runtime.store import WATCHED, Store, Watched

logger = logging.getLogger(__name__)
MAX_BACKOFF = 10.0
WATCH_SECONDS = 300


class Informer:
    def __init__(self, store: Store, client: KubeClient) -> None:
        self._store = store
        self._client = client

    async def run(self, versions: dict[tuple[Resource, str | None], str]) -> None:
        """Follow every stream from the versions :meth:`Store.prime` returned, until cancelled."""
        streams = [
            self._follow(watched, namespace, versions[watched.resource, namespace])
            for watched in WATCHED
            for namespace in self._store.namespaces()
        ]
        await asyncio.gather(*streams)

    async def _follow(self, watched: Watched, namespace: str | None, version: str) -> None:
        position = [version]  # moved on by every event, so a broken stream opens again where it stopped
        failures = 0
        while True:
            try:
                started = asyncio.get_running_loop().time()
                seen = await self._watch(watched, namespace, position)
                if seen or asyncio.get_running_loop().time() - started > 1.0:
                    failures = 0
                    continue
                raise errors.Unavailable(0, "EmptyStream", "the server ended the watch at once")
            except errors.Gone:
                logger.info("Watching %s: version %s is gone; listing again", watched.resource.plural, position[0])
                position[0] = await self._relist(watched, namespace)
            except errors.KubeError as exc:
                failures += 1
                delay = min(MAX_BACKOFF, 0.5 * 2 ** (failures - 1))
                logger.warning("Watching %s failed (%s); again in %.1fs", watched.resource.plural, exc, delay)
                await asyncio.sleep(delay)

    async def _watch(self, watched: Watched, namespace: str | None, position: list[str]) -> int:
        """One stream to its end (the server ends it after a while), moving ``position`` on; how many events."""
        resource = watched.resource
        events = self._client.watch(
            resource,
            namespace,
            resource_version=position[0],
            label_selector=watched.label_selector,
            timeout_seconds=WATCH_SECONDS,
        )
        seen = 0
        async for kind, obj in events:
            seen += 1
            position[0] = str(bodies.meta(obj).get("resourceVersion") or position[0])
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                obj.setdefault("apiVersion", resource.api_version)
                obj.setdefault("kind", resource.kind)
                self._store.observe(resource, obj, deleted=kind == "DELETED")
        return seen

    async def _relist(self, watched: Watched, namespace: str | None) -> str:
        failures = 0
        while True:
            try:
                return await self._store.relist(watched, namespace)
            except errors.KubeError as exc:
                failures += 1
                delay = min(MAX_BACKOFF, 0.5 * 2 ** (failures - 1))
                logger.warning("Listing %s failed (%s); again in %.1fs", watched.resource.plural, exc, delay)
                await asyncio.sleep(delay)
