"""The defaults Kubernetes gives fields inside a container, as CRD schema fragments. Pure.

The API server fills them in for pods, and for every CRD whose pod templates carry the full core/v1
schema: KubeRay's RayJob and RayCluster CRDs, and Kueue's Workload. Kueue compares a RayJob's containers
with its Workload's PodSets field by field and replaces the Workload on any difference, so a RayJob stored
without them (a port without ``protocol: TCP``) would see its Workload deleted and recreated forever and
never run. Our pod templates keep every field as written, plus exactly these defaults.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _object(**properties: Schema) -> Schema:
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": properties}


def _list_of(item: Schema) -> Schema:
    return {"type": "array", "items": item}


def _string(default: str) -> Schema:
    return {"type": "string", "default": default}


_NAMED_REF = _object(name=_string(""))
_PROBE = _object(grpc=_object(service=_string("")))
_ENV_VAR = _object(
    valueFrom=_object(
        configMapKeyRef=_NAMED_REF,
        secretKeyRef=_NAMED_REF,
        fileKeyRef=_object(optional={"type": "boolean", "default": False}),
    )
)
CONTAINER: Schema = _object(
    ports=_list_of(_object(protocol=_string("TCP"))),
    env=_list_of(_ENV_VAR),
    envFrom=_list_of(_object(configMapRef=_NAMED_REF, secretRef=_NAMED_REF)),
    livenessProbe=_PROBE,
    readinessProbe=_PROBE,
    startupProbe=_PROBE,
)
CONTAINERS: Schema = _list_of(CONTAINER)
"""A list of containers: kept as given, with the Kubernetes defaults above."""
