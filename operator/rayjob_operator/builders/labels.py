"""KubeRay's label sets, name clipping and owner references, shared by every child builder. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rayjob_operator import constants
from rayjob_operator.model.base import KubeModel

MAX_LABEL_VALUE_LENGTH = 63
MAX_NAME_PREFIX_LENGTH = 50
"""63 minus room for ``-worker-`` and the 5 characters the API server appends to a generateName."""


def _fix_first_char(value: str) -> str:
    """KubeRay's rule for generated names and label values: they may not start with a digit or punctuation."""
    if value and not value[0].isalpha():
        return "r" + value[1:]
    return value


def check_name(value: str) -> str:
    """KubeRay's ``CheckName``: keep the last 50 characters, then no leading digit or punctuation."""
    return _fix_first_char(value[-MAX_NAME_PREFIX_LENGTH:])


def check_label_value(value: str) -> str:
    """KubeRay's ``CheckLabel``: keep the last 63 characters, then no leading punctuation."""
    value = value[-MAX_LABEL_VALUE_LENGTH:]
    if value and not value[0].isalnum():
        return "r" + value[1:]
    return value


def identifier(cluster_name: str, node_type: str) -> str:
    """Value of ``ray.io/identifier``: ``<cluster>-head`` or ``<cluster>-worker``."""
    return check_label_value(f"{cluster_name}-{node_type}")


def pod_generate_name(prefix: str, node_type: str) -> str:
    """``<prefix truncated to 50>-<node type>-``, lower-cased (KubeRay's ``PodGenerateName``)."""
    return f"{prefix[:MAX_NAME_PREFIX_LENGTH]}-{node_type}-".lower()


def common_labels() -> dict[str, str]:
    """``app.kubernetes.io/name=kuberay`` and ``app.kubernetes.io/created-by=kuberay-operator``."""
    return {
        constants.LABEL_APP_NAME: constants.APP_NAME_VALUE,
        constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE,
    }


def head_selector(cluster_name: str) -> dict[str, str]:
    """Labels and selector of a cluster's head Service: they match exactly the head pod."""
    return {
        constants.LABEL_CLUSTER: cluster_name,
        constants.LABEL_NODE_TYPE: constants.NODE_TYPE_HEAD,
        constants.LABEL_IDENTIFIER: identifier(cluster_name, constants.NODE_TYPE_HEAD),
        **common_labels(),
    }


def worker_selector(cluster_name: str) -> dict[str, str]:
    """Every worker pod of a cluster (the selector of the multi-host headless Service)."""
    return {constants.LABEL_CLUSTER: cluster_name, constants.LABEL_NODE_TYPE: constants.NODE_TYPE_WORKER}


PROTECTED_POD_LABELS = frozenset(
    {constants.LABEL_NODE_TYPE, constants.LABEL_GROUP, constants.LABEL_CLUSTER, constants.LABEL_APP_CREATED_BY}
)
"""Pod labels the user's template and group labels cannot override: KubeRay's three, plus created-by,
which the operator's pod watch selects on (KubeRay watches pods by ray.io/node-type instead)."""


def cluster_pod_labels(cluster_name: str, *, node_type: str, group_name: str) -> dict[str, str]:
    """The labels KubeRay puts on every Ray pod."""
    return {
        constants.LABEL_IS_RAY_NODE: "yes",
        constants.LABEL_CLUSTER: cluster_name,
        constants.LABEL_NODE_TYPE: node_type,
        constants.LABEL_GROUP: group_name,
        constants.LABEL_IDENTIFIER: identifier(cluster_name, node_type),
        **common_labels(),
    }


def ray_pod_labels(
    cluster_name: str, *, node_type: str, group_name: str, user: Mapping[str, str] | None
) -> dict[str, str]:
    """KubeRay's pod labels, then the user's (template and group labels) on top, except the protected ones."""
    merged = cluster_pod_labels(cluster_name, node_type=node_type, group_name=group_name)
    merged.update({k: v for k, v in (user or {}).items() if k not in PROTECTED_POD_LABELS})
    return merged


def merge_labels(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Later layers win; ``None`` layers are skipped."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer or {})
    return merged


def originated_from(name: str, crd: str) -> dict[str, str]:
    """``ray.io/originated-from-cr-name`` / ``ray.io/originated-from-crd``: which CR a child was made for."""
    return {constants.LABEL_ORIGINATED_FROM_CR_NAME: name, constants.LABEL_ORIGINATED_FROM_CRD: crd}


def owner_reference(
    owner: Mapping[str, Any] | KubeModel, *, kind: str, api_version: str = constants.API_VERSION
) -> dict[str, Any]:
    """A controller owner reference to ``owner`` (a raw body or a typed model with ``metadata``).

    Raises ``ValueError`` when the owner has no name or uid: the API server would reject the child.
    """
    if isinstance(owner, KubeModel):
        meta = getattr(owner, "metadata", None)
        name, uid = getattr(meta, "name", None), getattr(meta, "uid", None)
        api_version = getattr(owner, "api_version", None) or api_version
    else:
        metadata = owner.get("metadata") or {}
        name, uid = metadata.get("name"), metadata.get("uid")
        api_version = owner.get("apiVersion") or api_version
    if not name or not uid:
        raise ValueError(f"cannot reference {kind} {name or '<unnamed>'} as an owner: it has no name or uid")
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
