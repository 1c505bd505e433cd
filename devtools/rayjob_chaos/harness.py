"""The harness's side of a chaos run, on its own thread and event loop: create, act, watch, wait, look.

    create every RayJob (t0 = first create) → suspend / resume / delete on the plan's schedule, the stand-in
    submitter playing K8sJobMode's pods → every RayJob terminal or deleted (or the deadline) → wait until
    nothing is leaked (or the cleanup deadline) → the last look (objects, Events)

Processes (operator, API server) are started and killed by the main thread (:mod:`rayjob_chaos.faults`): a
child dies with the thread that started it. This thread only talks HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from functools import partial
from typing import Any

import aiohttp

from rayjob_bench.kube import AsyncKube, kube_session
from rayjob_bench.loadgen import LoadgenProcess
from rayjob_bench.submitter import JOB_POD_SELECTOR
from rayjob_chaos import kubeops
from rayjob_chaos.leaks import TERMINAL, find_leaks
from rayjob_chaos.observations import Key, Observations
from rayjob_chaos.plan import RUN_LABEL, Action, JobPlan, ScenarioConfig, actions, manifest
from rayjob_chaos.standin import ProxiedSubmitter
from rayjob_devenv.controlplane import LocalControlPlane

CREATE_CONCURRENCY = 16
POLL_SECONDS = 2.0
CALL_TIMEOUT = 120.0
"""How long one harness call (a create, a suspend, a list) is retried while the API server is away."""


class Harness:
    def __init__(
        self, cp: LocalControlPlane, config: ScenarioConfig, plan: list[JobPlan], fake: LoadgenProcess
    ) -> None:
        self.cp, self.config, self.plan, self.fake = cp, config, plan, fake
        self.obs = Observations()
        self.namespaces = {job.namespace for job in plan}
        self.started = threading.Event()
        """Set at t0 (the first create): the faults may begin."""
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    # --- thread side ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """The thread's target: runs the whole harness; ``done`` is set however it ends."""
        try:
            asyncio.run(self._main())
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error
        finally:
            self.done.set()

    def cancel(self) -> None:
        """From another thread: stop the harness if it still runs (it still sets ``done``)."""
        if self._loop is not None and self._task is not None and not self.done.is_set():
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile: it has ended
                self._loop.call_soon_threadsafe(self._task.cancel)

    def elapsed(self) -> float:
        return time.time() - self.obs.t0

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        pki = self.cp.pki
        async with (
            kube_session(ca_file=pki.ca_cert, cert_file=pki.admin_cert, key_file=pki.admin_key) as session,
            aiohttp.ClientSession() as http,
        ):
            kube = AsyncKube(self.cp.server, session)
            submitter = ProxiedSubmitter(http, self.fake.url)
            query = {"labelSelector": JOB_POD_SELECTOR}
            pods = asyncio.create_task(kubeops.watch_resilient(kube, "/api/v1/pods", submitter.on_pod, query))
            try:
                await self._scenario(kube)
            finally:
                pods.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pods
                self.obs.problems += [f"stand-in submitter: {f}" for f in submitter.failures]

    async def _scenario(self, kube: AsyncKube) -> None:
        self.obs.t0 = time.time()
        self.started.set()
        await self._create_all(kube)
        self.obs.created = self.elapsed()
        acting = asyncio.create_task(self._act_all(kube, actions(self.plan)))
        try:
            await self._wait_terminal(kube, acting)
        finally:
            acting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acting
        await self._wait_clean(kube)
        await self._note_events(kube)
        self.obs.ended = self.elapsed()

    # --- create and act ------------------------------------------------------------------------------------
    async def _create_all(self, kube: AsyncKube) -> None:
        pending = [manifest(job, namespaces=self.config.namespaces, nodes=self.config.nodes) for job in self.plan]
        pending.reverse()

        async def worker() -> None:
            while pending:
                body = pending.pop()
                name = body["metadata"]["name"]
                await kubeops.retrying(f"creating RayJob {name}", partial(kubeops.create, kube, body), CALL_TIMEOUT)

        await asyncio.gather(*(worker() for _ in range(CREATE_CONCURRENCY)))

    async def _act_all(self, kube: AsyncKube, todo: list[Action]) -> None:
        """Each action at its time (one held up by an API server restart delays no other)."""
        await asyncio.gather(*(self._act_at(kube, action) for action in todo))

    async def _act_at(self, kube: AsyncKube, action: Action) -> None:
        await asyncio.sleep(max(0.0, action.at - self.elapsed()))
        try:
            await kubeops.retrying(f"{action.verb} {action.key}", partial(self._act, kube, action), CALL_TIMEOUT)
        except kubeops.HarnessError as error:
            self.obs.problems.append(str(error))

    async def _act(self, kube: AsyncKube, action: Action) -> None:
        before = await kubeops.state_of(kube, action.key)
        if before is not None:
            self.obs.acted.setdefault((action.verb, action.key), before)
        if action.verb == "delete":
            self.obs.deleted.add(action.key)  # before the DELETE: its answer may be lost, the deletion not
            await kubeops.delete(kube, action.key)
        elif not await kubeops.set_suspend(kube, action.key, action.verb == "suspend"):
            self.obs.problems.append(f"{action.verb} {action.key}: the RayJob was gone")

    # --- wait ----------------------------------------------------------------------------------------------
    async def _wait_terminal(self, kube: AsyncKube, acting: asyncio.Task[None]) -> None:
        """Until every RayJob is terminal or deleted and every action was made, or the deadline."""
        while True:
            jobs = await self._poll(kube)
            if jobs is not None:
                self.obs.rayjobs = jobs
                if acting.done() and self._all_settled(jobs):
                    self.obs.finished = self.elapsed()
                    return
            if self.elapsed() >= self.config.deadline:
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _poll(self, kube: AsyncKube) -> list[dict[str, Any]] | None:
        """The run's RayJobs, their attempts noted (None while the API server is away)."""
        try:
            jobs = await kubeops.list_all(kube, kubeops.RAYJOBS, self.namespaces, RUN_LABEL)
            clusters = await kubeops.list_all(kube, kubeops.LISTS["RayCluster"], self.namespaces)
        except Exception as error:
            if not kubeops.transient(error):
                raise
            return None
        for job in jobs:
            self.obs.note(_key(job), (job.get("status") or {}).get("rayClusterName"))
        for cluster in clusters:
            for ref in (cluster.get("metadata") or {}).get("ownerReferences") or []:
                if ref.get("kind") == "RayJob":
                    self.obs.note((_key(cluster)[0], str(ref.get("name"))), _key(cluster)[1])
        return jobs

    def _all_settled(self, jobs: list[dict[str, Any]]) -> bool:
        """Every RayJob terminal (and not being deleted), or gone."""
        return all(
            (job.get("status") or {}).get("jobDeploymentStatus") in TERMINAL
            and not (job.get("metadata") or {}).get("deletionTimestamp")
            for job in jobs
        )

    async def _wait_clean(self, kube: AsyncKube) -> None:
        """Until nothing is leaked, or ``cleanup_seconds`` (the last look is kept either way)."""
        deadline = self.elapsed() + self.config.cleanup_seconds
        while True:
            look = await kubeops.retrying("listing what is left", lambda: self._look(kube), CALL_TIMEOUT)
            self.obs.final_rayjobs, self.obs.objects = look
            if not find_leaks(*look) or self.elapsed() >= deadline:
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _look(self, kube: AsyncKube) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        jobs = await kubeops.list_all(kube, kubeops.RAYJOBS, self.namespaces, RUN_LABEL)
        objects = {kind: await kubeops.list_all(kube, path, self.namespaces) for kind, path in kubeops.LISTS.items()}
        return jobs, objects

    async def _note_events(self, kube: AsyncKube) -> None:
        try:
            found = await kubeops.retrying(
                "listing Events", lambda: kubeops.created_clusters(kube, self.namespaces), CALL_TIMEOUT
            )
        except kubeops.HarnessError as error:
            self.obs.problems.append(str(error))
            return
        for key, cluster in found:
            self.obs.note(key, cluster)


def _key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace")), str(meta.get("name"))
