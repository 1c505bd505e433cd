"""Token authentication (RAY_AUTH_MODE=token) for the submitter CLI and the operator's async client.

Both live in this module so that the token-auth head (module-scoped) starts once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rayjob_devenv.rayhead import RayHead
from rayjob_operator.dashboard.client import DashboardClient
from rayjob_operator.dashboard.errors import DashboardAuthError
from rayjob_operator.dashboard.models import JobStatus, SubmitRequest
from rayjob_submitter.contract import ExitCode
from tests.integration.fixtures_ray import run_submitter, submitter_env


def test_submitter_without_token_gets_a_clear_401_error(ray_auth_head: RayHead, submission_id: str) -> None:
    result = run_submitter(submitter_env(ray_auth_head.address, submission_id), ["--", "echo x"])

    assert result.returncode == ExitCode.REJECTED, result
    last = result.stderr.strip().splitlines()[-1]
    assert "the dashboard requires a token: set RAY_AUTH_TOKEN" in last
    assert "401" in last


def test_submitter_with_a_wrong_token_gets_a_clear_403_error(ray_auth_head: RayHead, submission_id: str) -> None:
    env = submitter_env(ray_auth_head.address, submission_id, {"RAY_AUTH_TOKEN": "deadbeef"})
    result = run_submitter(env, ["--", "echo x"])

    assert result.returncode == ExitCode.REJECTED, result
    last = result.stderr.strip().splitlines()[-1]
    assert "the dashboard rejected the token" in last
    assert "403" in last


def test_submitter_with_the_token_in_env_works(ray_auth_head: RayHead, submission_id: str) -> None:
    assert ray_auth_head.token
    env = submitter_env(ray_auth_head.address, submission_id, {"RAY_AUTH_TOKEN": ray_auth_head.token})
    result = run_submitter(env, ["--", "echo authenticated"])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "authenticated" in result.stdout


def test_submitter_with_the_token_in_a_file_works(ray_auth_head: RayHead, submission_id: str, tmp_path: Path) -> None:
    assert ray_auth_head.token
    token_file = tmp_path / "token"
    token_file.write_text(ray_auth_head.token + "\n")
    env = submitter_env(ray_auth_head.address, submission_id, {"RAY_AUTH_TOKEN_PATH": str(token_file)})
    result = run_submitter(env, ["--", "echo from file"])

    assert result.returncode == ExitCode.SUCCEEDED, result


async def test_client_without_token_raises_401(ray_auth_head: RayHead, submission_id: str) -> None:
    async with DashboardClient() as client:
        with pytest.raises(DashboardAuthError, match="requires a token") as caught:
            await client.submit(ray_auth_head.address, SubmitRequest(submission_id, "echo x"))
    assert caught.value.status == 401


async def test_client_with_a_wrong_token_raises_403(ray_auth_head: RayHead, submission_id: str) -> None:
    async with DashboardClient() as client:
        with pytest.raises(DashboardAuthError, match="rejected the token") as caught:
            await client.get_job_info(ray_auth_head.address, submission_id, token="deadbeef")
    assert caught.value.status == 403


async def test_client_with_the_token_works(ray_auth_head: RayHead, submission_id: str) -> None:
    token = ray_auth_head.token
    async with DashboardClient() as client:
        await client.submit(ray_auth_head.address, SubmitRequest(submission_id, "echo ok"), token=token)
        info = await client.get_job_info(ray_auth_head.address, submission_id, token=token)
    assert info.submission_id == submission_id
    assert info.status in set(JobStatus)
