"""Cleanup that never hangs, judged from what is left once every RayJob is terminal or deleted. Pure.

An object is leaked when what it belongs to is gone (an owner reference to an object that no longer exists,
or the ``ray.io/originated-from-*`` labels of a RayJob that no longer exists), when it belongs to a leaked
object, or when it is a RayCluster its terminal RayJob should have removed: an earlier attempt's cluster,
or the last one under ``shutdownAfterJobFinishes`` (the run's RayJobs use ``ttlSecondsAfterFinished: 0``
and no deletion rules). Objects of no RayJob (``kube-root-ca.crt``, ...) are not looked at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

KINDS = ("RayCluster", "Pod", "Job", "Service", "ConfigMap")
TERMINAL = ("Complete", "Failed")
ORIGIN_NAME = "ray.io/originated-from-cr-name"
ORIGIN_KIND = "ray.io/originated-from-crd"


@dataclasses.dataclass(frozen=True)
class Leak:
    kind: str
    namespace: str
    name: str
    why: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.why}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return meta


def _describe(kind: str, obj: Mapping[str, Any]) -> str:
    return f"{kind} {_meta(obj).get('name')}"


class _Judge:
    def __init__(self, rayjobs: list[dict[str, Any]], objects: Mapping[str, list[dict[str, Any]]]) -> None:
        self.by_uid: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for kind, items in [("RayJob", rayjobs), *objects.items()]:
            for obj in items:
                self.by_uid[str(_meta(obj).get("uid"))] = (kind, obj)
        self.rayjob_names = {(_meta(j).get("namespace"), _meta(j).get("name")) for j in rayjobs}
        self.memo: dict[str, str | None] = {}

    def why(self, uid: str) -> str | None:
        """Why the object ``uid`` is leaked, or None."""
        if uid not in self.memo:
            self.memo[uid] = None  # an ownership cycle cannot recurse for ever
            kind, obj = self.by_uid[uid]
            self.memo[uid] = self._owners(obj) or self._origin(obj) or self._unwanted_cluster(kind, obj)
        return self.memo[uid]

    def _owners(self, obj: Mapping[str, Any]) -> str | None:
        for ref in _meta(obj).get("ownerReferences") or []:
            owner_uid = str(ref.get("uid"))
            if owner_uid not in self.by_uid:
                return f"its owner {ref.get('kind')} {ref.get('name')} is gone"
            owner_kind, owner = self.by_uid[owner_uid]
            if self.why(owner_uid) is not None:
                return f"its owner {_describe(owner_kind, owner)} is leaked"
        return None

    def _origin(self, obj: Mapping[str, Any]) -> str | None:
        meta = _meta(obj)
        labels = meta.get("labels") or {}
        name = labels.get(ORIGIN_NAME)
        if meta.get("ownerReferences") or labels.get(ORIGIN_KIND) != "RayJob" or name is None:
            return None
        return None if (meta.get("namespace"), name) in self.rayjob_names else f"its RayJob {name} is gone"

    def _unwanted_cluster(self, kind: str, obj: Mapping[str, Any]) -> str | None:
        if kind != "RayCluster":
            return None
        for ref in _meta(obj).get("ownerReferences") or []:
            owner_kind, owner = self.by_uid[str(ref.get("uid"))]
            status = owner.get("status") or {}
            if owner_kind != "RayJob" or status.get("jobDeploymentStatus") not in TERMINAL:
                continue
            name = _meta(obj).get("name")
            if name != status.get("rayClusterName"):
                return (
                    f"an earlier attempt's cluster of {status.get('jobDeploymentStatus')} RayJob {_meta(owner)['name']}"
                )
            if (owner.get("spec") or {}).get("shutdownAfterJobFinishes"):
                return f"RayJob {_meta(owner)['name']} is {status['jobDeploymentStatus']} with shutdownAfterJobFinishes"
        return None


def find_leaks(rayjobs: list[dict[str, Any]], objects: Mapping[str, list[dict[str, Any]]]) -> list[Leak]:
    """Every leaked object among ``objects`` (kind → items), given the RayJobs that still exist."""
    judge = _Judge(rayjobs, objects)
    leaks: list[Leak] = []
    for kind in KINDS:
        for obj in objects.get(kind, []):
            why = judge.why(str(_meta(obj).get("uid")))
            if why is not None:
                leaks.append(Leak(kind, str(_meta(obj).get("namespace")), str(_meta(obj).get("name")), why))
    return leaks


def count_by_kind(leaks: list[Leak]) -> dict[str, int]:
    return {kind: sum(1 for leak in leaks if leak.kind == kind) for kind in KINDS}
