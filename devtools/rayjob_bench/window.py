"""The measurement window of one run: snapshot → watch → create N → all terminal → clusters gone → snapshot.

The harness's watch stamps each RayJob's transitions; in K8sJobMode a second watch plays the submitter
(:mod:`rayjob_bench.submitter`); the operator's process tree is sampled for CPU and memory throughout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import resource
import time
from pathlib import Path
from typing import Any

import aiohttp

from rayjob_bench import apicounts, workload
from rayjob_bench.config import BenchConfig, Mode
from rayjob_bench.kube import AsyncKube, kube_session, watch_forever
from rayjob_bench.loadgen import LoadgenProcess
from rayjob_bench.observations import RawRun, Snapshot
from rayjob_bench.operators import OperatorUnderTest
from rayjob_bench.procstats import PeakTracker, cpu_seconds, sample_tree
from rayjob_bench.submitter import JOB_POD_SELECTOR, SubmitterStandIn
from rayjob_bench.timeline import Timelines, object_key
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.loadgen_dashboard import CLIENT_HEADER
from rayjob_devenv.ports import LOOPBACK

RAYJOBS = "/apis/ray.io/v1/rayjobs"
RAYCLUSTERS = "/apis/ray.io/v1/rayclusters"
SYNC_TIMEOUT = 60.0


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip()


def harness_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass(frozen=True)
class Stage:
    """What a window measures: the running environment of one run."""

    config: BenchConfig
    mode: Mode
    cp: LocalControlPlane
    fake: LoadgenProcess
    operator: OperatorUnderTest


async def measure(stage: Stage, manifests: list[dict[str, Any]]) -> RawRun:
    """Create ``manifests`` and observe them to the end (the harness's own API session is the admin's)."""
    pki = stage.cp.pki
    async with kube_session(ca_file=pki.ca_cert, cert_file=pki.admin_cert, key_file=pki.admin_key) as session:
        return await Window(stage, AsyncKube(stage.cp.server, session)).measure(manifests)


class Window:
    def __init__(self, stage: Stage, kube: AsyncKube) -> None:
        self.config = stage.config
        self.mode = stage.mode
        self.cp = stage.cp
        self.fake = stage.fake
        self.operator = stage.operator
        self.kube = kube
        self.tracker = PeakTracker()
        self.all_done = asyncio.Event()

    async def measure(self, manifests: list[dict[str, Any]]) -> RawRun:
        async with aiohttp.ClientSession() as http:
            timelines = Timelines(object_key(m) for m in manifests)
            standin = SubmitterStandIn(lambda job_id: self._submit(http, job_id))
            load_before = load_average()
            before = await self._snapshot()
            raw = RawRun(self.operator.name, self.mode, len(manifests), timelines, before, before, self.tracker)
            raw.load_before = load_before
            tasks = await self._start_observers(timelines, standin)
            try:
                await self._create_all(manifests, raw)
                await self._wait_terminal(raw)
                await self._wait_cleanup(raw)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            raw.after = await self._snapshot()
            raw.load_after = load_average()
            raw.standin_submitted = standin.submitted
            raw.problems.extend(standin.failures)
            return raw

    async def _snapshot(self) -> Snapshot:
        metrics = await self.kube.call("GET", "/metrics")
        pid = self.operator.pid
        self.tracker.add(time.time(), sample_tree(pid) if pid is not None else None)
        cpu = {name: cpu_seconds(pid) for name, pid in self.cp.pids().items()}
        cpu.update({"loadgen-dashboard": cpu_seconds(self.fake.pid), "harness": harness_cpu()})
        revision = apicounts.etcd_revision(LOOPBACK, self.cp.ports.etcd_client)
        return Snapshot(time.time(), revision, apicounts.request_totals(str(metrics)), cpu)

    async def _start_observers(self, timelines: Timelines, standin: SubmitterStandIn) -> list[asyncio.Task[None]]:
        def on_rayjob(_event: str, obj: dict[str, Any]) -> None:
            timelines.observe(obj, time.time())
            if timelines.all_done:
                self.all_done.set()

        synced = asyncio.Event()
        tasks = [asyncio.create_task(watch_forever(self.kube, RAYJOBS, on_rayjob, on_synced=synced.set))]
        if self.mode is Mode.K8SJOB:
            selector = {"labelSelector": JOB_POD_SELECTOR}
            pods = watch_forever(self.kube, "/api/v1/pods", standin.on_pod, query=selector)
            tasks.append(asyncio.create_task(pods))
        tasks.append(asyncio.create_task(self._sample()))
        await asyncio.wait_for(synced.wait(), timeout=SYNC_TIMEOUT)
        return tasks

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(self.config.sample_interval_seconds)
            if self.operator.pid is not None:
                self.tracker.add(time.time(), sample_tree(self.operator.pid))

    async def _create_all(self, manifests: list[dict[str, Any]], raw: RawRun) -> None:
        """Create every RayJob, ``create_concurrency`` requests in flight (as fast as the client can)."""
        pending = list(reversed(manifests))
        raw.started = time.time()

        async def worker() -> None:
            while pending:
                manifest = pending.pop()
                key = object_key(manifest)
                raw.timelines.sent(key, time.time())
                namespace = manifest["metadata"]["namespace"]
                await self.kube.create(f"/apis/ray.io/v1/namespaces/{namespace}/rayjobs", manifest)
                raw.timelines.created(key, time.time())

        await asyncio.gather(*(worker() for _ in range(self.config.create_concurrency)))
        raw.created_all = time.time()

    async def _wait_terminal(self, raw: RawRun) -> None:
        remaining = self.config.deadline_seconds - (time.time() - raw.started)
        try:
            await asyncio.wait_for(self.all_done.wait(), timeout=max(remaining, 0.0))
        except TimeoutError:
            raw.timed_out = True
            left = len(raw.timelines.jobs) - raw.timelines.done_count
            raw.problems.append(f"{left} RayJobs not terminal after {self.config.deadline_seconds:.0f}s")
        raw.finished = time.time()

    async def _wait_cleanup(self, raw: RawRun) -> None:
        """Until no RayCluster is left (shutdownAfterJobFinishes, ttl 0), or the cleanup deadline."""
        deadline = time.time() + self.config.cleanup_timeout_seconds
        interval = 0.1
        while True:
            raw.leaked_clusters = await self.kube.count(RAYCLUSTERS)
            if not raw.leaked_clusters:
                raw.cleaned = time.time()
                return
            if time.time() >= deadline:
                timeout = self.config.cleanup_timeout_seconds
                raw.problems.append(f"{raw.leaked_clusters} RayClusters left {timeout:.0f}s after the last RayJob")
                return
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, 1.0)

    async def _submit(self, http: aiohttp.ClientSession, job_id: str) -> None:
        body = {"entrypoint": workload.ENTRYPOINT, "submission_id": job_id}
        headers = {CLIENT_HEADER: "submitter"}
        async with http.post(f"{self.fake.url}/api/jobs/", json=body, headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {(await response.text())[:200]}")
