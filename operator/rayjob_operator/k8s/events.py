"""Kubernetes Events (events.k8s.io/v1) about our objects, posted without blocking reconciles."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from rayjob_operator.k8s import errors
from rayjob_operator.k8s.client import KubeClient
from rayjob_operator.k8s.resources import EVENTS
from rayjob_operator.model import k8s_time

EventType = Literal["Normal", "Warning"]
logger = logging.getLogger(__name__)
MAX_NOTE = 1024


POSTS_IN_FLIGHT = 4
"""Events are posted a few at a time (client-go's recorder posts one at a time): in a burst they wait here,
not at the API server, where they would slow down the status writes of the reconciles."""
MAX_PENDING = 2048
"""Events waiting to be posted beyond this are dropped (with a warning), as client-go drops them."""


class EventRecorder:
    def __init__(self, client: KubeClient, *, controller: str, instance: str, max_pending: int = MAX_PENDING) -> None:
        self._client = client
        self._controller = controller
        self._instance = instance
        self._pending: set[asyncio.Task[None]] = set()
        self._max_pending = max_pending
        self._in_flight = asyncio.Semaphore(POSTS_IN_FLIGHT)

    def emit(self, regarding: Mapping[str, Any], *, type: EventType, reason: str, action: str, note: str) -> None:
        """Post an event in the background; a failure is logged, never raised."""
        if len(self._pending) >= self._max_pending:
            logger.warning("Dropping event %s %s: too many events in flight", reason, note)
            return
        try:
            event = build_event(
                regarding,
                type=type,
                reason=reason,
                action=action,
                note=note,
                controller=self._controller,
                instance=self._instance,
                now=datetime.now(UTC),
                unique=f"{time.time_ns():x}{secrets.token_hex(2)}",
            )
        except Exception:  # an event is never worth failing a reconcile for
            logger.exception("Could not build event %s", reason)
            return
        task = asyncio.get_running_loop().create_task(self._post(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _post(self, event: dict[str, Any]) -> None:
        try:
            async with self._in_flight:
                await self._client.create(EVENTS, event["metadata"]["namespace"], event)
        except errors.KubeError as exc:
            logger.warning("Could not post event %s: %s", event["reason"], exc)


def build_event(
    regarding: Mapping[str, Any],
    *,
    type: EventType,
    reason: str,
    action: str,
    note: str,
    controller: str,
    instance: str,
    now: datetime,
    unique: str,
) -> dict[str, Any]:
    meta = regarding.get("metadata") or {}
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        # As client-go names events: <object>.<unique hex>; a generateName may not end with ".".
        "metadata": {"name": f"{meta.get('name', 'object')}.{unique}", "namespace": meta.get("namespace")},
        "eventTime": k8s_time.format_micro_time(now),
        "reportingController": controller,
        "reportingInstance": instance,
        "action": action,
        "reason": reason,
        "type": type,
        "note": note[:MAX_NOTE],
        "regarding": {
            "apiVersion": regarding.get("apiVersion"),
            "kind": regarding.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
    }
