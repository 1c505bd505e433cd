"""An in-memory copy of the objects the operator watches, fed by kopf's watch events.

Writes made by the operator are applied to it as soon as the API answers (write-through), so a
reconcile never acts on a view older than its own last write. A re-list removes objects whose deletion
a watch gap hid, and says which objects it found created or changed, so that they are reconciled too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rayjob_operator.model import bodies, k8s_time
from rayjob_operator.model.bodies import Body, Key

Indexer = Callable[[Body], Iterable[str]]
object_key = bodies.key
_version = bodies.resource_version


def is_newer_or_same(new: Body, old: Body) -> bool:
    """resourceVersions are opaque, but etcd-backed servers use increasing integers; use them if so."""
    new_rv, old_rv = _version(new), _version(old)
    return new_rv is None or old_rv is None or new_rv >= old_rv


class KindCache:
    """Objects of one kind by (namespace, name), with optional secondary indexes."""

    def __init__(self, indexers: dict[str, Indexer] | None = None) -> None:
        self._objects: dict[Key, Body] = {}
        self._indexers = dict(indexers or {})
        self._indexes: dict[str, dict[str, set[Key]]] = {name: {} for name in self._indexers}

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, namespace: str, name: str) -> Body | None:
        return self._objects.get((namespace, name))

    def by_index(self, index: str, value: str) -> list[Body]:
        return [self._objects[k] for k in sorted(self._indexes[index].get(value, ()))]

    def all(self) -> list[Body]:
        return list(self._objects.values())

    def upsert(self, body: Body) -> bool:
        """Store a newer version of an object; return False if the cache already had a newer one."""
        key = object_key(body)
        old = self._objects.get(key)
        if old is not None:
            if not is_newer_or_same(body, old):
                return False
            self._unindex(key, old)
        self._objects[key] = body
        for name, indexer in self._indexers.items():
            for value in indexer(body):
                self._indexes[name].setdefault(value, set()).add(key)
        return True

    def remove(self, namespace: str, name: str) -> Body | None:
        key = (namespace, name)
        old = self._objects.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def mark_deleting(self, namespace: str, name: str, now: datetime | None = None) -> None:
        """After a successful DELETE: keep the object (its DELETED event follows) but flag it as going."""
        old = self._objects.get((namespace, name))
        if old is None or bodies.is_deleting(old):
            return
        stamp = k8s_time.format_time(now or datetime.now(UTC))
        self._objects[(namespace, name)] = {**old, "metadata": {**old["metadata"], "deletionTimestamp": stamp}}

    def resync(
        self, listed: Iterable[Body], list_version: str, *, namespace: str | None = None
    ) -> tuple[list[Body], list[Body]]:
        """Apply a full re-list (of one namespace, or all): add what is newer, drop older ghosts.

        Returns what the list changed (objects new to the cache, or stored at another version) and the ghosts."""
        seen = set()
        changed = []
        for body in listed:
            key = object_key(body)
            seen.add(key)
            before = self._objects.get(key)
            if self.upsert(body) and (before is None or _version(before) != _version(body)):
                changed.append(body)
        cutoff = int(list_version) if list_version.isdigit() else None
        ghosts = []
        for key, body in list(self._objects.items()):
            version = _version(body)
            in_scope = namespace is None or key[0] == namespace
            if in_scope and key not in seen and (cutoff is None or version is None or version <= cutoff):
                ghosts.append(body)
                self.remove(*key)
        return changed, ghosts

    def _unindex(self, key: Key, body: Body) -> None:
        for name, indexer in self._indexers.items():
            for value in indexer(body):
                keys = self._indexes[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indexes[name][value]
