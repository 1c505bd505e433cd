"""The operator's dashboard client: parsing Ray's JSON and translating its errors (pure)."""

from __future__ import annotations

import math

import pytest

from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.client import ProxyTable, RawAnswer, base_url, job_path, no_proxy_matches, translate
from rayjob_operator.dashboard.models import DashboardVersion, JobInfo, JobStatus, MalformedAnswer, SubmitRequest

FAILED_127 = {
    "type": "SUBMISSION",
    "job_id": None,
    "submission_id": "tr-noexe",
    "driver_info": None,
    "status": "FAILED",
    "entrypoint": "/no/such/binary --flag",
    "message": "Job entrypoint command failed with exit code 127, last available logs ...",
    "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR",
    "start_time": 1795457576602,
    "end_time": 1795457578039,
    "metadata": {"owner": "alice"},
    "runtime_env": None,
    "driver_agent_http_address": "http://192.0.2.2:52365",
    "driver_node_id": "e7cc",
    "driver_exit_code": 127,
}


def test_job_info_from_ray_json() -> None:
    info = JobInfo.from_json(FAILED_127)

    assert info.status is JobStatus.FAILED
    assert info.is_terminal
    assert info.driver_exit_code == 127
    assert (info.start_time, info.end_time) == (1795457576602, 1795457578039)
    assert info.metadata == {"owner": "alice"}
    assert info.runtime_env == {}
    assert info.submission_id == "tr-noexe"
    assert info.ray_job_id is None
    assert info.job_type == "SUBMISSION"


def test_pending_job_has_no_times_or_exit_code() -> None:
    info = JobInfo.from_json({**FAILED_127, "status": "PENDING", "end_time": None, "driver_exit_code": None})
    assert info.status is JobStatus.PENDING
    assert not info.is_terminal
    assert (info.end_time, info.driver_exit_code) == (None, None)


@pytest.mark.parametrize("data", [[], {"status": "EXPLODED"}, {"entrypoint": "x"}])
def test_malformed_job_info(data: object) -> None:
    with pytest.raises(MalformedAnswer):
        JobInfo.from_json(data)


def test_version() -> None:
    version = DashboardVersion.from_json({"version": "4", "ray_version": "2.60.0", "session_name": "session_x"})
    assert (version.api_version, version.ray_version, version.session_name) == ("4", "2.60.0", "session_x")


def test_submit_request_body_omits_empty_fields() -> None:
    assert SubmitRequest("j", "echo 'a' && b").to_json() == {"entrypoint": "echo 'a' && b", "submission_id": "j"}
    full = SubmitRequest(
        "j",
        "x",
        runtime_env={"env_vars": {"A": "1"}},
        metadata={"k": "v"},
        entrypoint_num_cpus=0.5,
        entrypoint_num_gpus=0,
        entrypoint_memory=100,
        entrypoint_resources={"w": 1},
    )
    assert full.to_json() == {
        "entrypoint": "x",
        "submission_id": "j",
        "runtime_env": {"env_vars": {"A": "1"}},
        "metadata": {"k": "v"},
        "entrypoint_num_cpus": 0.5,
        "entrypoint_memory": 100,
        "entrypoint_resources": {"w": 1},
    }


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (SubmitRequest("a/b", "x"), "can never be stopped"),
        (SubmitRequest("x" * 201, "x"), "1-200 characters"),
        (SubmitRequest("j", "  "), "entrypoint is empty"),
        (SubmitRequest("j", "x", entrypoint_num_cpus=-1), ">= 0"),
        (SubmitRequest("j", "x", entrypoint_resources={"w": math.inf}), ">= 0"),
        (SubmitRequest("j", "x", entrypoint_memory=-5), "entrypoint_memory"),
    ],
)
def test_submit_request_problems(request_: SubmitRequest, problem: str) -> None:
    found = request_.problem()
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    ("status", "text", "error", "message"),
    [
        (401, "Unauthorized: Missing authentication token", errors.DashboardAuthError, "requires a token"),
        (403, "Forbidden: Invalid authentication token", errors.DashboardAuthError, "rejected the token"),
        (404, "Job nope does not exist", errors.JobNotFound, "'nope' does not exist"),
        (
            400,
            "Traceback\nTypeError: metadata values must be strings, got <class 'int'>\n",
            errors.DashboardRejected,
            "TypeError: metadata values must be strings",
        ),
        (405, "'POST' method not allowed for browser traffic.", errors.DashboardRejected, "browser traffic"),
        (
            500,
            "Traceback\nRuntimeError: Attempted to delete job 'x', but it is in a non-terminal state RUNNING.\n.",
            errors.DashboardRejected,
            "non-terminal state",
        ),
        (
            500,
            "500 Internal Server Error\n\nServer got itself in trouble",
            errors.DashboardUnreachable,
            "HTTP 500: Server got itself in trouble",
        ),
        (502, "", errors.DashboardUnreachable, "HTTP 502"),
    ],
)
def test_translate(status: int, text: str, error: type[errors.DashboardError], message: str) -> None:
    translated = translate(RawAnswer(status, text), job_id="nope")
    assert type(translated) is error
    assert message in str(translated)


def test_404_without_a_job_is_a_rejection() -> None:
    assert isinstance(translate(RawAnswer(404, "404: Not Found")), errors.DashboardRejected)


def test_addresses_and_paths() -> None:
    assert base_url("head-svc.ns.svc.cluster.local:8265") == "http://head-svc.ns.svc.cluster.local:8265"
    assert base_url("http://h:1/") == "http://h:1"
    assert job_path("a:b@c", "/stop") == "/api/jobs/a%3Ab%40c/stop"
    with pytest.raises(errors.DashboardError):
        base_url(" ")


def test_the_proxy_of_each_dashboard_host_comes_from_http_proxy_and_no_proxy() -> None:

    table = ProxyTable({"http": "http://127.0.0.1:3128", "no": "127.0.0.1,localhost,.internal"})
    assert table.proxy_for("http://c-head-svc.ns.svc.cluster.local:8265") == "http://127.0.0.1:3128"
    assert table.proxy_for("http://127.0.0.1:8265") is None
    assert table.proxy_for("http://ray.corp.internal:8265") is None
    assert table.proxy_for("https://c-head-svc.ns.svc.cluster.local:8265") is None  # no HTTPS_PROXY set
    assert no_proxy_matches("anything", "*")
    assert not no_proxy_matches("notlocalhost", "localhost")
    assert ProxyTable({}).proxy_for("http://c:8265") is None
