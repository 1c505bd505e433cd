"""A thin async client for the Kubernetes REST API: the only code in the operator that calls it.

Bodies are plain dicts (the API's JSON). Failures become :mod:`errors` exceptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import orjson

from rayjob_operator import constants
from rayjob_operator.k8s import errors
from rayjob_operator.k8s.credentials import ApiCredentials, CredentialsLoader
from rayjob_operator.k8s.resources import Resource

Body = dict[str, Any]
PatchKind = Literal["merge", "json", "strategic"]
Propagation = Literal["Background", "Foreground", "Orphan"]
_PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
logger = logging.getLogger(__name__)


class KubeClient:
    def __init__(self, load_credentials: CredentialsLoader, *, timeout: float = 30.0, connections: int = 64) -> None:
        self._load_credentials = load_credentials
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._credentials: ApiCredentials | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- verbs ------------------------------------------------------------------------------------------

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Body:
        return await self._request("GET", resource.path(namespace, name))

    async def list(
        self, resource: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[list[Body], str]:
        """All objects (following pagination) and the list's resourceVersion."""
        items: list[Body] = []
        params: dict[str, str] = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            page = await self._request("GET", resource.path(namespace), params=params)
            kind = resource.kind
            for item in page.get("items") or []:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = page.get("metadata") or {}
            if not meta.get("continue"):
                return items, str(meta.get("resourceVersion", ""))
            params["continue"] = meta["continue"]

    async def create(self, resource: Resource, namespace: str | None, body: Body) -> Body:
        return await self._request("POST", resource.path(namespace), body=body, params=_manager())

    async def replace(
        self, resource: Resource, namespace: str | None, name: str, body: Body, *, subresource: str | None = None
    ) -> Body:
        path = resource.path(namespace, name, subresource)
        return await self._request("PUT", path, body=body, params=_manager())

    async def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        kind: PatchKind = "merge",
        subresource: str | None = None,
    ) -> Body:
        path = resource.path(namespace, name, subresource)
        return await self._request("PATCH", path, body=patch, params=_manager(), content_type=_PATCH_TYPES[kind])

    async def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        *,
        propagation: Propagation = "Background",
        uid: str | None = None,
    ) -> Body:
        options: Body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if uid:
            options["preconditions"] = {"uid": uid}
        return await self._request("DELETE", resource.path(namespace, name), body=options)

    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[tuple[str, Body]]:
        """The changes after ``resource_version`` as (type, object), BOOKMARKs included, until the server ends
        the stream (after about ``timeout_seconds``). A version too old for the server raises :class:`errors.Gone`."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        session, credentials = await self._connection()
        path = resource.path(namespace)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=timeout_seconds + 60)
        headers = {"Accept": "application/json", **credentials.headers()}
        try:
            async with session.get(credentials.server + path, params=params, headers=headers, timeout=timeout) as reply:
                if reply.status != 200:
                    _decode(reply.status, await reply.text(), "WATCH", path)
                async for line in _lines(reply.content):
                    yield _watch_event(orjson.loads(line), path)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.Unavailable(0, type(exc).__name__, f"WATCH {path}: {exc}") from exc

    # --- transport --------------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Body:
        for attempt in (1, 2):
            session, credentials = await self._connection()
            headers = {"Accept": "application/json", **credentials.headers()}
            data = None
            if body is not None:
                headers["Content-Type"] = content_type
                data = orjson.dumps(body)
            try:
                async with session.request(
                    method, credentials.server + path, params=params, data=data, headers=headers
                ) as response:
                    text = await response.text()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise errors.Unavailable(0, type(exc).__name__, f"{method} {path}: {exc}") from exc
            if status == 401 and attempt == 1:
                await self._reload_credentials()
                continue
            return _decode(status, text, method, path)
        raise AssertionError("unreachable")

    async def _connection(self) -> tuple[aiohttp.ClientSession, ApiCredentials]:
        async with self._lock:
            if self._credentials is None:
                self._credentials = await self._load_credentials()
            if self._session is None:
                connector = aiohttp.TCPConnector(
                    ssl=self._credentials.ssl_context(), limit=self._connections, limit_per_host=self._connections
                )
                self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=False)
            return self._session, self._credentials

    async def _reload_credentials(self) -> None:
        logger.info("The API server answered 401; loading the credentials again.")
        async with self._lock:
            self._credentials = None
            if self._session is not None:
                await self._session.close()
                self._session = None


async def _lines(stream: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Newline-separated JSON documents of any size (aiohttp's own line iterator refuses lines over 64 KiB)."""
    pending = b""
    async for chunk in stream.iter_any():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def _watch_event(event: Body, path: str) -> tuple[str, Body]:
    kind, obj = str(event.get("type") or ""), event.get("object") or {}
    if kind == "ERROR":  # the server's Status for an error inside the stream (410 when the version is too old)
        raise errors.translate(int(obj.get("code") or 0), obj, f"WATCH {path}")
    return kind, obj


def _manager() -> dict[str, str]:
    return {"fieldManager": constants.FIELD_MANAGER}


def _decode(status: int, text: str, method: str, path: str) -> Body:
    try:
        payload = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        payload = {"message": text.strip()[:500]}
    if not isinstance(payload, dict):
        payload = {"message": str(payload)[:500]}
    if 200 <= status < 300:
        return payload
    raise errors.translate(status, payload, f"{method} {path}")
