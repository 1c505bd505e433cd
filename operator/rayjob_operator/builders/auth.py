"""Ray token authentication (``authOptions.mode: token``): the Secret holding the token, and its name. Pure.

Without ``authOptions.secretName`` the operator creates a Secret named after the cluster (clipped as
KubeRay's ``CheckName``), key ``auth_token``, owned by the RayCluster; every Ray container, the
``wait-gcs-ready`` init container and the autoscaler read ``RAY_AUTH_TOKEN`` from it. The token itself is
chosen by the caller (builders read no randomness).
"""

from __future__ import annotations

from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels
from rayjob_operator.model.enums import AuthMode
from rayjob_operator.model.raycluster import RayCluster, RayClusterSpec

AUTH_TOKEN_SECRET_KEY = "auth_token"


def token_auth_enabled(spec: RayClusterSpec) -> bool:
    return spec.auth_options is not None and spec.auth_options.mode == AuthMode.TOKEN


def auth_secret_name(spec: RayClusterSpec, cluster_name: str) -> str:
    """``authOptions.secretName`` if set, else the cluster's name (clipped to 50 characters as KubeRay)."""
    auth = spec.auth_options
    if auth is not None and auth.secret_name:
        return auth.secret_name
    return labels.check_name(cluster_name)


def generates_auth_secret(spec: RayClusterSpec) -> bool:
    """Token auth without a Secret of the user's: the operator creates one."""
    return token_auth_enabled(spec) and not (spec.auth_options and spec.auth_options.secret_name)


def build_auth_secret(cluster: RayCluster, *, token: str) -> dict[str, Any]:
    """The token Secret of ``cluster`` (only for :func:`generates_auth_secret` clusters), owned by it."""
    name = cluster.metadata.name or ""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": auth_secret_name(cluster.spec, name),
            "namespace": cluster.metadata.namespace,
            "labels": {constants.LABEL_CLUSTER: name, **labels.common_labels()},
            "ownerReferences": [labels.owner_reference(cluster, kind=constants.RAYCLUSTER_KIND)],
        },
        "stringData": {AUTH_TOKEN_SECRET_KEY: token},
    }
