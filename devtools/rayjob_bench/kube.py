"""A small asyncio client of the API server for the benchmark's own traffic (creates, lists, watches).

aiohttp over TLS with the admin client certificate; one connection pool for the whole run. The harness's
requests carry the user agent ``rayjob-bench`` and the admin identity, never the operator's.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

USER_AGENT = "rayjob-bench"
WATCH_SECONDS = 3600


class KubeError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, text: str) -> None:
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status}: {text[:500]}")


def split_lines(buffer: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines of ``buffer + chunk`` and the unfinished rest (a watch stream is one JSON per line)."""
    data = buffer + chunk
    *lines, rest = data.split(b"\n")
    return [line for line in lines if line.strip()], rest


def kube_session(*, ca_file: Path, cert_file: Path, key_file: Path, connections: int = 64) -> aiohttp.ClientSession:
    """An HTTP session to the API server: TLS with a client certificate, one pool of ``connections``."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.load_cert_chain(str(cert_file), str(key_file))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=connections),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
    )


class AsyncKube:
    """Requests to one API server over a session made by :func:`kube_session` (the caller closes it)."""

    def __init__(self, server: str, session: aiohttp.ClientSession) -> None:
        self.server = server.rstrip("/")
        self._session = session

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
        async with self._session.request(method, self.server + path, json=body) as response:
            return response.status, await response.text()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        status, text = await self.request(method, path, body)
        if not 200 <= status < 300:
            raise KubeError(method, path, status, text)
        return json.loads(text) if text.startswith(("{", "[")) else text

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", path, body)
        return result

    async def list(self, path: str) -> tuple[list[dict[str, Any]], str]:
        """Items and the list's resourceVersion."""
        result = await self.call("GET", path)
        return list(result.get("items") or []), str(result["metadata"]["resourceVersion"])

    async def count(self, path: str) -> int:
        """How many objects ``path`` lists, asking for one object only (cheap on a large collection)."""
        result = await self.call("GET", f"{path}?limit=1")
        items = result.get("items") or []
        return len(items) + int(result["metadata"].get("remainingItemCount") or 0) if items else 0

    async def watch(self, path: str, resource_version: str, query: dict[str, str] | None = None) -> AsyncIterator[Any]:
        """Watch events (``{"type", "object"}``) from ``resource_version`` until the server ends the stream."""
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(WATCH_SECONDS),
            **(query or {}),
        }
        url = f"{self.server}{path}?{urllib.parse.urlencode(params)}"
        async with self._session.get(url) as response:
            if response.status != 200:
                raise KubeError("WATCH", path, response.status, await response.text())
            rest = b""
            async for chunk in response.content.iter_any():
                lines, rest = split_lines(rest, chunk)
                for line in lines:
                    yield json.loads(line)


async def watch_forever(
    kube: AsyncKube,
    path: str,
    on_object: Callable[[str, dict[str, Any]], Awaitable[None] | None],
    query: dict[str, str] | None = None,
    on_synced: Callable[[], None] | None = None,
) -> None:
    """List, then watch ``path`` for ever (resuming after stream ends, re-listing after 410 Gone).

    ``on_object(event_type, object)`` gets every listed object as ``"LISTED"`` and every watch event;
    ``on_synced()`` is called after the first list.
    """
    list_path = path + ("?" + urllib.parse.urlencode(query) if query else "")
    while True:
        items, version = await kube.list(list_path)
        for item in items:
            await _maybe_await(on_object("LISTED", item))
        if on_synced is not None:
            on_synced()
            on_synced = None
        try:
            while True:
                async for event in kube.watch(path, version, query):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        raise KubeError("WATCH", path, int(obj.get("code") or 0), str(obj.get("message")))
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if kind != "BOOKMARK":
                        await _maybe_await(on_object(str(kind), obj))
        except KubeError as error:
            if error.status != 410:
                raise


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
