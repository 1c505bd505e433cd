"""The forward proxy: in-cluster dashboard names reach the local Ray head through HTTP_PROXY."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rayjob_devenv.proxy import ForwardProxy, QuietServer
from rayjob_devenv.rayhead import RayHead
from rayjob_operator.dashboard.client import DashboardClient
from rayjob_operator.dashboard.models import JobStatus, SubmitRequest
from rayjob_submitter.contract import ExitCode
from tests.integration.fixtures_ray import run_submitter, submitter_env

SERVICE = "rayjob-demo-head-svc.team-a.svc.cluster.local:8265"


def proxy_env(proxy: ForwardProxy) -> dict[str, str]:
    return {"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1,localhost"}


def seen_hosts(proxy: ForwardProxy) -> set[str]:
    return {seen.host for seen in proxy.seen}


def test_submitter_reaches_the_head_by_its_service_name(
    ray_head: RayHead, dashboard_proxy: ForwardProxy, submission_id: str
) -> None:
    env = submitter_env(SERVICE, submission_id, proxy_env(dashboard_proxy))
    result = run_submitter(env, ["--", "echo through the proxy"])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "through the proxy" in result.stdout
    assert any(s.method == "POST" and s.host == SERVICE and s.status == 200 for s in dashboard_proxy.seen)


def test_submitter_for_an_unrouted_host_gives_up_with_exit_4(dashboard_proxy: ForwardProxy, submission_id: str) -> None:
    extra = {**proxy_env(dashboard_proxy), "RAY_JOB_SUBMITTER_WAIT_SECONDS": "1"}
    result = run_submitter(submitter_env("nowhere.example:8265", submission_id, extra), ["--", "echo x"])

    assert result.returncode == ExitCode.UNREACHABLE, result
    assert "HTTP 502: rayjob-devenv proxy: no route for 'nowhere.example:8265'" in result.stderr


async def test_client_reaches_the_head_by_its_service_name(
    ray_head: RayHead, dashboard_proxy: ForwardProxy, submission_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in proxy_env(dashboard_proxy).items():
        monkeypatch.setenv(name, value)
    async with DashboardClient(timeout=10) as client:
        await client.submit(SERVICE, SubmitRequest(submission_id, "echo client via proxy"))
        infos = await asyncio.gather(*(client.get_job_info(SERVICE, submission_id) for _ in range(20)))
        before = len(dashboard_proxy.seen)
        version = await client.get_version(ray_head.address)  # NO_PROXY: straight to the head

    assert {info.submission_id for info in infos} == {submission_id}
    assert all(info.status in set(JobStatus) for info in infos)
    assert version.ray_version == "2.60.0"
    assert len(dashboard_proxy.seen) == before
    assert SERVICE in seen_hosts(dashboard_proxy)


def test_unrouted_host_gets_a_502_with_text(dashboard_proxy: ForwardProxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", dashboard_proxy.port, timeout=10)
    try:
        connection.request("GET", "http://nowhere.example:8265/api/version")
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()

    assert response.status == 502
    assert "no route for 'nowhere.example:8265'" in body


def test_keep_alive_and_connection_close(dashboard_proxy: ForwardProxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", dashboard_proxy.port, timeout=10)
    try:
        connection.request("GET", f"http://{SERVICE}/api/version")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", f"http://{SERVICE}/api/jobs/")
        second = connection.getresponse()
        second.read()
        reused = connection.sock is sock
        connection.request("GET", f"http://{SERVICE}/api/version", headers={"Connection": "close"})
        third = connection.getresponse()
        third.read()
    finally:
        connection.close()

    assert (first.status, second.status, third.status) == (200, 200, 200)
    assert reused, "the proxy closed a keep-alive connection"
    assert first.getheader("Connection") == "keep-alive"
    assert third.getheader("Connection") == "close"
    assert third.will_close


class _SlowChunks(http.server.BaseHTTPRequestHandler):
    """Sends one chunk, waits for ``release``, then a second chunk."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"6\r\nfirst\n\r\n")
        self.wfile.flush()
        self.release.wait(timeout=10)
        self.wfile.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def slow_upstream() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), _SlowChunks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        _SlowChunks.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_bodies_are_streamed(slow_upstream: str) -> None:
    _SlowChunks.release.clear()
    with ForwardProxy([(r"slow\.test:80", slow_upstream)]) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        try:
            connection.request("GET", "http://slow.test/stream")
            response = connection.getresponse()
            first = response.read1(100)  # arrives while the upstream still holds the rest back
            _SlowChunks.release.set()
            rest = response.read()
        finally:
            connection.close()

    assert first == b"first\n"
    assert rest == b"second\n"
