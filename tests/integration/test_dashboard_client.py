"""The operator's async dashboard client against a real Ray 2.60 head."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rayjob_devenv.rayhead import RayHead, free_port_block
from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.client import DashboardClient, SubmitOutcome
from rayjob_operator.dashboard.models import JobInfo, JobStatus, SubmitRequest
from tests.integration.fixtures_ray import AWKWARD

TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}


@pytest.fixture
async def client() -> AsyncIterator[DashboardClient]:
    async with DashboardClient(timeout=10) as dashboard:
        yield dashboard


async def wait_for_job(
    client: DashboardClient, address: str, job_id: str, statuses: set[JobStatus], timeout: float = 30
) -> JobInfo:
    """Poll the job until its status is in ``statuses``; fails naming the job, the wanted and last status."""
    deadline = time.monotonic() + timeout
    while True:
        info = await client.get_job_info(address, job_id)
        if info.status in statuses:
            return info
        if time.monotonic() >= deadline:
            raise AssertionError(f"job {job_id} did not reach {sorted(statuses)} in {timeout}s (is {info.status})")
        await asyncio.sleep(0.2)


async def stop_is_refused(client: DashboardClient, address: str, job_id: str, timeout: float = 30) -> None:
    """Ray answers a stop of an ended job with false once the job's supervisor actor is gone; on a busy machine
    the actor outlives the STOPPED status a moment, and a stop meanwhile still says true (and changes nothing)."""
    deadline = time.monotonic() + timeout
    while await client.stop(address, job_id):
        if time.monotonic() >= deadline:
            raise AssertionError(f"a stop of the ended job {job_id} was still answered true after {timeout}s")
        await asyncio.sleep(0.2)


async def test_version(client: DashboardClient, ray_head: RayHead) -> None:
    version = await client.get_version(ray_head.url)

    assert version.ray_version == "2.60.0"
    assert version.session_name.startswith("session_")


async def test_success_with_logs(client: DashboardClient, ray_head: RayHead, submission_id: str) -> None:
    request = SubmitRequest(submission_id, "echo hello from the client")

    assert await client.submit(ray_head.address, request) is SubmitOutcome.CREATED
    info = await wait_for_job(client, ray_head.address, submission_id, TERMINAL)

    assert info.status is JobStatus.SUCCEEDED
    assert info.driver_exit_code == 0
    assert info.entrypoint == "echo hello from the client"
    assert isinstance(info.start_time, int)
    assert isinstance(info.end_time, int)
    assert info.end_time >= info.start_time
    assert "hello from the client" in await client.get_logs(ray_head.address, submission_id)
    assert submission_id in {job.submission_id for job in await client.list_jobs(ray_head.address)}


@pytest.mark.parametrize(("entrypoint", "exit_code"), [("exit 3", 3), ("definitely_not_a_command_xyz", 127)])
async def test_failure_reports_the_driver_exit_code(
    client: DashboardClient, ray_head: RayHead, submission_id: str, entrypoint: str, exit_code: int
) -> None:
    await client.submit(ray_head.address, SubmitRequest(submission_id, entrypoint))
    info = await wait_for_job(client, ray_head.address, submission_id, TERMINAL)

    assert info.status is JobStatus.FAILED
    assert info.error_type == "JOB_ENTRYPOINT_COMMAND_ERROR"
    assert info.driver_exit_code == exit_code
    assert info.message
    assert f"exit code {exit_code}" in info.message


async def test_stop_and_delete(client: DashboardClient, ray_head: RayHead, submission_id: str) -> None:
    await client.submit(ray_head.address, SubmitRequest(submission_id, "echo sleeping; sleep 120"))
    await wait_for_job(client, ray_head.address, submission_id, {JobStatus.RUNNING})

    with pytest.raises(errors.DashboardRejected, match="non-terminal"):
        await client.delete(ray_head.address, submission_id)
    assert await client.stop(ray_head.address, submission_id) is True
    info = await wait_for_job(client, ray_head.address, submission_id, TERMINAL)
    assert info.status is JobStatus.STOPPED
    assert info.driver_exit_code is None
    await stop_is_refused(client, ray_head.address, submission_id)
    assert (await client.get_job_info(ray_head.address, submission_id)).status is JobStatus.STOPPED

    assert await client.delete(ray_head.address, submission_id) is True
    with pytest.raises(errors.JobNotFound):
        await client.get_job_info(ray_head.address, submission_id)


async def test_submitting_twice_runs_once(
    client: DashboardClient, ray_head: RayHead, submission_id: str, tmp_path: Path
) -> None:
    marker = tmp_path / "runs.txt"
    request = SubmitRequest(submission_id, f"echo ran >> {marker}")

    outcomes = await asyncio.gather(*(client.submit(ray_head.address, request) for _ in range(3)))
    later = await client.submit(ray_head.address, request)
    await wait_for_job(client, ray_head.address, submission_id, TERMINAL)

    assert sorted(outcomes) == [SubmitOutcome.ATTACHED, SubmitOutcome.ATTACHED, SubmitOutcome.CREATED]
    assert later is SubmitOutcome.ATTACHED
    assert marker.read_text().splitlines() == ["ran"]


async def test_a_used_id_with_another_entrypoint_conflicts(
    client: DashboardClient, ray_head: RayHead, submission_id: str
) -> None:
    await client.submit(ray_head.address, SubmitRequest(submission_id, "echo first"))

    with pytest.raises(errors.SubmissionIdConflict) as caught:
        await client.submit(ray_head.address, SubmitRequest(submission_id, "echo second"))
    assert caught.value.existing_entrypoint == "echo first"


async def test_runtime_env_metadata_and_awkward_entrypoint_round_trip(
    client: DashboardClient, ray_head: RayHead, submission_id: str
) -> None:
    request = SubmitRequest(
        submission_id,
        AWKWARD,
        runtime_env={"env_vars": {"FOO": "bar baz"}},
        metadata={"owner": "alice", "k": "v w"},
    )
    await client.submit(ray_head.address, request)
    info = await wait_for_job(client, ray_head.address, submission_id, TERMINAL)

    assert info.status is JobStatus.SUCCEEDED
    assert info.entrypoint == AWKWARD
    assert info.runtime_env == {"env_vars": {"FOO": "bar baz"}}
    assert info.metadata == {"owner": "alice", "k": "v w"}


async def test_infeasible_job_stays_pending_and_stop_does_nothing(
    client: DashboardClient, ray_head: RayHead, submission_id: str
) -> None:
    request = SubmitRequest(submission_id, "echo never", entrypoint_num_cpus=64)
    await client.submit(ray_head.address, request)
    await client.stop(ray_head.address, submission_id)  # answered, but without effect

    info = await client.get_job_info(ray_head.address, submission_id)
    assert info.status is JobStatus.PENDING
    assert info.message
    assert "waiting for resources" in info.message


async def test_unknown_job(client: DashboardClient, ray_head: RayHead) -> None:
    for call in (client.get_job_info, client.get_logs, client.stop, client.delete):
        with pytest.raises(errors.JobNotFound, match="no-such-job"):
            await call(ray_head.address, "no-such-job")


async def test_invalid_id_is_refused_before_sending(client: DashboardClient, ray_head: RayHead) -> None:
    with pytest.raises(errors.InvalidSubmission, match="can never be stopped"):
        await client.submit(ray_head.address, SubmitRequest("a b/c", "echo x"))

    assert all(job.submission_id != "a b/c" for job in await client.list_jobs(ray_head.address))


async def test_refused_connection_is_unreachable(submission_id: str) -> None:
    (port,) = free_port_block(1)
    async with DashboardClient(timeout=2) as client:
        with pytest.raises(errors.DashboardUnreachable, match=f"127.0.0.1:{port}"):
            await client.get_job_info(f"127.0.0.1:{port}", submission_id)
        with pytest.raises(errors.DashboardUnreachable):
            await client.submit(f"http://127.0.0.1:{port}/", SubmitRequest(submission_id, "echo x"))


async def test_silent_server_times_out(submission_id: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        async with DashboardClient(timeout=0.5) as client:
            with pytest.raises(errors.DashboardUnreachable, match="timed out"):
                # the silent server would hold the request forever: ending at all is the client's timeout
                await asyncio.wait_for(client.get_job_info(address, submission_id), timeout=60)
