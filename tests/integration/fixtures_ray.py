"""Fixtures of the real Ray head (star-imported by tests/integration/conftest.py).

- ``ray_head`` (session): one Ray 2.60 head for the whole run, 2 CPUs. Its job supervisors may take
  ``RAY_JOB_START_TIMEOUT_SECONDS=120`` to start (Ray's default is 900): a burst of jobs on a busy machine
  starts slowly, and an infeasible job still ends (FAILED) in bounded time.
- ``quick_start_timeout_head`` (function): a 1-CPU head whose job supervisors must start within 20 s, for
  the tests of that timeout.
- ``ray_auth_head`` (module): a second head with token authentication, for the auth tests only.
- ``dashboard_proxy`` (session): an HTTP forward proxy routing ``*-head-svc.<ns>.svc.cluster.local:8265``
  to ``ray_head``.
- ``submission_id`` (function): a fresh, valid submission id named after the test.

Ray comes from ``$RAYJOB_RAY_BIN`` (scripts/bootstrap.sh) or the bootstrap venv; when it is missing the
fixtures fail, they never skip. After stopping, each head checks that none of its processes is left.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead
from rayjob_devenv.waiting import wait_for
from rayjob_submitter import contract

__all__ = ["dashboard_proxy", "quick_start_timeout_head", "ray_auth_head", "ray_head", "submission_id"]

JOB_START_TIMEOUT_SECONDS = 120
QUICK_JOB_START_TIMEOUT_SECONDS = 20
HEAD_SERVICE_ROUTE = r".*-head-svc\.[^.]+\.svc\.cluster\.local:8265"
# Spaces, both quotes, $VARS, &&, ;, backticks, a newline, non-ASCII: must reach Ray byte for byte.
AWKWARD = (
    "echo \"double $HOME\" 'single $HOME' && printf '%s\\n' `echo back ticks` ; echo ${UNSET:-dflt} ü\n"
    'echo "second line"  with   spaces'
)
SUBMITTER_TIMEOUT = 90.0  # no submitter run in these tests may take longer
# Variables of the test process that must not leak into a submitter under test.
_SCRUBBED = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "RAY_ADDRESS",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_AUTH_MODE",
)


def _stopped_cleanly(head: RayHead) -> None:
    head.stop()
    leftovers = head.processes()
    assert not leftovers, f"processes of the Ray head survived its stop: {leftovers}"


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    head = RayHead(num_cpus=2, env={"RAY_JOB_START_TIMEOUT_SECONDS": str(JOB_START_TIMEOUT_SECONDS)})
    head.start()
    try:
        yield head
    finally:
        _stopped_cleanly(head)


@pytest.fixture
def quick_start_timeout_head() -> Iterator[RayHead]:
    head = RayHead(num_cpus=1, env={"RAY_JOB_START_TIMEOUT_SECONDS": str(QUICK_JOB_START_TIMEOUT_SECONDS)})
    head.start()
    try:
        yield head
    finally:
        _stopped_cleanly(head)


@pytest.fixture(scope="module")
def ray_auth_head() -> Iterator[RayHead]:
    """A head with ``RAY_AUTH_MODE=token``; its token is ``ray_auth_head.token``."""
    head = RayHead(num_cpus=1, token=secrets.token_hex(32))
    head.start()
    try:
        yield head
    finally:
        _stopped_cleanly(head)


@pytest.fixture(scope="session")
def dashboard_proxy(ray_head: RayHead) -> Iterator[ForwardProxy]:
    with ForwardProxy([(HEAD_SERVICE_ROUTE, ray_head.address)]) as proxy:
        yield proxy


@pytest.fixture
def submission_id(request: pytest.FixtureRequest) -> str:
    stem = re.sub(r"[^A-Za-z0-9._:@-]+", "-", request.node.name).strip("-")[:80]
    return f"{stem}-{uuid.uuid4().hex[:8]}"


# --- helpers for the tests (plain functions, not fixtures) ----------------------------------------------


def submitter_env(
    address: str, submission_id: str, extra: Mapping[str, str] | None = None, *, poll: float = 0.3
) -> dict[str, str]:
    """The environment of a submitter under test: ours, minus proxies and Ray tokens, plus the inputs."""
    env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
    env.update(
        {
            contract.ENV_DASHBOARD_ADDRESS: address,
            contract.ENV_SUBMISSION_ID: submission_id,
            contract.ENV_POLL_SECONDS: str(poll),
        }
    )
    env.update(extra or {})
    return env


def submitter_command(args: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "rayjob_submitter", *args]


def run_submitter(
    env: Mapping[str, str],
    args: Sequence[str] = (),
    *,
    timeout: float = SUBMITTER_TIMEOUT,
    command: Sequence[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (default ``python -m rayjob_submitter``) to its end (bounded by ``timeout``)."""
    argv = list(command) if command is not None else submitter_command(args)
    return subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)


def start_submitter(
    env: Mapping[str, str], args: Sequence[str] = (), *, command: Sequence[str] | None = None
) -> subprocess.Popen[str]:
    argv = list(command) if command is not None else submitter_command(args)
    return subprocess.Popen(argv, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], what: str, timeout: float = SUBMITTER_TIMEOUT) -> tuple[str, str]:
    """(stdout, stderr) of a submitter expected to exit within ``timeout``; kills it otherwise."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the submitter did not exit within {timeout:g}s ({what}):\n{out}\n{err}") from None


def stopped_while_running(
    head: RayHead, submission_id: str, process: subprocess.Popen[str]
) -> tuple[int | None, str, str]:
    """Stop the running job of a started submitter; (its exit code, stdout, stderr) once it ended."""
    try:
        wait_for_status(head, submission_id, {"RUNNING"})
        stop_job(head, submission_id)
        out, err = finish(process, "after the job was stopped", timeout=30)
    finally:
        process.kill()
        process.wait()
    return process.returncode, out, err


def raced_then_retried(
    env: Mapping[str, str], command: Sequence[str] | None = None
) -> tuple[list[tuple[int | None, str, str]], subprocess.CompletedProcess[str]]:
    """Two submitters at once (two pods), then a third after their end (a retried pod)."""
    racing = [start_submitter(env, command=command), start_submitter(env, command=command)]
    outcomes = [(process, *finish(process, "racing submitters")) for process in racing]
    return [(p.returncode, out, err) for p, out, err in outcomes], run_submitter(env, command=command)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def ray_call(head: RayHead, method: str, path: str, body: Any = None) -> Answer:
    """A direct call to the head's REST API (no proxy), for the tests' own checks."""
    headers = {"Content-Type": "application/json"}
    if head.token:
        headers["Authorization"] = f"Bearer {head.token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(head.url + path, data=data, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as reply:
            return Answer(reply.status, json.loads(reply.read()))
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.read().decode(errors="replace"))


def job_path(submission_id: str, suffix: str = "") -> str:
    return "/api/jobs/" + urllib.parse.quote(submission_id, safe="") + suffix


def get_job(head: RayHead, submission_id: str) -> dict[str, Any]:
    answer = ray_call(head, "GET", job_path(submission_id))
    assert answer.status == 200, f"GET job {submission_id}: {answer}"
    assert isinstance(answer.body, dict)
    return answer.body


def wait_for_status(head: RayHead, submission_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
    """Poll the job until its status is one of ``statuses``."""

    def probe() -> dict[str, Any] | None:
        job = get_job(head, submission_id)
        return job if job["status"] in statuses else None

    return wait_for(probe, timeout, f"job {submission_id} to reach {sorted(statuses)}")


def stop_job(head: RayHead, submission_id: str) -> None:
    answer = ray_call(head, "POST", job_path(submission_id, "/stop"))
    assert answer.status == 200, f"stop {submission_id}: {answer}"
