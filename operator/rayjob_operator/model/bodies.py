"""Raw Kubernetes objects as the API sends them: the typed shape of ``metadata``, and helpers to read it.

The reconcilers, caches and pod readers look at raw bodies (they are not parsed into models every time);
these helpers are the one way they read names, labels, owners and deletion marks, so nothing spells
``(body.get("metadata") or {}).get(...)`` again. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

Body = dict[str, Any]
"""A raw object (a JSON object as the API answers it)."""
Key = tuple[str, str]
"""(namespace, name) of a namespaced object."""


class OwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]


def meta(body: Mapping[str, Any]) -> ObjectMeta:
    return cast(ObjectMeta, body.get("metadata") or {})


def name(body: Mapping[str, Any]) -> str:
    return str(meta(body).get("name") or "")


def namespace(body: Mapping[str, Any]) -> str:
    return str(meta(body).get("namespace") or "")


def key(body: Mapping[str, Any]) -> Key:
    return namespace(body), name(body)


def uid(body: Mapping[str, Any]) -> str:
    return str(meta(body).get("uid") or "")


def labels(body: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(body).get("labels") or {}


def finalizers(body: Mapping[str, Any]) -> list[str]:
    return list(meta(body).get("finalizers") or [])


def resource_version(body: Mapping[str, Any]) -> int | None:
    """The resourceVersion as a number (etcd-backed servers use increasing integers), if it is one."""
    value = meta(body).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def is_deleting(body: Mapping[str, Any]) -> bool:
    """Its deletion was asked for (finalizers, or the kubelet, may still hold it)."""
    return bool(meta(body).get("deletionTimestamp"))


def owner_names(body: Mapping[str, Any], kind: str) -> list[str]:
    """Names of the owners of one kind (controller or not)."""
    return [str(r["name"]) for r in meta(body).get("ownerReferences") or [] if r.get("kind") == kind and r.get("name")]


def controlled_by(body: Mapping[str, Any], owner_uid: str | None) -> bool:
    """Whether the object's controller owner reference points at ``owner_uid``."""
    return bool(owner_uid) and any(
        r.get("uid") == owner_uid and r.get("controller") for r in meta(body).get("ownerReferences") or []
    )


def owner_uids(body: Mapping[str, Any]) -> list[str]:
    return [str(r.get("uid")) for r in meta(body).get("ownerReferences") or []]
