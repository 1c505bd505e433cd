"""The load-generator dashboard's state machine (pure) and its HTTP handler, called in-process (no socket)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from rayjob_devenv.loadgen_dashboard import CLIENT_HEADER, make_app, parse_args
from rayjob_devenv.loadgen_model import ChaosConfig, Fault, Kind, LoadgenState, classify

T0 = 1_800_000_000.0
BODY = {"entrypoint": "python -c pass", "submission_id": "job-1"}


def submit(state: LoadgenState, now: float = T0, body: dict[str, Any] | None = None, client: str = "operator") -> Any:
    return state.handle("POST", "/api/jobs/", body or BODY, client=client, now=now)


@pytest.mark.parametrize(
    ("method", "path", "kind", "job_id"),
    [
        ("POST", "/api/jobs/", Kind.SUBMIT, None),
        ("GET", "/api/jobs/", Kind.LIST, None),
        ("GET", "/api/jobs/job-1", Kind.STATUS, "job-1"),
        ("GET", "/api/jobs/a%2Fb", Kind.STATUS, "a/b"),
        ("GET", "/api/jobs/job-1/logs", Kind.LOGS, "job-1"),
        ("POST", "/api/jobs/job-1/stop", Kind.STOP, "job-1"),
        ("DELETE", "/api/jobs/job-1", Kind.DELETE, "job-1"),
        ("GET", "/api/version", Kind.VERSION, None),
        ("GET", "/api/jobs", Kind.OTHER, None),
        ("PUT", "/api/jobs/job-1", Kind.OTHER, None),
        ("GET", "/api/jobs/job-1/logs/tail", Kind.OTHER, None),
    ],
)
def test_requests_are_classified_like_the_ray_jobs_api(method: str, path: str, kind: Kind, job_id: str | None) -> None:
    assert classify(method, path) == (kind, job_id)


def test_a_job_runs_at_once_and_succeeds_after_its_duration() -> None:
    state = LoadgenState(duration=5.0)
    answer = submit(state)
    assert (answer.status, answer.body) == (200, {"job_id": "job-1", "submission_id": "job-1"})
    running = state.handle("GET", "/api/jobs/job-1", None, client="operator", now=T0 + 4.999).body
    assert (running["status"], running["end_time"], running["start_time"]) == ("RUNNING", None, int(T0 * 1000))
    done = state.handle("GET", "/api/jobs/job-1", None, client="operator", now=T0 + 5.0).body
    assert (done["status"], done["end_time"], done["driver_exit_code"]) == ("SUCCEEDED", int((T0 + 5) * 1000), 0)
    assert done["message"] == "Job finished successfully."


def test_an_unknown_id_is_a_404_counted_for_that_id() -> None:
    state = LoadgenState()
    answer = state.handle("GET", "/api/jobs/job-1", None, client="operator", now=T0)
    assert (answer.status, answer.body) == (404, "Job job-1 does not exist")
    submit(state, now=T0 + 1)
    stats = state.stats()
    assert stats["not_found"] == 1
    assert stats["jobs"]["job-1"]["not_found"] == 1
    assert stats["jobs"]["job-1"]["status"] == 1
    assert stats["jobs"]["job-1"]["submitted_at"] == T0 + 1


def test_a_duplicate_submission_is_a_500_already_exists_and_is_counted() -> None:
    state = LoadgenState()
    submit(state)
    again = submit(state, now=T0 + 0.2)
    assert again.status == 500
    assert "already exists. Please use a different submission_id" in again.body
    assert state.stats()["jobs"]["job-1"]["submissions"] == 2
    assert state.jobs["job-1"].submitted_at == T0  # the first submission stands


def test_a_submission_needs_an_id_and_an_entrypoint() -> None:
    state = LoadgenState()
    assert submit(state, body={"entrypoint": "x"}).status == 400
    assert submit(state, body={"submission_id": "job-2"}).status == 400
    assert state.jobs == {}


def test_stop_ends_a_running_job_as_stopped_and_delete_needs_a_terminal_job() -> None:
    state = LoadgenState(duration=60)
    submit(state)
    refused = state.handle("DELETE", "/api/jobs/job-1", None, client="operator", now=T0 + 1)
    assert refused.status == 500
    stop = state.handle("POST", "/api/jobs/job-1/stop", None, client="operator", now=T0 + 2)
    assert stop.body == {"stopped": True}
    info = state.handle("GET", "/api/jobs/job-1", None, client="operator", now=T0 + 3).body
    assert (info["status"], info["end_time"]) == ("STOPPED", int((T0 + 2) * 1000))
    assert state.handle("POST", "/api/jobs/job-1/stop", None, client="operator", now=T0 + 4).body == {"stopped": False}
    assert state.handle("DELETE", "/api/jobs/job-1", None, client="operator", now=T0 + 5).body == {"deleted": True}


def test_counts_by_kind_and_by_client() -> None:
    state = LoadgenState()
    submit(state, client="submitter")
    state.handle("GET", "/api/jobs/job-1", None, client="operator", now=T0)
    state.handle("GET", "/api/jobs/job-1/logs", None, client="operator", now=T0)
    state.handle("GET", "/api/version", None, client="operator", now=T0)
    stats = state.stats()
    assert stats["by_kind"] == {"submit": 1, "status": 1, "logs": 1, "version": 1}
    assert stats["by_client"] == {"submitter": 1, "operator": 3}
    assert stats["jobs"]["job-1"]["by_client"] == {"submitter": 1, "operator": 2}
    assert stats["jobs"]["job-1"]["submitted_by"] == "submitter"


def test_chaos_shares_split_the_unit_interval() -> None:
    chaos = ChaosConfig(error_rate=0.1, timeout_rate=0.2, reset_rate=0.3)
    assert chaos.fault_for(Kind.STATUS, 0.05) is Fault.ERROR
    assert chaos.fault_for(Kind.STATUS, 0.15) is Fault.TIMEOUT
    assert chaos.fault_for(Kind.STATUS, 0.45) is Fault.RESET
    assert chaos.fault_for(Kind.STATUS, 0.65) is None
    assert chaos.fault_for(Kind.VERSION, 0.0) is None  # only the configured kinds


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_rate": 1.5}, "error_rate=1.5: must be between 0 and 1"),
        ({"error_rate": 0.6, "reset_rate": 0.6}, "must not exceed 1"),
        ({"timeout_seconds": 0}, "timeout_seconds=0: must be > 0"),
    ],
)
def test_bad_chaos_settings_name_the_field(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChaosConfig(**kwargs)


def test_an_injected_error_has_no_effect_but_a_reset_submission_does() -> None:
    state = LoadgenState(chaos=ChaosConfig(error_rate=0.5, reset_rate=0.5))
    failed = state.handle("POST", "/api/jobs/", BODY, client="operator", now=T0, roll=0.1)
    assert (failed.status, failed.fault) == (500, Fault.ERROR)
    assert "job-1" not in state.jobs
    reset = state.handle("POST", "/api/jobs/", BODY, client="operator", now=T0, roll=0.9)
    assert reset.fault is Fault.RESET
    assert "job-1" in state.jobs  # Ray got it; only the answer was lost
    assert state.stats()["faults"] == {"error": 1, "reset": 1}
    assert state.stats()["jobs"]["job-1"]["faults"] == 2


async def call(app: web.Application, method: str, path: str, headers: dict[str, str] | None = None) -> web.Response:
    """Run the app's handler on a mocked request (no socket is bound)."""
    request = make_mocked_request(method, path, headers=headers or {}, app=app)
    match = await app.router.resolve(request)
    response = await match.handler(request)
    assert isinstance(response, web.Response)
    return response


async def test_the_handler_answers_absolute_form_proxy_requests_and_control_paths() -> None:
    state = LoadgenState()
    submit(state, now=T0)
    app = make_app(state, roll=lambda: 1.0, clock=lambda: T0 + 10)
    url = "http://bench-1-head-svc.bench-1.svc.cluster.local:8265/api/jobs/job-1"
    status = await call(app, "GET", url, headers={CLIENT_HEADER: "operator"})
    assert status.status == 200
    assert status.text is not None
    assert json.loads(status.text)["status"] == "SUCCEEDED"
    stats = await call(app, "GET", "/_loadgen/stats")
    assert stats.text is not None
    assert json.loads(stats.text)["by_kind"] == {"submit": 1, "status": 1}  # control paths are not counted
    missing = await call(app, "GET", "http://x:8265/api/jobs/nope")
    assert (missing.status, missing.content_type) == (404, "text/plain")


def test_command_line_defaults() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.duration, args.error_rate) == ("127.0.0.1", 0, 5.0, 0.0)
