"""K8sJobMode's submitter in the chaos run: the benchmark's stand-in, sent through the dashboard as a proxy.

kwok runs nothing inside pods, so, as in the benchmark (:mod:`rayjob_bench.submitter`), the harness submits a
submitter pod's job when the pod is Running. Here the POST goes to the pod's own ``RAY_DASHBOARD_ADDRESS`` (the
attempt's head Service) with the load generator as HTTP proxy, as the operator's HTTPMode POSTs do, so the
dashboard records which head accepted which id. It meets the same injected faults; a POST that fails is sent
again (as the submitter's pod would be, by its Job's backoff) until the job is accepted, answered "already
exists" (the real submitter attaches to it), or the pod is gone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from rayjob_bench.submitter import SubmitterStandIn, pod_env, submission_id
from rayjob_devenv.loadgen_dashboard import CLIENT_HEADER
from rayjob_submitter import contract

REQUEST_TIMEOUT = 3.0
GIVE_UP_SECONDS = 120.0
MAX_DELAY = 4.0


class ProxiedSubmitter:
    def __init__(self, http: aiohttp.ClientSession, proxy: str) -> None:
        self._http = http
        self._proxy = proxy
        self._pods: dict[str, dict[str, Any]] = {}
        """Submission id → the latest pod carrying it."""
        self._gone: set[str] = set()
        self.standin = SubmitterStandIn(self._submit)

    def on_pod(self, event_type: str, pod: dict[str, Any]) -> None:
        job_id = submission_id(pod)
        if job_id is None:
            return
        if event_type == "DELETED":
            self._gone.add(job_id)
            return
        self._pods[job_id] = pod
        self.standin.on_pod(event_type, pod)

    @property
    def failures(self) -> list[str]:
        return self.standin.failures

    async def _submit(self, job_id: str) -> None:
        pod = self._pods[job_id]
        address = pod_env(pod, contract.ENV_DASHBOARD_ADDRESS) or ""
        body = {"entrypoint": pod_env(pod, contract.ENV_ENTRYPOINT) or "", "submission_id": job_id}
        url = ("" if "://" in address else "http://") + address.rstrip("/") + "/api/jobs/"
        loop = asyncio.get_running_loop()
        give_up, delay = loop.time() + GIVE_UP_SECONDS, 0.5
        while job_id not in self._gone:
            outcome = await self._post(url, body)
            if outcome is None:
                return
            if loop.time() > give_up:
                raise RuntimeError(f"not accepted within {GIVE_UP_SECONDS:.0f}s: {outcome}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _post(self, url: str, body: dict[str, str]) -> str | None:
        """None once the dashboard has the job; else what went wrong."""
        try:
            async with self._http.post(
                url,
                json=body,
                headers={CLIENT_HEADER: "submitter"},
                proxy=self._proxy,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"{type(error).__name__}: {error}"
        if response.status == 200 or contract.ALREADY_EXISTS_MARKER in text:
            return None
        return f"HTTP {response.status}: {text[:200]}"
