"""In-memory stand-ins for the operator's collaborators, for the unit tier (KubeRay's fake-client tests are the model).

- :class:`FakeKube` answers the calls of :class:`rayjob_operator.k8s.client.KubeClient` from dicts, as an API
  server would for what the operator does: resourceVersions, uids, 404/409 errors, finalizers holding a
  deletion, merge patches with a resourceVersion precondition, JSON patches (test/add/remove/replace), the
  status subresource. It records every write and can refuse creations of a kind.
- :class:`FakeDashboard` answers the dashboard calls from a dict of job statuses.
- :class:`Events` records the events posted.
- :func:`context` wires a reconcile Context around them (the real Store, poller and work queues).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rayjob_operator.config import OperatorConfig
from rayjob_operator.dashboard import errors as dash_errors
from rayjob_operator.dashboard.models import JobInfo, SubmitRequest
from rayjob_operator.k8s import errors
from rayjob_operator.k8s.client import PatchKind
from rayjob_operator.k8s.resources import Resource
from rayjob_operator.metrics import Metrics
from rayjob_operator.model.bodies import Body
from rayjob_operator.reconcilers.context import Context, Key
from rayjob_operator.runtime.namespaces import NamespaceScope
from rayjob_operator.runtime.poller import JobPoller
from rayjob_operator.runtime.store import Store
from rayjob_operator.runtime.workqueue import WorkQueue

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
ObjectKey = tuple[str, str, str]  # plural, namespace, name


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[ObjectKey, Body] = {}
        self.writes: list[tuple[str, str, str]] = []
        """(verb, plural, name) of every write, in order."""
        self.refusals: dict[str, errors.KubeError] = {}
        """plural -> the error a create of that kind gets."""
        self._versions = itertools.count(100)
        self._uids = itertools.count(1)

    # --- helpers for tests ------------------------------------------------------------------------------

    def put(self, resource: Resource, body: Body) -> Body:
        """Store an object as if a user had created it."""
        meta = body["metadata"]
        return self._store(resource, meta.get("namespace", ""), copy.deepcopy(body), new=True)

    def find(self, resource: Resource, namespace: str, name: str) -> Body | None:
        return self.objects.get((resource.plural, namespace, name))

    def of_kind(self, resource: Resource) -> list[Body]:
        return [b for (plural, _, _), b in sorted(self.objects.items()) if plural == resource.plural]

    # --- what KubeClient does ---------------------------------------------------------------------------

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Body:
        found = self.find(resource, namespace or "", name)
        if found is None:
            raise errors.NotFound(404, "NotFound", f"{resource.plural} {name!r} not found")
        return copy.deepcopy(found)

    async def list(self, resource: Resource, namespace: str | None = None, **options: Any) -> tuple[list[Body], str]:
        label_selector = options.get("label_selector")
        items = [
            copy.deepcopy(b)
            for (plural, ns, _), b in sorted(self.objects.items())
            if plural == resource.plural and (namespace is None or ns == namespace) and _selects(label_selector, b)
        ]
        return items, str(next(self._versions))

    async def create(self, resource: Resource, namespace: str | None, body: Body) -> Body:
        body = copy.deepcopy(body)
        name = body["metadata"].get("name") or f"{body['metadata']['generateName']}{next(self._uids):05d}"
        body["metadata"]["name"] = name
        if (resource.plural, namespace or "", name) in self.objects:
            raise errors.AlreadyExists(409, "AlreadyExists", f"{resource.plural} {name!r} already exists")
        if resource.plural in self.refusals:
            raise self.refusals[resource.plural]
        self.writes.append(("create", resource.plural, name))
        return copy.deepcopy(self._store(resource, namespace or "", body, new=True))

    async def replace(self, resource: Resource, namespace: str, name: str, body: Body, **options: Any) -> Body:
        subresource = options.get("subresource")
        current = await self.get(resource, namespace, name)
        wanted = body["metadata"].get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        if subresource == "status":
            current["status"] = copy.deepcopy(body.get("status"))
        else:
            current = {**copy.deepcopy(body), "status": current.get("status"), "metadata": _keep(current, body)}
        self.writes.append((f"replace{'/' + subresource if subresource else ''}", resource.plural, name))
        return copy.deepcopy(self._store(resource, namespace or "", current, new=False))

    async def patch(self, resource: Resource, namespace: str, name: str, patch: Any, **options: Any) -> Body:
        kind: PatchKind = options.get("kind", "merge")
        current = await self.get(resource, namespace, name)
        if kind == "json":
            _json_patch(current, patch)
        else:
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise errors.Conflict(409, "Conflict", "the object has been modified")
            _merge(current, patch)
        self.writes.append(("patch", resource.plural, name))
        stored = self._store(resource, namespace or "", current, new=False)
        if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get("finalizers"):
            del self.objects[(resource.plural, namespace or "", name)]
        return copy.deepcopy(stored)

    async def delete(self, resource: Resource, namespace: str, name: str, **options: Any) -> Body:
        """Deletes at once, or marks it deleting while finalizers hold it (propagation is the GC's business)."""
        current = await self.get(resource, namespace, name)
        self.writes.append(("delete", resource.plural, name))
        key = (resource.plural, namespace or "", name)
        if current["metadata"].get("finalizers"):
            current["metadata"]["deletionTimestamp"] = "2026-11-23T12:00:00Z"
            return copy.deepcopy(self._store(resource, namespace or "", current, new=False))
        del self.objects[key]
        return current

    async def close(self) -> None:
        return None

    def _store(self, resource: Resource, namespace: str, body: Body, *, new: bool) -> Body:
        meta = body.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta["resourceVersion"] = str(next(self._versions))
        if new:
            meta.setdefault("uid", f"uid-{next(self._uids)}")
            meta.setdefault("creationTimestamp", "2026-11-23T11:59:00Z")
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        self.objects[(resource.plural, namespace, meta["name"])] = body
        return body


def _selects(selector: str | None, body: Body) -> bool:
    if not selector:
        return True
    labels = body["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in (term.split("=", 1) for term in selector.split(",")))


def _keep(current: Body, body: Body) -> dict[str, Any]:
    meta = dict(body["metadata"])
    for field in ("uid", "creationTimestamp", "deletionTimestamp"):
        if field in current["metadata"]:
            meta[field] = current["metadata"][field]
    return meta


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _json_patch(target: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        *parents, last = [p for p in op["path"].split("/") if p]
        node: Any = target
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        index: Any = int(last) if isinstance(node, list) else last
        if op["op"] == "test":
            if node[index] != op["value"]:
                raise errors.Invalid(422, "Invalid", f"test of {op['path']} failed")
        elif op["op"] == "remove":
            del node[index]
        else:  # add / replace
            node[index] = copy.deepcopy(op["value"])


class FakeDashboard:
    """The dashboard calls of the operator, answered from ``jobs`` (submission id -> Ray status)."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.refuse_token = False
        self.log_failures = 0
        """How many of the next log reads fail as a flaky dashboard's would (a 500, a reset)."""

    async def get_job_info(self, address: str, job_id: str, *, token: str | None = None) -> JobInfo:
        self.calls.append(("get", job_id))
        if self.refuse_token:
            raise dash_errors.DashboardAuthError(401, "token needed")
        if job_id not in self.jobs:
            raise dash_errors.JobNotFound(job_id)
        return JobInfo.from_json({"submission_id": job_id, "status": self.jobs[job_id], "entrypoint": "x"})

    async def submit(self, address: str, request: SubmitRequest, *, token: str | None = None) -> object:
        self.calls.append(("submit", request.submission_id))
        self.jobs.setdefault(request.submission_id, "PENDING")
        return "created"

    async def stop(self, address: str, job_id: str, *, token: str | None = None) -> bool:
        self.calls.append(("stop", job_id))
        if job_id in self.jobs:
            self.jobs[job_id] = "STOPPED"
        return True

    async def get_logs(self, address: str, job_id: str, *, token: str | None = None) -> str:
        self.calls.append(("logs", job_id))
        if self.log_failures > 0:
            self.log_failures -= 1
            raise dash_errors.DashboardUnreachable("HTTP 500: injected")
        return f"log of {job_id}\n"


class Events:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str]] = []
        """(type, reason, note)."""

    def emit(self, regarding: Mapping[str, Any], *, type: str, reason: str, action: str, note: str) -> None:
        self.posted.append((type, str(reason), note))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.posted]

    async def flush(self) -> None:
        return None


def context(kube: FakeKube, dashboard: FakeDashboard, *, now: datetime = NOW, **config: Any) -> Context:
    """A Context over the fakes, with the real Store, poller and queues (nothing runs in the background)."""
    store = Store(kube, NamespaceScope())
    job_queue: WorkQueue[Key] = WorkQueue("rayjob")
    poller = JobPoller(
        dashboard,
        interval=1.0,
        concurrency=4,
        clock=lambda: now,
        on_change=lambda key, urgent: job_queue.add(key, urgent=urgent),  # type: ignore[arg-type]
    )
    return Context(
        store=store,
        config=OperatorConfig(metrics_port=0, **config),
        cluster_events=Events(),
        job_events=Events(),
        cluster_queue=WorkQueue("raycluster"),
        job_queue=job_queue,
        dashboard=dashboard,
        poller=poller,
        metrics=Metrics(),
        clock=lambda: now,
    )
