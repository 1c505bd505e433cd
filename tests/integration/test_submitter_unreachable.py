"""The submitter when the dashboard is missing, or dies while a job runs: bounded waits, exit 4."""

from __future__ import annotations

from rayjob_devenv.proxy import TcpRelay
from rayjob_devenv.rayhead import RayHead, free_port_block
from rayjob_submitter.contract import ExitCode
from tests.integration.fixtures_ray import (
    finish,
    run_submitter,
    start_submitter,
    stop_job,
    submitter_env,
    wait_for_status,
)


def test_dashboard_down_waits_a_bounded_time_then_exits_4(submission_id: str) -> None:
    (port,) = free_port_block(1)  # nothing listens there
    env = submitter_env(f"127.0.0.1:{port}", submission_id, {"RAY_JOB_SUBMITTER_WAIT_SECONDS": "2"})
    # The default bound is 600 s: an exit before this run's 120 s deadline shows the 2 s one was applied.
    result = run_submitter(env, ["--", "echo never"], timeout=120)

    assert result.returncode == ExitCode.UNREACHABLE, result
    waiting = [line for line in result.stderr.splitlines() if "waiting for the Ray dashboard" in line]
    assert len(waiting) >= 2, result.stderr  # one line per attempt
    assert "connection refused" in waiting[0]
    last = result.stderr.strip().splitlines()[-1]
    assert f"http://127.0.0.1:{port}" in last
    assert "did not answer within 2s" in last
    assert "connection refused" in last


def test_dashboard_dying_mid_job_gives_up_after_the_grace_period(ray_head: RayHead, submission_id: str) -> None:
    relay = TcpRelay(("127.0.0.1", ray_head.dashboard_port))
    env = submitter_env(relay.address, submission_id, {"RAY_JOB_SUBMITTER_GRACE_SECONDS": "3"})
    process = start_submitter(env, ["--", "echo started; sleep 60"])
    try:
        wait_for_status(ray_head, submission_id, {"RUNNING"})
        relay.cut()
        # The default grace is 60 s; giving up before this 45 s deadline shows the 3 s one was applied.
        out, err = finish(process, "after the dashboard went away", timeout=45)
    finally:
        relay.cut()
        process.kill()
        process.wait()
        stop_job(ray_head, submission_id)

    assert process.returncode == ExitCode.UNREACHABLE, (out, err)
    assert "cannot check job" in err  # it logs while it retries
    assert "lost the Ray dashboard" in err.strip().splitlines()[-1]
