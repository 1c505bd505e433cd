"""``python -m rayjob_submitter`` against a real Ray 2.60 head: outcomes, exit codes, idempotency."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from rayjob_devenv.rayhead import RayHead
from rayjob_submitter.contract import ExitCode
from tests.integration.fixtures_ray import (
    AWKWARD,
    finish,
    get_job,
    raced_then_retried,
    ray_call,
    run_submitter,
    start_submitter,
    stopped_while_running,
    submitter_env,
    wait_for_status,
)

PY = sys.executable


def python_entrypoint(code: str) -> str:
    """``<python> -c '<code>'`` for /bin/sh (the code must not contain single quotes)."""
    assert "'" not in code
    return f"{PY} -c '{code}'"


def test_success_prints_the_logs_and_exits_0(ray_head: RayHead, submission_id: str) -> None:
    entrypoint = python_entrypoint('print("hello from the job")')
    result = run_submitter(submitter_env(ray_head.address, submission_id), ["--", entrypoint])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "hello from the job" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert f"job {submission_id!r} SUCCEEDED" in last
    assert "driver exit code 0" in last


def test_failure_exits_1_and_shows_the_driver_exit_code(ray_head: RayHead, submission_id: str) -> None:
    entrypoint = "echo about to fail; exit 3"
    result = run_submitter(submitter_env(ray_head.address, submission_id, {"RAY_JOB_ENTRYPOINT": entrypoint}))

    assert result.returncode == ExitCode.JOB_FAILED, result
    assert "about to fail" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert "FAILED" in last
    assert "driver exit code 3" in last
    assert "JOB_ENTRYPOINT_COMMAND_ERROR" in last


def test_missing_command_reports_127(ray_head: RayHead, submission_id: str) -> None:
    result = run_submitter(submitter_env(ray_head.address, submission_id), ["--", "/no/such/binary --flag"])

    assert result.returncode == ExitCode.JOB_FAILED, result
    assert "driver exit code 127" in result.stdout.strip().splitlines()[-1]
    assert get_job(ray_head, submission_id)["driver_exit_code"] == 127


def test_stopped_job_exits_3(ray_head: RayHead, submission_id: str) -> None:
    entrypoint = python_entrypoint('import time; print("sleeping", flush=True); time.sleep(120)')
    process = start_submitter(submitter_env(ray_head.address, submission_id), ["--", entrypoint])
    code, out, err = stopped_while_running(ray_head, submission_id, process)

    assert code == ExitCode.JOB_STOPPED, (out, err)
    assert f"job {submission_id!r} STOPPED" in out.strip().splitlines()[-1]


def test_same_id_twice_runs_the_job_once(ray_head: RayHead, submission_id: str, tmp_path: Path) -> None:
    marker = tmp_path / "runs.txt"
    entrypoint = f"echo ran >> {marker}; sleep 1"
    env = submitter_env(ray_head.address, submission_id, {"RAY_JOB_ENTRYPOINT": entrypoint})

    outcomes, again = raced_then_retried(env)

    for code, out, err in outcomes:
        assert code == ExitCode.SUCCEEDED, (out, err)
    assert again.returncode == ExitCode.SUCCEEDED, again
    assert "attaching to it" in again.stderr
    assert marker.read_text().splitlines() == ["ran"]


def test_interrupted_submitter_leaves_the_job_running_and_a_new_one_attaches(
    ray_head: RayHead, submission_id: str, tmp_path: Path
) -> None:
    marker = tmp_path / "runs.txt"
    entrypoint = f"echo ran >> {marker}; sleep 3; echo done"
    env = submitter_env(ray_head.address, submission_id, {"RAY_JOB_ENTRYPOINT": entrypoint})
    first = start_submitter(env)
    wait_for_status(ray_head, submission_id, {"RUNNING"})
    first.send_signal(signal.SIGTERM)
    _, err = finish(first, "after SIGTERM", timeout=5)

    assert first.returncode == 128 + signal.SIGTERM, err
    assert "the Ray job keeps running" in err
    assert get_job(ray_head, submission_id)["status"] in {"RUNNING", "SUCCEEDED"}  # not stopped
    second = run_submitter(env)
    assert second.returncode == ExitCode.SUCCEEDED, second
    assert "done" in second.stdout
    assert marker.read_text().splitlines() == ["ran"]


def test_different_entrypoint_under_a_used_id_exits_5(ray_head: RayHead, submission_id: str) -> None:
    env = submitter_env(ray_head.address, submission_id)
    assert run_submitter(env, ["--", "echo first"]).returncode == ExitCode.SUCCEEDED

    result = run_submitter(env, ["--", "echo second"])

    assert result.returncode == ExitCode.REJECTED, result
    assert "already used by a different entrypoint" in result.stderr


def test_runtime_env_and_metadata_round_trip(ray_head: RayHead, submission_id: str) -> None:
    runtime_env = {"env_vars": {"GREETING": "hi there"}}
    metadata = {"owner": "alice", "purpose": "round trip"}
    args = ["--runtime-env-json", json.dumps(runtime_env), "--metadata-json", json.dumps(metadata)]
    result = run_submitter(submitter_env(ray_head.address, submission_id), [*args, "--", 'echo "G=$GREETING"'])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "G=hi there" in result.stdout
    job = get_job(ray_head, submission_id)
    assert job["runtime_env"] == runtime_env
    assert job["metadata"] == metadata


def test_runtime_env_as_yaml_in_env(ray_head: RayHead, submission_id: str) -> None:
    extra = {"RAY_JOB_RUNTIME_ENV": "env_vars:\n  COLOUR: blue\n", "RAY_JOB_ENTRYPOINT": 'echo "C=$COLOUR"'}
    result = run_submitter(submitter_env(ray_head.address, submission_id, extra))

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert "C=blue" in result.stdout
    assert get_job(ray_head, submission_id)["runtime_env"] == {"env_vars": {"COLOUR": "blue"}}


def test_awkward_entrypoint_reaches_ray_byte_for_byte_from_env(ray_head: RayHead, submission_id: str) -> None:
    result = run_submitter(submitter_env(ray_head.address, submission_id, {"RAY_JOB_ENTRYPOINT": AWKWARD}))

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert get_job(ray_head, submission_id)["entrypoint"] == AWKWARD
    assert "single $HOME" in result.stdout  # Ray's shell honours the quotes
    assert "back" in result.stdout
    assert "second line" in result.stdout


def test_awkward_entrypoint_reaches_ray_byte_for_byte_from_argv(ray_head: RayHead, submission_id: str) -> None:
    result = run_submitter(submitter_env(ray_head.address, submission_id), ["--", AWKWARD])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert get_job(ray_head, submission_id)["entrypoint"] == AWKWARD


def test_argv_words_are_joined_with_single_spaces(ray_head: RayHead, submission_id: str) -> None:
    result = run_submitter(submitter_env(ray_head.address, submission_id), ["--", "echo", "a  b", "c"])

    assert result.returncode == ExitCode.SUCCEEDED, result
    assert get_job(ray_head, submission_id)["entrypoint"] == "echo a  b c"


def test_infeasible_resources_stay_pending_then_fail_with_the_start_timeout(
    quick_start_timeout_head: RayHead, submission_id: str
) -> None:
    env = submitter_env(quick_start_timeout_head.address, submission_id)
    result = run_submitter(env, ["--entrypoint-num-cpus", "64.000000", "--", "echo never"])

    assert result.returncode == ExitCode.JOB_FAILED, result
    assert f"job {submission_id!r} is PENDING" in result.stderr
    assert "still PENDING" in result.stderr  # it keeps saying that it waits
    assert "JOB_SUPERVISOR_ACTOR_START_TIMEOUT" in result.stdout.strip().splitlines()[-1]


def test_invalid_submission_id_is_refused_before_sending(ray_head: RayHead) -> None:
    result = run_submitter(submitter_env(ray_head.address, "a/b"), ["--", "echo x"])

    assert result.returncode == ExitCode.INVALID_INPUT, result
    assert "[A-Za-z0-9._:@-]" in result.stderr
    jobs = ray_call(ray_head, "GET", "/api/jobs/").body
    assert all(job["submission_id"] != "a/b" for job in jobs)
