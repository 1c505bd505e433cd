"""The reconcilers' view of the API: reads from the watch-fed caches, writes through the client.

Every successful write is applied to the cache at once. Creating something that already exists and
deleting something already gone both count as success (the desired state is reached either way).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.k8s.client import KubeClient, PatchKind
from rayjob_operator.k8s.resources import Resource
from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body
from rayjob_operator.runtime.cache import Indexer, KindCache, object_key
from rayjob_operator.runtime.namespaces import NamespaceScope

logger = logging.getLogger(__name__)

CREATED_BY_SELECTOR = f"{constants.LABEL_APP_CREATED_BY}={constants.CREATED_BY_VALUE}"


def _owner_index(body: Body) -> list[str]:
    return [owned_by(bodies.namespace(body), uid) for uid in bodies.owner_uids(body)]


def owned_by(namespace: str, owner_uid: str | None) -> str:
    """The ``owner`` index value of the children of the owner with this uid."""
    return f"{namespace}/{owner_uid}"


def _pod_group_index(body: Body) -> list[str]:
    """``<ns>/cluster/<name>`` for a Ray pod, ``<ns>/rayjob/<name>`` for a RayJob's submitter pod."""
    labels = bodies.labels(body)
    namespace = bodies.namespace(body)
    if constants.LABEL_CLUSTER in labels:
        return [f"{namespace}/cluster/{labels[constants.LABEL_CLUSTER]}"]
    if labels.get(constants.LABEL_ORIGINATED_FROM_CRD) == constants.RAYJOB_KIND:
        return [f"{namespace}/rayjob/{labels.get(constants.LABEL_ORIGINATED_FROM_CR_NAME)}"]
    return []


def _selected_cluster_index(body: Body) -> list[str]:
    """``<ns>/<cluster>`` for a RayJob whose clusterSelector names a RayCluster (it does not own it)."""
    selector = (body.get("spec") or {}).get("clusterSelector") or {}
    cluster = selector.get(constants.LABEL_CLUSTER) if isinstance(selector, dict) else None
    return [selected_cluster(bodies.namespace(body), cluster)] if isinstance(cluster, str) and cluster else []


def selected_cluster(namespace: str, cluster: str) -> str:
    """The ``selects`` index value of the RayJobs whose clusterSelector names this RayCluster."""
    return f"{namespace}/{cluster}"


def pods_of_cluster(namespace: str, cluster: str) -> str:
    """The ``group`` index value of a cluster's pods (they outlive the RayCluster while they terminate)."""
    return f"{namespace}/cluster/{cluster}"


def submitter_pods_of(namespace: str, rayjob: str) -> str:
    """The ``group`` index value of a RayJob's submitter pods."""
    return f"{namespace}/rayjob/{rayjob}"


@dataclasses.dataclass(frozen=True)
class Watched:
    """A kind the operator watches, with the server-side label selector of its watch."""

    resource: Resource
    label_selector: str | None
    indexers: dict[str, Indexer]


WATCHED = (
    Watched(res.RAYJOBS, None, {"selects": _selected_cluster_index}),
    Watched(res.RAYCLUSTERS, None, {"owner": _owner_index}),
    Watched(res.PODS, CREATED_BY_SELECTOR, {"owner": _owner_index, "group": _pod_group_index}),
    Watched(res.SERVICES, CREATED_BY_SELECTOR, {"owner": _owner_index}),
    Watched(res.JOBS, CREATED_BY_SELECTOR, {"owner": _owner_index}),
)


class Store:
    def __init__(self, client: KubeClient, scope: NamespaceScope | None = None) -> None:
        self.client = client
        self.scope = scope or NamespaceScope()
        self._caches = {w.resource: KindCache(w.indexers) for w in WATCHED}
        self.listeners: list[Callable[[Resource, Body, bool], None]] = []
        """Called with (resource, body, deleted) for every change that reaches a cache."""

    def cache(self, resource: Resource) -> KindCache:
        return self._caches[resource]

    def get(self, resource: Resource, namespace: str, name: str) -> Body | None:
        return self._caches[resource].get(namespace, name)

    def by_index(self, resource: Resource, index: str, value: str) -> list[Body]:
        return self._caches[resource].by_index(index, value)

    def all(self, resource: Resource) -> list[Body]:
        return self._caches[resource].all()

    def count(self, resource: Resource) -> int:
        return len(self._caches[resource])

    # --- kinds that are not watched (Secrets, ConfigMaps, RBAC objects): straight to the API ---------------

    async def read(self, resource: Resource, namespace: str, name: str) -> Body | None:
        """Read an object from the API (not cached); None if it does not exist."""
        try:
            return await self.client.get(resource, namespace, name)
        except errors.NotFound:
            return None

    async def create_once(self, resource: Resource, namespace: str, body: Body) -> bool:
        """Create it unless it exists (an existing one is left as it is); True if it was created now."""
        try:
            await self.client.create(resource, namespace, body)
        except errors.AlreadyExists:
            return False
        return True

    async def put(self, resource: Resource, namespace: str, body: Body) -> None:
        """Create it, or replace what is there (last writer wins: for objects only the operator writes)."""
        try:
            await self.client.create(resource, namespace, body)
        except errors.AlreadyExists:
            await self.client.replace(resource, namespace, bodies.name(body), body)

    # --- feeding ----------------------------------------------------------------------------------------

    def observe(self, resource: Resource, body: Body, *, deleted: bool) -> None:
        """A watch event arrived (from :mod:`rayjob_operator.runtime.informer`)."""
        if not self.scope.matches(object_key(body)[0]):
            return
        cache = self._caches[resource]
        if deleted:
            cache.remove(*object_key(body))
        elif not cache.upsert(body):
            return
        self._notify(resource, body, deleted)

    def _notify(self, resource: Resource, body: Body, deleted: bool) -> None:
        for listener in self.listeners:
            listener(resource, body, deleted)

    def namespaces(self) -> list[str | None]:
        """What to list and watch: each namespace of an exact scope, else the whole cluster (filtered here)."""
        specific = self.scope.specific
        return list(specific) if specific else [None]

    async def prime(self) -> dict[tuple[Resource, str | None], str]:
        """List every watched kind once, so reconciles never start from an empty view; the lists' versions
        (per kind and namespace) are where the watches start."""
        versions = {}
        for watched in WATCHED:
            for namespace in self.namespaces():
                versions[watched.resource, namespace] = await self.relist(watched, namespace, notify=False)
        return versions

    async def resync(self) -> None:
        for watched in WATCHED:
            for namespace in self.namespaces():
                try:
                    await self.relist(watched, namespace)
                except errors.KubeError as exc:
                    logger.warning("Re-listing %s failed: %s", watched.resource.plural, exc)
        logger.info(
            "Re-listed the watched objects: %s", ", ".join(f"{len(c)} {r.plural}" for r, c in self._caches.items())
        )

    async def relist(self, watched: Watched, namespace: str | None, *, notify: bool = True) -> str:
        """List one kind (in one namespace, or all) into its cache; drop the ghosts; return the list's version.

        With ``notify``, what the list shows changed (created or modified while no watch event told) is passed to
        the listeners like a watch event, and so are the ghosts: a watch gap loses no reconcile."""
        cache = self._caches[watched.resource]
        items, version = await self.client.list(watched.resource, namespace, label_selector=watched.label_selector)
        items = [i for i in items if self.scope.matches(object_key(i)[0])]
        changed, ghosts = cache.resync(items, version, namespace=namespace)
        for item in changed if notify else ():
            self._notify(watched.resource, item, False)
        for ghost in ghosts:
            logger.info(
                "%s %s/%s is gone (its deletion was missed by the watch)", watched.resource.kind, *object_key(ghost)
            )
            self._notify(watched.resource, ghost, True)
        return version

    async def refresh(self, resource: Resource, namespace: str, name: str) -> Body | None:
        """Read one object from the API into the cache (after a conflict: the watch may be behind or gone)."""
        try:
            body = await self.client.get(resource, namespace, name)
        except errors.NotFound:
            gone = self._caches[resource].get(namespace, name)
            if gone is not None:
                self.observe(resource, gone, deleted=True)
            return None
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        self.observe(resource, body, deleted=False)
        return body

    # --- writing ----------------------------------------------------------------------------------------

    def _written(self, resource: Resource, body: Body) -> Body:
        if resource in self._caches and body.get("metadata"):
            body.setdefault("apiVersion", resource.api_version)
            body.setdefault("kind", resource.kind)
            self._caches[resource].upsert(body)
        return body

    async def create(self, resource: Resource, namespace: str, body: Body) -> tuple[Body, bool]:
        """Create the object; if it exists already, return the existing one. Second value: created now."""
        try:
            return self._written(resource, await self.client.create(resource, namespace, body)), True
        except errors.AlreadyExists:
            name = bodies.name(body)
            if not name:
                raise
            return self._written(resource, await self.client.get(resource, namespace, name)), False

    async def delete(self, resource: Resource, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """Delete with background propagation; True if it was already gone."""
        try:
            await self.client.delete(resource, namespace, name, uid=uid)
        except errors.NotFound:
            if resource in self._caches:
                self._caches[resource].remove(namespace, name)
            return True
        if resource in self._caches:
            self._caches[resource].mark_deleting(namespace, name)
        return False

    async def patch(
        self, resource: Resource, namespace: str, name: str, patch: Any, *, kind: PatchKind = "merge"
    ) -> Body:
        """A merge patch (a ``metadata.resourceVersion`` in it makes it a compare-and-swap) or a JSON patch."""
        return self._written(resource, await self.client.patch(resource, namespace, name, patch, kind=kind))

    async def replace(self, resource: Resource, body: Body) -> Body:
        """Replace an object; the body's resourceVersion makes it a compare-and-swap."""
        namespace, name = object_key(body)
        return self._written(resource, await self.client.replace(resource, namespace, name, body))

    async def replace_status(self, resource: Resource, body: Body) -> Body:
        """Write the status subresource; the body's resourceVersion makes it a compare-and-swap."""
        namespace, name = object_key(body)
        return self._written(resource, await self.client.replace(resource, namespace, name, body, subresource="status"))
