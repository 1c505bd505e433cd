"""Exactly one submission per attempt, counted on the dashboard side (through the proxy every request crosses)."""

from __future__ import annotations

import collections

import pytest

from rayjob_devenv.proxy import ForwardProxy
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob

pytestmark = pytest.mark.usefixtures("operator", "pod_runner")
BURST = 10
"""Enough for their reconciles to interleave; each one starts a Ray job supervisor on the shared 2-CPU head."""
SUBMIT_PATH = "/api/jobs/"


def test_a_burst_of_http_mode_jobs_posts_each_submission_once(kube: Kube, dashboard_proxy: ForwardProxy) -> None:
    names = [f"burst-{i:02d}" for i in range(BURST)]
    for name in names:  # as fast as the client can: their reconciles interleave
        kube.create("rayjobs", rayjob(name, "echo burst", submissionMode="HTTPMode", workers=0))
    statuses = {name: kube.wait_job(name, ("Complete", "Failed"), timeout=300)["status"] for name in names}
    hosts = {name: f"{s['rayClusterName']}-head-svc.{kube.ns}.svc.cluster.local:8265" for name, s in statuses.items()}
    requests = [r for r in list(dashboard_proxy.seen) if r.host in hosts.values()]
    posts = collections.Counter(r.host for r in requests if r.method == "POST" and r.path == SUBMIT_PATH)
    assert {name: posts[host] for name, host in hosts.items()} == dict.fromkeys(names, 1)
    for name, host in hosts.items():
        job_path = f"{SUBMIT_PATH}{statuses[name]['jobId']}"
        before_post = []
        for request in (r for r in requests if r.host == host):
            if request.method == "POST":
                break
            before_post.append(request)
        polled_early = [r for r in before_post if r.path == job_path]
        assert polled_early == [], f"{name}: its job was polled before it was submitted: {polled_early}"
    outcomes = {n: (s["jobDeploymentStatus"], s.get("jobStatus")) for n, s in statuses.items()}
    assert outcomes == dict.fromkeys(names, ("Complete", "SUCCEEDED"))
