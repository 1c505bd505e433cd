"""The harness's API calls, made to survive API server restarts: bounded retries and watches that resume.

Built on the benchmark's client (:mod:`rayjob_bench.kube`). Every retry loop has a deadline and says what it
was doing when it gives up.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from rayjob_bench.kube import AsyncKube, KubeError, watch_forever
from rayjob_chaos.observations import Key

T = TypeVar("T")
RETRY_SECONDS = 1.0
REQUEST_SECONDS = 30.0
"""Bound of one request (a request caught by an API server restart must not hang the harness)."""
TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
RAYJOBS = "/apis/ray.io/v1/rayjobs"
LISTS = {
    "RayCluster": "/apis/ray.io/v1/rayclusters",
    "Pod": "/api/v1/pods",
    "Job": "/apis/batch/v1/jobs",
    "Service": "/api/v1/services",
    "ConfigMap": "/api/v1/configmaps",
}


class HarnessError(RuntimeError):
    """The harness could not do its part (the message says what, and the last error)."""


def transient(error: BaseException) -> bool:
    """A failure worth retrying: the API server is away or overloaded."""
    if isinstance(error, KubeError):
        return error.status >= 500 or error.status == 429
    return isinstance(error, TRANSPORT_ERRORS)


async def retrying(what: str, call: Callable[[], Awaitable[T]], timeout: float) -> T:
    """``call()`` until it succeeds or fails for good, retrying transient failures for ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await asyncio.wait_for(call(), REQUEST_SECONDS)
        except Exception as error:
            if not transient(error):
                raise
            if loop.time() >= deadline:
                raise HarnessError(f"{what}: still failing after {timeout:.0f}s: {error!r}") from error
        await asyncio.sleep(RETRY_SECONDS)


async def watch_resilient(
    kube: AsyncKube,
    path: str,
    on_object: Callable[[str, dict[str, Any]], None],
    query: dict[str, str] | None = None,
) -> None:
    """:func:`watch_forever`, started again (list, then watch) whenever the API server goes away."""
    while True:
        try:
            await watch_forever(kube, path, on_object, query=query)
        except Exception as error:
            if not transient(error) and not isinstance(error, KubeError):
                raise
        await asyncio.sleep(RETRY_SECONDS)


async def list_all(
    kube: AsyncKube, path: str, namespaces: set[str], selector: str | None = None
) -> list[dict[str, Any]]:
    """Every object of ``path`` (all namespaces) in ``namespaces``, optionally with a label selector."""
    query = "?" + urllib.parse.urlencode({"labelSelector": selector}) if selector else ""
    items, _ = await kube.list(path + query)
    return [i for i in items if (i.get("metadata") or {}).get("namespace") in namespaces]


def rayjob_path(key: Key) -> str:
    return f"/apis/ray.io/v1/namespaces/{key[0]}/rayjobs/{key[1]}"


async def state_of(kube: AsyncKube, key: Key) -> str | None:
    """The RayJob's ``jobDeploymentStatus`` ("New" before the first status; None: the RayJob is gone)."""
    try:
        body = await kube.call("GET", rayjob_path(key))
    except KubeError as error:
        if error.status == 404:
            return None
        raise
    return str((body.get("status") or {}).get("jobDeploymentStatus") or "New")


async def set_suspend(kube: AsyncKube, key: Key, suspend: bool) -> bool:
    """Set ``spec.suspend`` (GET, then PUT; a conflict reads again). False if the RayJob is gone."""
    while True:
        try:
            body = await kube.call("GET", rayjob_path(key))
            if bool(body["spec"].get("suspend")) == suspend:
                return True
            body["spec"]["suspend"] = suspend
            await kube.call("PUT", rayjob_path(key), body)
        except KubeError as error:
            if error.status == 404:
                return False
            if error.status != 409:
                raise
        else:
            return True


async def delete(kube: AsyncKube, key: Key) -> bool:
    """Delete the RayJob (background propagation, as kubectl); False if it was gone already."""
    try:
        await kube.call("DELETE", rayjob_path(key), {"propagationPolicy": "Background"})
    except KubeError as error:
        if error.status == 404:
            return False
        raise
    return True


async def create(kube: AsyncKube, manifest: dict[str, Any]) -> None:
    """Create a RayJob; "already exists" is success (an earlier try whose answer was lost)."""
    namespace = manifest["metadata"]["namespace"]
    try:
        await kube.create(f"/apis/ray.io/v1/namespaces/{namespace}/rayjobs", manifest)
    except KubeError as error:
        if error.status != 409:
            raise


async def created_clusters(kube: AsyncKube, namespaces: set[str]) -> list[tuple[Key, str]]:
    """((namespace, RayJob), RayCluster) of every CreatedRayCluster Event the operator posted."""
    query = urllib.parse.urlencode({"fieldSelector": "reason=CreatedRayCluster"})
    events, _ = await kube.list(f"/api/v1/events?{query}")
    found = []
    for event in events:
        involved = event.get("involvedObject") or {}
        namespace, message = involved.get("namespace"), str(event.get("message") or "")
        if namespace in namespaces and involved.get("kind") == "RayJob" and "/" in message:
            found.append(((str(namespace), str(involved.get("name"))), message.rsplit("/", 1)[1].strip()))
    return found
