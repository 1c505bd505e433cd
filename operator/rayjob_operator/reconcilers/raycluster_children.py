"""The RayCluster's created-once children: the autoscaler's ServiceAccount, Role and RoleBinding, and the
token Secret. Impure glue over :func:`state.raycluster.cluster_children`.

These kinds are not watched (the operator would need to list Secrets to watch them): a child is created
(an existing one is left as it is: a token never changes), then remembered as present for
``config.resync_seconds`` before it is looked at again.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.event_reasons import EventReason as R
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.reconcilers.context import Context
from rayjob_operator.state.raycluster import Child, cluster_children

logger = logging.getLogger(__name__)
Body = dict[str, Any]
TOKEN_BYTES = 32


# kind -> (resource, words in event notes, reason when created, reason when refused)
KINDS: dict[str, tuple[res.Resource, str, R, R]] = {
    "ServiceAccount": (
        res.SERVICEACCOUNTS,
        "service account",
        R.CREATED_SERVICE_ACCOUNT,
        R.FAILED_TO_CREATE_SERVICE_ACCOUNT,
    ),
    "Role": (res.ROLES, "role", R.CREATED_ROLE, R.FAILED_TO_CREATE_ROLE),
    "RoleBinding": (res.ROLEBINDINGS, "role binding", R.CREATED_ROLE_BINDING, R.FAILED_TO_CREATE_ROLE_BINDING),
    "Secret": (res.SECRETS, "secret", R.CREATED_SECRET, R.FAILED_TO_CREATE_SECRET),
}


async def ensure_children(cluster: RayCluster, body: Body, ctx: Context) -> str | None:
    """Create what is missing; return why a child could not be had, if one could not."""
    namespace = cluster.metadata.namespace or ""
    children = cluster_children(cluster, token=secrets.token_hex(TOKEN_BYTES))
    for child in children:
        key = (namespace, cluster.metadata.uid or "", child.kind, child.name)
        seen = ctx.ensured.get(key)
        if seen is not None and time.monotonic() - seen < ctx.config.resync_seconds:
            continue
        failure = await _ensure(child, namespace, body, ctx)
        if failure is not None:
            return failure
        ctx.ensured[key] = time.monotonic()
    return None


def forget(namespace: str, uid: str | None, ctx: Context) -> None:
    for key in [k for k in ctx.ensured if k[:2] == (namespace, uid or "")]:
        del ctx.ensured[key]


async def _ensure(child: Child, namespace: str, owner: Body, ctx: Context) -> str | None:
    resource, words, created, refused = KINDS[child.kind]
    if child.manifest is None:
        return await _check_user_account(child, namespace, owner, ctx)
    try:
        if not await ctx.store.create_once(resource, namespace, child.manifest):
            return None  # there already, and left as it is
    except (errors.Invalid, errors.Forbidden) as exc:
        if errors.namespace_terminating(exc):
            return None
        message = f"Failed creating {words} {namespace}/{child.name}, {exc.message}"
        ctx.cluster_events.emit(owner, type="Warning", reason=refused, action="Create", note=message)
        return message
    logger.info("Created %s %s/%s", child.kind, namespace, child.name)
    ctx.cluster_events.emit(
        owner, type="Normal", reason=created, action="Create", note=f"Created {words} {namespace}/{child.name}"
    )
    return None


async def _check_user_account(child: Child, namespace: str, owner: Body, ctx: Context) -> str | None:
    """A ServiceAccount named in the head template is the user's to create; without it the autoscaler cannot run."""
    if await ctx.store.read(res.SERVICEACCOUNTS, namespace, child.name) is None:
        message = (
            f"ServiceAccount {namespace}/{child.name} (the head template's serviceAccountName) is not found;"
            " the autoscaler runs as it, so create it"
        )
        ctx.cluster_events.emit(
            owner, type="Warning", reason=R.AUTOSCALER_SERVICE_ACCOUNT_NOT_FOUND, action="Create", note=message
        )
        return message
    return None
