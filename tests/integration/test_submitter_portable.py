"""The portable submitter as a Ray image runs it (``python -c <source>`` with the Ray venv's Python) against a
real Ray 2.60 head: same exit codes as ``rayjob-submit``, exactly-once, the entrypoint byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rayjob_devenv.rayhead import RayHead, find_ray_bin, free_port_block
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.inline import portable_command
from tests.integration.fixtures_ray import (
    AWKWARD,
    get_job,
    raced_then_retried,
    ray_call,
    run_submitter,
    start_submitter,
    stopped_while_running,
    submitter_env,
)


@pytest.fixture(scope="module")
def command() -> list[str]:
    """The container's command as the operator writes it; ``python`` is the Ray venv's (as in a Ray image)."""
    python, flag, source = portable_command()
    assert (python, flag) == ("python", "-c")
    return [str(find_ray_bin() / "python"), flag, source]


def env_with(address: str, submission_id: str, entrypoint: str, **extra: str) -> dict[str, str]:
    return submitter_env(address, submission_id, {"RAY_JOB_ENTRYPOINT": entrypoint, **extra})


def test_success_prints_the_logs_and_a_verdict(ray_head: RayHead, submission_id: str, command: list[str]) -> None:
    result = run_submitter(env_with(ray_head.address, submission_id, "echo hello from the job"), command=command)

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "hello from the job" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert f"job {submission_id!r} SUCCEEDED" in last
    assert "driver exit code 0" in last
    assert f"submitted job {submission_id!r}" in result.stderr


def test_failure_exits_1_with_the_driver_exit_code(ray_head: RayHead, submission_id: str, command: list[str]) -> None:
    result = run_submitter(env_with(ray_head.address, submission_id, "echo about to fail; exit 3"), command=command)

    assert result.returncode == ExitCode.JOB_FAILED, result
    assert "about to fail" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert "FAILED" in last
    assert "driver exit code 3" in last


def test_stopped_job_exits_3(ray_head: RayHead, submission_id: str, command: list[str]) -> None:
    process = start_submitter(env_with(ray_head.address, submission_id, "echo sleeping; sleep 120"), command=command)
    code, out, err = stopped_while_running(ray_head, submission_id, process)

    assert code == ExitCode.JOB_STOPPED, (out, err)
    assert f"job {submission_id!r} STOPPED" in out.strip().splitlines()[-1]


def test_same_id_twice_runs_the_job_once(
    ray_head: RayHead, submission_id: str, command: list[str], tmp_path: Path
) -> None:
    marker = tmp_path / "runs.txt"
    env = env_with(ray_head.address, submission_id, f"echo ran >> {marker}; sleep 1")

    outcomes, again = raced_then_retried(env, command)

    for code, out, err in outcomes:
        assert code == ExitCode.SUCCEEDED, (out, err)
    assert again.returncode == ExitCode.SUCCEEDED, again
    assert "already" in again.stderr
    assert "attaching to it" in again.stderr
    assert marker.read_text().splitlines() == ["ran"]


def test_different_entrypoint_under_a_used_id_exits_5(
    ray_head: RayHead, submission_id: str, command: list[str]
) -> None:
    assert run_submitter(env_with(ray_head.address, submission_id, "echo first"), command=command).returncode == 0

    result = run_submitter(env_with(ray_head.address, submission_id, "echo second"), command=command)

    assert result.returncode == ExitCode.REJECTED, result
    assert "already used by a different entrypoint" in result.stderr


def test_awkward_entrypoint_reaches_ray_byte_for_byte(
    ray_head: RayHead, submission_id: str, command: list[str]
) -> None:
    result = run_submitter(env_with(ray_head.address, submission_id, AWKWARD), command=command)

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert get_job(ray_head, submission_id)["entrypoint"] == AWKWARD
    assert "single $HOME" in result.stdout  # Ray's shell honours the quotes
    assert "second line" in result.stdout


def test_runtime_env_metadata_and_resources_round_trip(
    ray_head: RayHead, submission_id: str, command: list[str]
) -> None:
    runtime_env = {"env_vars": {"GREETING": "hi there"}}
    metadata = {"owner": "alice"}
    env = env_with(
        ray_head.address,
        submission_id,
        'echo "G=$GREETING"',
        RAY_JOB_RUNTIME_ENV=json.dumps(runtime_env),
        RAY_JOB_METADATA=json.dumps(metadata),
        RAY_JOB_ENTRYPOINT_NUM_CPUS="0.5",
    )
    result = run_submitter(env, command=command)

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "G=hi there" in result.stdout
    job = get_job(ray_head, submission_id)
    assert (job["runtime_env"], job["metadata"]) == (runtime_env, metadata)  # and Ray took the 0.5 CPUs


def test_invalid_submission_id_exits_2_before_sending(ray_head: RayHead, command: list[str]) -> None:
    result = run_submitter(env_with(ray_head.address, "a/b", "echo x"), command=command)

    assert result.returncode == ExitCode.INVALID_INPUT, result
    assert "[A-Za-z0-9._:@-]" in result.stderr
    assert all(job["submission_id"] != "a/b" for job in ray_call(ray_head, "GET", "/api/jobs/").body)


def test_dashboard_down_waits_a_bounded_time_then_exits_4(submission_id: str, command: list[str]) -> None:
    (port,) = free_port_block(1)  # nothing listens there
    env = env_with(f"127.0.0.1:{port}", submission_id, "echo never", RAY_JOB_SUBMITTER_WAIT_SECONDS="2")
    result = run_submitter(env, command=command, timeout=30)  # the process itself must end the wait

    assert result.returncode == ExitCode.UNREACHABLE, result
    assert sum("waiting for the Ray dashboard" in line for line in result.stderr.splitlines()) >= 2
    assert "did not answer within 2s" in result.stderr.strip().splitlines()[-1]
