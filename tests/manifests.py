"""Pieces of manifests that the unit and the integration tests both spell out (plain dicts, no I/O)."""

from __future__ import annotations

from typing import Any


def deletion_rules(*items: tuple[str, str, int]) -> dict[str, Any]:
    """A ``deletionStrategy`` of (policy, condition, ttlSeconds) rules; "Failed" is a jobDeploymentStatus,
    every other condition a jobStatus."""
    out = []
    for policy, condition, ttl in items:
        key = "jobDeploymentStatus" if condition == "Failed" else "jobStatus"
        out.append({"policy": policy, "condition": {key: condition, "ttlSeconds": ttl}})
    return {"deletionRules": out}


def cluster_owner(name: str, uid: str) -> list[dict[str, Any]]:
    """The ownerReferences of an object a RayCluster controls."""
    return [
        {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "name": name,
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
