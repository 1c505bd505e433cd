"""Carrying out the actions ``decide`` returned: API writes, dashboard calls, events. Impure glue.

A child the API server refuses (422 invalid, 403 forbidden) is returned as a :class:`Refusal`; the reconcile
settles it into the status it writes (``state.rayjob.outcome.refused``), so the attempt fails with the reason
instead of retrying the same refused request forever, and no process memory is needed to know it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
from typing import assert_never

from rayjob_operator import constants
from rayjob_operator.builders import auth
from rayjob_operator.builders.logs import build_log_configmap
from rayjob_operator.dashboard import errors as dash_errors
from rayjob_operator.dashboard.models import SubmitRequest
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.k8s.events import EventType
from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body, Key
from rayjob_operator.model.event_reasons import EventReason as R
from rayjob_operator.model.event_reasons import Reason
from rayjob_operator.model.rayjob import RayJob, RayJobStatus
from rayjob_operator.reconcilers.context import Context
from rayjob_operator.reconcilers.raycluster import parsed_cluster
from rayjob_operator.runtime.poller import Target
from rayjob_operator.state.rayjob import actions as a

logger = logging.getLogger(__name__)
LOG_READS = 3
"""A finished job's log is read once, and the cluster that holds it goes in the next reconcile: a read that
fails (an error answer, a reset, a timeout) is tried again, up to this many reads (each bounded by the
dashboard timeout). It runs after the status is written, so it delays only that cluster's deletion."""


@dataclasses.dataclass(frozen=True)
class Refusal:
    """The API server refused to create a child of this attempt: it never will."""

    kind: str
    """"RayCluster" or "Job"."""
    message: str


@dataclasses.dataclass(frozen=True)
class ChildKind:
    resource: res.Resource
    kind: str
    created: tuple[R, str]
    failed: tuple[R, str]


CLUSTER = ChildKind(
    res.RAYCLUSTERS,
    "RayCluster",
    (R.CREATED_RAYCLUSTER, "Created RayCluster"),
    (R.FAILED_TO_CREATE_RAYCLUSTER, "Failed to create RayCluster"),
)
SUBMITTER = ChildKind(
    res.JOBS,
    "Job",
    (R.CREATED_RAYJOB_SUBMITTER, "Created Kubernetes Job"),
    (R.FAILED_TO_CREATE_RAYJOB_SUBMITTER, "Failed to create new Kubernetes Job"),
)


class Actor:
    """Executes one reconcile's actions for one RayJob."""

    def __init__(self, key: Key, job: RayJob, ctx: Context) -> None:
        self.key = key
        self.job = job
        self.ctx = ctx
        self.namespace = key[0]

    @property
    def body(self) -> Body:
        return self.ctx.store.get(res.RAYJOBS, *self.key) or {}

    async def run_all(self, actions: tuple[a.Action, ...]) -> Refusal | None:
        """Run the actions in order; stop at the first refusal (what follows it presumed the child exists)."""
        for action in actions:
            refusal = await self.run(action)
            if refusal is not None:
                return refusal
        return None

    async def run(self, action: a.Action) -> Refusal | None:
        match action:
            case a.CreateCluster(manifest):
                return await self._create_child(CLUSTER, manifest)
            case a.CreateSubmitter(manifest):
                return await self._create_child(SUBMITTER, manifest)
            case a.DeleteCluster() | a.DeleteSubmitter():
                await self._delete_child(action)
            case a.AddFinalizer():
                await self._add_finalizer()
            case a.SuspendWorkers(name):
                await self._suspend_workers(name)
            case a.EnsureJobService(manifest):
                await self._ensure_job_service(manifest)
            case a.DeleteSelf():
                logger.info("RayJob %s/%s: deleting itself (deletion policy)", *self.key)
                await self.ctx.store.delete(res.RAYJOBS, *self.key)
            case a.Emit(type_, reason, verb, note):
                self._event(type_, reason, verb, note)
            case a.SubmitJob() | a.StopJob() | a.SaveLogs():
                await self._dashboard(action)
            case _:
                assert_never(action)
        return None

    async def _dashboard(self, action: a.SubmitJob | a.StopJob | a.SaveLogs) -> None:
        match action:
            case a.SubmitJob(address, request):
                await self._submit(address, request)
            case a.StopJob(address, job_id):
                await stop_job(self.ctx, self.key, self.job, address, job_id)
            case a.SaveLogs(address, job_id):
                await self._save_logs(address, job_id)
            case _:
                assert_never(action)

    def _event(self, type_: EventType, reason: Reason, action: str, note: str) -> None:
        self.ctx.job_events.emit(self.body, type=type_, reason=reason, action=action, note=note)

    # --- Kubernetes objects -----------------------------------------------------------------------------

    async def _add_finalizer(self) -> None:
        body = self.body
        finalizers = [*bodies.finalizers(body), constants.RAYJOB_FINALIZER]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": bodies.meta(body).get("resourceVersion")}}
        await self.ctx.store.patch(res.RAYJOBS, *self.key, patch)

    async def _create_child(self, child: ChildKind, manifest: Body) -> Refusal | None:
        name = bodies.name(manifest)
        try:
            _, new = await self.ctx.store.create(child.resource, self.namespace, manifest)
        except (errors.Invalid, errors.Forbidden) as exc:
            if errors.namespace_terminating(exc):
                return None
            message = f"{child.failed[1]} {self.namespace}/{name}: {exc.message}"
            self._event("Warning", child.failed[0], "Create", message)
            return Refusal(child.kind, message)
        if new:
            self._event("Normal", child.created[0], "Create", f"{child.created[1]} {self.namespace}/{name}")
        return None

    async def _delete_child(self, action: a.DeleteCluster | a.DeleteSubmitter) -> None:
        """Delete a child; a refusal is posted as a Warning and raised (the reconcile is retried)."""
        if isinstance(action, a.DeleteCluster):
            resource, deleted, failed = res.RAYCLUSTERS, R.DELETED_RAYCLUSTER, R.FAILED_TO_DELETE_RAYCLUSTER
        else:
            resource, deleted, failed = res.JOBS, R.DELETED_RAYJOB_SUBMITTER, R.FAILED_TO_DELETE_RAYJOB_SUBMITTER
        name = action.name
        what = f"{resource.kind} {self.namespace}/{name}"
        try:
            gone = await self.ctx.store.delete(resource, self.namespace, name)
        except errors.KubeError as exc:
            self._event("Warning", failed, "Delete", f"Failed to delete {what}: {exc}")
            raise
        if not gone:
            self._event("Normal", deleted, "Delete", f"Deleted {what}")

    async def _suspend_workers(self, name: str) -> None:
        cluster = self.ctx.store.get(res.RAYCLUSTERS, self.namespace, name)
        if cluster is None:
            return
        groups = cluster.get("spec", {}).get("workerGroupSpecs") or []
        version = bodies.meta(cluster).get("resourceVersion")
        ops: list[Body] = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}]
        ops += [{"op": "add", "path": f"/spec/workerGroupSpecs/{i}/suspend", "value": True} for i in range(len(groups))]
        await self.ctx.store.patch(res.RAYCLUSTERS, self.namespace, name, ops, kind="json")
        note = f"Suspended the worker groups of RayCluster {self.namespace}/{name} (DeleteWorkers)"
        self._event("Normal", R.UPDATED_RAYCLUSTER, "Update", note)

    async def _ensure_job_service(self, manifest: Body) -> None:
        name = bodies.name(manifest)
        existing = self.ctx.store.get(res.SERVICES, self.namespace, name)
        if existing is None:
            _, created = await self.ctx.store.create(res.SERVICES, self.namespace, manifest)
            if created:
                self._event("Normal", R.CREATED_SERVICE, "Create", f"Created service {self.namespace}/{name}")
            return
        spec = {**manifest["spec"], "clusterIP": existing["spec"].get("clusterIP")}  # immutable once set
        metadata = {**manifest["metadata"], "resourceVersion": bodies.meta(existing).get("resourceVersion")}
        await self.ctx.store.replace(res.SERVICES, {**manifest, "metadata": metadata, "spec": spec})
        self._event("Normal", R.UPDATED_SERVICE, "Update", f"Pointed service {self.namespace}/{name} at the new head")

    # --- the Ray dashboard --------------------------------------------------------------------------------

    async def _submit(self, address: str, request: Body) -> None:
        """Handed to the poller: the POST never holds up this reconcile, and is sent once per attempt."""
        token = await dashboard_token(self.ctx, self.key, self.job)
        submit = SubmitRequest(**request)
        self.ctx.poller.submit(self.key, Target(address, submit.submission_id, token), submit)

    async def _save_logs(self, address: str, job_id: str) -> None:
        try:
            token = await dashboard_token(self.ctx, self.key, self.job)
            text = await self._read_logs(address, job_id, token)
        except (dash_errors.DashboardError, errors.KubeError) as exc:
            logger.warning("RayJob %s/%s: could not keep the driver log: %s", *self.key, exc)
            return
        manifest = build_log_configmap(self.job, job_id=job_id, text=text, limit=self.ctx.config.log_tail_bytes)
        try:
            await self.ctx.store.put(res.CONFIGMAPS, self.namespace, manifest)
        except errors.KubeError as exc:
            logger.warning("RayJob %s/%s: could not write ConfigMap %s: %s", *self.key, bodies.name(manifest), exc)

    async def _read_logs(self, address: str, job_id: str, token: str | None) -> str:
        """The job's log; a transient failure (an error answer, a reset, a timeout) is asked again, within bounds."""
        reads = 1
        while True:
            try:
                return await self.ctx.dashboard.get_logs(address, job_id, token=token)
            except dash_errors.DashboardUnreachable:
                if reads >= LOG_READS:
                    raise
            reads += 1


async def stop_job(ctx: Context, key: Key, job: RayJob, address: str, job_id: str) -> None:
    """Best effort and bounded: a dead dashboard never holds anything up."""
    try:
        token = await dashboard_token(ctx, key, job)
        stop = ctx.dashboard.stop(address, job_id, token=token)
        await asyncio.wait_for(stop, timeout=ctx.config.finalizer_timeout_seconds)
        logger.info("Stopped Ray job %s at %s", job_id, address)
    except (dash_errors.DashboardError, errors.KubeError, TimeoutError) as exc:
        logger.info("Could not stop Ray job %s at %s (%s); going on", job_id, address, exc)


async def dashboard_token(ctx: Context, key: Key, job: RayJob) -> str | None:
    """The Ray auth token of the job's current cluster (from its Secret) when token auth is on, else None.

    Remembered for the RayJob's attempt (``ctx.tokens``), so a running job's reconciles neither parse its
    RayCluster again nor read the Secret again; forgotten when the attempt ends or the dashboard refuses it.
    """
    name = (job.status or RayJobStatus()).ray_cluster_name
    if not name:
        return None
    known, token = ctx.tokens.lookup(key, name)
    if known:
        return token
    namespace = job.metadata.namespace or ""
    cluster_body = ctx.store.get(res.RAYCLUSTERS, namespace, name)
    model = parsed_cluster(cluster_body, ctx)[0] if cluster_body else None
    spec = model.spec if model is not None else job.spec.ray_cluster_spec
    enabled = spec is not None and auth.token_auth_enabled(spec)
    if spec is not None and enabled:
        secret = await ctx.store.read(res.SECRETS, namespace, auth.auth_secret_name(spec, name))
        if secret is None:
            return None  # the RayCluster reconcile has not created it yet: ask again next time
        raw = (secret.get("data") or {}).get(auth.AUTH_TOKEN_SECRET_KEY)
        token = base64.b64decode(raw).decode() if raw else None
    # Remembered only when decided from the cluster itself (the RayJob's template may differ) and final.
    if cluster_body is not None and (token is not None or not enabled):
        ctx.tokens.remember(key, name, token)
    return token
