"""What the reconcilers need of their collaborators, as Protocols: the real ones are wired by the controller,
the unit tier passes in-memory fakes (``tests/unit/fakes.py``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Protocol

from rayjob_operator.dashboard.models import SubmitRequest
from rayjob_operator.k8s.client import PatchKind
from rayjob_operator.k8s.events import EventType
from rayjob_operator.k8s.resources import Resource
from rayjob_operator.model.bodies import Body
from rayjob_operator.model.event_reasons import Reason
from rayjob_operator.runtime.poller import Target
from rayjob_operator.state.rayjob.observation import RayView


class ObjectStore(Protocol):
    """Watched kinds read from the caches; every write through the API (and into the caches at once)."""

    def get(self, resource: Resource, namespace: str, name: str) -> Body | None: ...

    def by_index(self, resource: Resource, index: str, value: str) -> list[Body]: ...

    def all(self, resource: Resource) -> list[Body]: ...

    def count(self, resource: Resource) -> int: ...

    async def read(self, resource: Resource, namespace: str, name: str) -> Body | None: ...

    async def create_once(self, resource: Resource, namespace: str, body: Body) -> bool: ...

    async def put(self, resource: Resource, namespace: str, body: Body) -> None: ...

    async def create(self, resource: Resource, namespace: str, body: Body) -> tuple[Body, bool]: ...

    async def delete(self, resource: Resource, namespace: str, name: str, *, uid: str | None = None) -> bool: ...

    async def patch(
        self, resource: Resource, namespace: str, name: str, patch: Any, *, kind: PatchKind = "merge"
    ) -> Body:
        """A merge patch, or a JSON patch (``kind="json"``)."""

    async def replace(self, resource: Resource, body: Body) -> Body: ...

    async def replace_status(self, resource: Resource, body: Body) -> Body: ...

    async def refresh(self, resource: Resource, namespace: str, name: str) -> Body | None: ...


class DashboardCalls(Protocol):
    """The dashboard calls a reconcile makes itself (the poller makes the others)."""

    async def stop(self, address: str, job_id: str, *, token: str | None = None) -> bool: ...

    async def get_logs(self, address: str, job_id: str, *, token: str | None = None) -> str: ...


class JobTracker(Protocol):
    """The dashboard poller: it follows each running RayJob's Ray job and submits HTTPMode jobs."""

    def track(self, key: Hashable, target: Target) -> None: ...

    def untrack(self, key: Hashable) -> None: ...

    def submit(self, key: Hashable, target: Target, request: SubmitRequest) -> None: ...

    def latest(self, key: Hashable, target: Target) -> RayView | None: ...


class EventSink(Protocol):
    def emit(
        self, regarding: Mapping[str, Any], *, type: EventType, reason: Reason, action: str, note: str
    ) -> None: ...

    async def flush(self) -> None: ...
