"""Carrying out the actions ``decide`` returned: API writes, dashboard calls, events. Impure glue.

A child the API server refuses (422 invalid, 403 forbidden) is remembered for the attempt so that the
next ``decide`` fails the RayJob with the reason, instead of retrying the same refused request forever.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import auth
from rayjob_operator.builders.logs import build_log_configmap
from rayjob_operator.dashboard import errors as dash_errors
from rayjob_operator.dashboard.models import SubmitRequest
from rayjob_operator.k8s import errors
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.event_reasons import EventReason as R
from rayjob_operator.model.event_reasons import Reason
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.rayjob import RayJob, RayJobStatus
from rayjob_operator.reconcilers.context import AttemptFailure, Context, Key
from rayjob_operator.runtime.poller import Target
from rayjob_operator.state.rayjob import actions as a

logger = logging.getLogger(__name__)
Body = dict[str, Any]


class Actor:
    """Executes one reconcile's actions for one RayJob."""

    def __init__(self, key: Key, job: RayJob, ctx: Context) -> None:
        self.key = key
        self.job = job
        self.ctx = ctx
        self.namespace = key[0]
        status = job.status or RayJobStatus()
        self.attempt = (status.ray_cluster_name, status.job_id)

    @property
    def body(self) -> Body:
        return self.ctx.store.get(res.RAYJOBS, *self.key) or {}

    async def run(self, action: a.Action) -> None:
        handler = getattr(self, f"_do_{type(action).__name__}")
        await handler(action)

    def _event(self, type_: str, reason: Reason, action: str, note: str) -> None:
        self.ctx.job_events.emit(self.body, type=type_, reason=reason, action=action, note=note)  # type: ignore[arg-type]

    def _remember_failure(self, kind: str, message: str, *, permanent: bool) -> None:
        self.ctx.failures[self.key] = AttemptFailure(self.attempt, kind, message, permanent)

    def _forget_failure(self) -> None:
        self.ctx.failures.pop(self.key, None)

    # --- Kubernetes objects -----------------------------------------------------------------------------

    async def _do_AddFinalizer(self, _: a.AddFinalizer) -> None:
        meta = self.body["metadata"]
        finalizers = [*(meta.get("finalizers") or []), constants.RAYJOB_FINALIZER]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        await self.ctx.store.patch(res.RAYJOBS, self.namespace, meta["name"], patch)

    async def _do_CreateCluster(self, action: a.CreateCluster) -> None:
        await self._create_child(
            res.RAYCLUSTERS,
            action.manifest,
            kind="RayCluster",
            created=(R.CREATED_RAYCLUSTER, "Created RayCluster"),
            failed=(R.FAILED_TO_CREATE_RAYCLUSTER, "Failed to create RayCluster"),
        )

    async def _create_child(
        self, resource: res.Resource, manifest: Body, *, kind: str, created: tuple[R, str], failed: tuple[R, str]
    ) -> None:
        """Create a child; one the API server refuses is remembered, and fails the attempt at the next decide."""
        name = manifest["metadata"]["name"]
        try:
            _, new = await self.ctx.store.create(resource, self.namespace, manifest)
        except (errors.Invalid, errors.Forbidden) as exc:
            if errors.namespace_terminating(exc):
                return
            message = f"{failed[1]} {self.namespace}/{name}: {exc.message}"
            self._event("Warning", failed[0], "Create", message)
            self._remember_failure(kind, message, permanent=True)
            return
        if new:
            self._event("Normal", created[0], "Create", f"{created[1]} {self.namespace}/{name}")

    async def _delete_child(self, resource: res.Resource, name: str, *, deleted: tuple[R, str], failed: R) -> None:
        """Delete a child; a refusal is posted as a Warning and raised (the reconcile is retried)."""
        try:
            gone = await self.ctx.store.delete(resource, self.namespace, name)
        except errors.KubeError as exc:
            self._event("Warning", failed, "Delete", f"Failed to delete {resource.kind} {self.namespace}/{name}: {exc}")
            raise
        if not gone:
            self._event("Normal", deleted[0], "Delete", f"{deleted[1]} {self.namespace}/{name}")

    async def _do_DeleteCluster(self, action: a.DeleteCluster) -> None:
        await self._delete_child(
            res.RAYCLUSTERS,
            action.name,
            deleted=(R.DELETED_RAYCLUSTER, "Deleted cluster"),
            failed=R.FAILED_TO_DELETE_RAYCLUSTER,
        )

    async def _do_SuspendWorkers(self, action: a.SuspendWorkers) -> None:
        cluster = self.ctx.store.get(res.RAYCLUSTERS, self.namespace, action.name)
        if cluster is None:
            return
        groups = cluster.get("spec", {}).get("workerGroupSpecs") or []
        ops: list[Body] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": cluster["metadata"]["resourceVersion"]}
        ]
        ops += [{"op": "add", "path": f"/spec/workerGroupSpecs/{i}/suspend", "value": True} for i in range(len(groups))]
        await self.ctx.store.patch(res.RAYCLUSTERS, self.namespace, action.name, ops, kind="json")
        self._event(
            "Normal",
            R.UPDATED_RAYCLUSTER,
            "Update",
            f"Suspended the worker groups of RayCluster {self.namespace}/{action.name} (DeleteWorkers)",
        )

    async def _do_CreateSubmitter(self, action: a.CreateSubmitter) -> None:
        await self._create_child(
            res.JOBS,
            action.manifest,
            kind="Job",
            created=(R.CREATED_RAYJOB_SUBMITTER, "Created Kubernetes Job"),
            failed=(R.FAILED_TO_CREATE_RAYJOB_SUBMITTER, "Failed to create new Kubernetes Job"),
        )

    async def _do_DeleteSubmitter(self, action: a.DeleteSubmitter) -> None:
        await self._delete_child(
            res.JOBS,
            action.name,
            deleted=(R.DELETED_RAYJOB_SUBMITTER, "Deleted Kubernetes Job"),
            failed=R.FAILED_TO_DELETE_RAYJOB_SUBMITTER,
        )

    async def _do_EnsureJobService(self, action: a.EnsureJobService) -> None:
        name = action.manifest["metadata"]["name"]
        existing = self.ctx.store.get(res.SERVICES, self.namespace, name)
        if existing is None:
            _, created = await self.ctx.store.create(res.SERVICES, self.namespace, action.manifest)
            if created:
                self._event("Normal", R.CREATED_SERVICE, "Create", f"Created service {self.namespace}/{name}")
            return
        spec = {**action.manifest["spec"], "clusterIP": existing["spec"].get("clusterIP")}  # immutable once set
        metadata = {**action.manifest["metadata"], "resourceVersion": existing["metadata"]["resourceVersion"]}
        await self.ctx.store.replace(res.SERVICES, {**action.manifest, "metadata": metadata, "spec": spec})
        self._event("Normal", R.UPDATED_SERVICE, "Update", f"Pointed service {self.namespace}/{name} at the new head")

    async def _do_DeleteSelf(self, _: a.DeleteSelf) -> None:
        logger.info("RayJob %s/%s: deleting itself (deletion policy)", *self.key)
        await self.ctx.store.delete(res.RAYJOBS, *self.key)

    async def _do_Emit(self, action: a.Emit) -> None:
        self._event(action.type, action.reason, action.action, action.note)

    # --- the Ray dashboard --------------------------------------------------------------------------------

    async def _do_SubmitJob(self, action: a.SubmitJob) -> None:
        """Handed to the poller: the POST never holds up this reconcile, and is sent once per attempt."""
        token = await dashboard_token(self.ctx, self.job)
        request = SubmitRequest(**action.request)
        self.ctx.poller.submit(self.key, Target(action.address, request.submission_id, token), request)

    async def _do_StopJob(self, action: a.StopJob) -> None:
        await stop_job(self.ctx, self.job, action.address, action.job_id)

    async def _do_SaveLogs(self, action: a.SaveLogs) -> None:
        client = self.ctx.dashboard
        try:
            text = await client.get_logs(action.address, action.job_id, token=await dashboard_token(self.ctx, self.job))
        except dash_errors.DashboardError as exc:
            logger.warning("RayJob %s/%s: could not keep the driver log: %s", *self.key, exc)
            return
        manifest = build_log_configmap(self.job, job_id=action.job_id, text=text, limit=self.ctx.config.log_tail_bytes)
        client_k8s = self.ctx.store.client
        name = manifest["metadata"]["name"]
        try:
            try:
                await client_k8s.create(res.CONFIGMAPS, self.namespace, manifest)
            except errors.AlreadyExists:
                await client_k8s.replace(res.CONFIGMAPS, self.namespace, name, manifest)
        except errors.KubeError as exc:
            logger.warning("RayJob %s/%s: could not write ConfigMap %s: %s", *self.key, name, exc)


async def stop_job(ctx: Context, job: RayJob, address: str, job_id: str) -> None:
    """Best effort and bounded: a dead dashboard never holds anything up."""
    client = ctx.dashboard
    try:
        token = await dashboard_token(ctx, job)
        await asyncio.wait_for(client.stop(address, job_id, token=token), timeout=ctx.config.finalizer_timeout_seconds)
        logger.info("Stopped Ray job %s at %s", job_id, address)
    except (dash_errors.DashboardError, errors.KubeError, TimeoutError) as exc:
        logger.info("Could not stop Ray job %s at %s (%s); going on", job_id, address, exc)


async def dashboard_token(ctx: Context, job: RayJob) -> str | None:
    """The cluster's Ray auth token (from its Secret) when token authentication is on, else None.

    Both answers are remembered per (namespace, cluster), so a running job's reconciles neither parse
    its RayCluster again nor read the Secret again.
    """
    name = (job.status or RayJobStatus()).ray_cluster_name
    if not name:
        return None
    namespace = job.metadata.namespace or ""
    if (namespace, name) in ctx.tokens:
        return ctx.tokens[(namespace, name)]
    cluster_body = ctx.store.get(res.RAYCLUSTERS, namespace, name)
    spec = RayCluster.model_validate(cluster_body).spec if cluster_body else job.spec.ray_cluster_spec
    enabled = spec is not None and auth.token_auth_enabled(spec)
    token = None
    if spec is not None and enabled:
        try:
            secret = await ctx.store.client.get(res.SECRETS, namespace, auth.auth_secret_name(spec, name))
        except errors.NotFound:
            return None  # the RayCluster reconcile has not created it yet: ask again next time
        raw = (secret.get("data") or {}).get(auth.AUTH_TOKEN_SECRET_KEY)
        token = base64.b64decode(raw).decode() if raw else None
    # Remembered only when decided from the cluster itself (the RayJob's template may differ) and final.
    if cluster_body is not None and (token is not None or not enabled):
        ctx.tokens[(namespace, name)] = token
    return token
