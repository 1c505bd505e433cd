"""Wires the operator together: caches fed by watch events, keyed work queues, reconcilers, timers.

The informer's watch streams feed the caches; each change to a cached object adds the keys of the objects
whose reconcile depends on it. Workers then run the level-based reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine
from typing import Any

from rayjob_operator import constants
from rayjob_operator.config import OperatorConfig
from rayjob_operator.dashboard.client import DashboardClient
from rayjob_operator.k8s import resources as res
from rayjob_operator.k8s.client import KubeClient
from rayjob_operator.k8s.events import EventRecorder
from rayjob_operator.k8s.resources import Resource
from rayjob_operator.metrics import Metrics
from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body
from rayjob_operator.reconcilers.context import Context, Key, utc_now
from rayjob_operator.reconcilers.raycluster import reconcile_raycluster
from rayjob_operator.reconcilers.rayjob import reconcile_rayjob
from rayjob_operator.runtime.informer import Informer
from rayjob_operator.runtime.namespaces import NamespaceScope
from rayjob_operator.runtime.poller import JobPoller
from rayjob_operator.runtime.store import Store, selected_cluster
from rayjob_operator.runtime.workqueue import WorkQueue
from rayjob_operator.state import requeue

logger = logging.getLogger(__name__)
URGENT_WORKERS = 4
"""RayJob workers kept for urgent keys (a Ray job that just ended): its status write never waits for a free
worker behind a burst of ordinary reconciles."""


class Controller:
    def __init__(self, config: OperatorConfig, client: KubeClient, scope: NamespaceScope) -> None:
        self.config = config
        self.client = client
        self.store = Store(client, scope)
        instance = socket.gethostname()
        cluster_queue: WorkQueue[Key] = WorkQueue("raycluster")
        job_queue: WorkQueue[Key] = WorkQueue("rayjob")
        self.metrics = Metrics()
        self.metrics.watch_cache(self.store.cache(res.RAYJOBS).all, self.store.cache(res.RAYCLUSTERS).all)
        self.dashboard = DashboardClient(
            timeout=config.dashboard_timeout_seconds, max_connections=config.poll_concurrency
        )
        self.poller = JobPoller(
            self.dashboard,
            interval=config.poll_interval_seconds,
            concurrency=config.poll_concurrency,
            clock=utc_now,
            on_change=lambda key, urgent: job_queue.add(key, urgent=urgent),  # type: ignore[arg-type]
            on_result=lambda result: self.metrics.polls.labels(result).inc(),
        )
        self.ctx = Context(
            store=self.store,
            config=config,
            cluster_events=EventRecorder(client, controller=constants.RAYCLUSTER_CONTROLLER_NAME, instance=instance),
            job_events=EventRecorder(client, controller=constants.RAYJOB_CONTROLLER_NAME, instance=instance),
            cluster_queue=cluster_queue,
            job_queue=job_queue,
            dashboard=self.dashboard,
            poller=self.poller,
            metrics=self.metrics,
        )
        self.store.listeners.append(self._on_change)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Fill the caches first (so no reconcile starts from an empty view), then start the workers."""
        versions = await self.store.prime()
        self._spawn(Informer(self.store, self.client).run(versions), "watches")
        self.metrics.serve(self.config.metrics_port)
        for body in self.store.cache(res.RAYCLUSTERS).all():
            self.ctx.cluster_queue.add(bodies.key(body))
        for body in self.store.cache(res.RAYJOBS).all():
            self.ctx.job_queue.add(bodies.key(body))
        workers = self.config.reconcile_workers
        self._spawn(self.ctx.cluster_queue.run(self._reconcile_cluster, workers=workers), "raycluster-workers")
        job_workers = self.ctx.job_queue.run(self._reconcile_job, workers=workers, urgent_workers=URGENT_WORKERS)
        self._spawn(job_workers, "rayjob-workers")
        self._spawn(self._resync_forever(), "resync")
        self._spawn(self.poller.run(), "dashboard-poller")
        logger.info(
            "Controller started: %d RayJobs, %d RayClusters, %d pods cached",
            len(self.store.cache(res.RAYJOBS)),
            len(self.store.cache(res.RAYCLUSTERS)),
            len(self.store.cache(res.PODS)),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ctx.cluster_events.flush()
        await self.ctx.job_events.flush()
        await self.dashboard.close()
        await self.client.close()

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def _reconcile_cluster(self, key: Key) -> float | None:
        return await self._measured("raycluster", reconcile_raycluster(key, self.ctx))

    async def _reconcile_job(self, key: Key) -> float | None:
        return await self._measured("rayjob", reconcile_rayjob(key, self.ctx))

    async def _measured(self, kind: str, reconcile: Coroutine[Any, Any, float | None]) -> float | None:
        metrics = self.metrics
        metrics.reconciles.labels(kind).inc()
        queue = self.ctx.job_queue if kind == "rayjob" else self.ctx.cluster_queue
        metrics.queue_depth.labels(kind).set(len(queue))
        with metrics.reconcile_seconds.labels(kind).time():
            try:
                return await reconcile
            except Exception:
                metrics.reconcile_errors.labels(kind).inc()
                raise

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.resync_seconds)
            await self.store.resync()

    # --- which reconciles depend on a change ----------------------------------------------------------------

    def _on_change(self, resource: Resource, body: Body, deleted: bool) -> None:
        namespace, name = bodies.key(body)
        if resource == res.RAYJOBS:
            if deleted:
                self.ctx.job_queue.forget((namespace, name))
            self.ctx.job_queue.add((namespace, name))
        elif resource == res.RAYCLUSTERS:
            self.ctx.cluster_queue.add((namespace, name))
            self._add_jobs_of_cluster(namespace, name, body)
        elif resource in (res.PODS, res.SERVICES):
            clusters = bodies.owner_names(body, constants.RAYCLUSTER_KIND)
            for cluster in clusters:
                if resource == res.PODS:
                    self.ctx.cluster_queue.add_after((namespace, cluster), requeue.POD_SETTLE)
                else:
                    self.ctx.cluster_queue.add((namespace, cluster))
                self._add_jobs_of_cluster(namespace, cluster, self.store.get(res.RAYCLUSTERS, namespace, cluster))
            for job in bodies.owner_names(body, "Job"):
                owner = self.store.get(res.JOBS, namespace, job)
                self._add_jobs(namespace, bodies.owner_names(owner, constants.RAYJOB_KIND) if owner else [])
        if resource in (res.JOBS, res.SERVICES, res.PODS):
            self._add_jobs(namespace, bodies.owner_names(body, constants.RAYJOB_KIND))

    def _add_jobs_of_cluster(self, namespace: str, cluster: str, body: Body | None) -> None:
        """The RayJob owning the cluster and those whose clusterSelector names it (they own nothing of it)."""
        self._add_jobs(namespace, bodies.owner_names(body, constants.RAYJOB_KIND) if body else [])
        selecting = self.store.by_index(res.RAYJOBS, "selects", selected_cluster(namespace, cluster))
        self._add_jobs(namespace, [bodies.name(job) for job in selecting])

    def _add_jobs(self, namespace: str, names: list[str]) -> None:
        for name in names:
            self.ctx.job_queue.add((namespace, name))
