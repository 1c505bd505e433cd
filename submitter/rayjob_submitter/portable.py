"""A submitter in one stdlib-only file, for submitter pods whose image has Python but no ``rayjob-submit``.

A submitter pod template without a command (Kueue writes one on admission: the head's Ray image, no
command) gets ``python -c <this file's source>``. It reads the environment of ``rayjob-submit``
(:mod:`rayjob_submitter.contract`) and exits with the same codes, so the Job's ``podFailurePolicy`` keeps
its meaning:

- it waits, bounded, until ``GET /api/version`` answers;
- it submits ``RAY_JOB_ENTRYPOINT`` exactly as written (no shell on this side: Ray runs it with
  ``/bin/sh -c``) under the fixed submission id; when Ray answers that the id exists (HTTP 500 "already
  exists") or the answer is lost, it looks the job up and attaches to it; a different entrypoint under
  the same id exits 5;
- it prints the job's log as it grows, then one verdict line, and exits 0, 1 or 3 for SUCCEEDED, FAILED
  or STOPPED (4: dashboard unreachable, 2: invalid input).

Rules for this file: the standard library only (a YAML runtime env needs PyYAML, which Ray images have),
Python 3.8 syntax, no import from this package. The operator ships its source without docstrings.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

SUCCEEDED, JOB_FAILED, INVALID_INPUT, JOB_STOPPED, UNREACHABLE, REJECTED = 0, 1, 2, 3, 4, 5
EXIT_BY_STATUS = {"SUCCEEDED": SUCCEEDED, "FAILED": JOB_FAILED, "STOPPED": JOB_STOPPED}
ID_PATTERN = re.compile(r"[A-Za-z0-9._:@-]{1,200}")
ALREADY_EXISTS = "already exists"
LOGS_SUFFIX = ", last available logs"
RESTART_NOTICE = "[rayjob-submit: the job's log changed from its start; printing it again]\n"
SUBMIT_ATTEMPTS = 5
JSON_INPUTS = (
    ("RAY_JOB_RUNTIME_ENV", "runtime_env"),
    ("RAY_JOB_METADATA", "metadata"),
    ("RAY_JOB_ENTRYPOINT_RESOURCES", "entrypoint_resources"),
)
NUMBER_INPUTS = (
    ("RAY_JOB_ENTRYPOINT_NUM_CPUS", "entrypoint_num_cpus", float),
    ("RAY_JOB_ENTRYPOINT_NUM_GPUS", "entrypoint_num_gpus", float),
    ("RAY_JOB_ENTRYPOINT_MEMORY", "entrypoint_memory", int),
)
SETTINGS = (
    ("RAY_JOB_SUBMITTER_WAIT_SECONDS", "wait", 600.0),
    ("RAY_JOB_SUBMITTER_GRACE_SECONDS", "grace", 60.0),
    ("RAY_JOB_SUBMITTER_POLL_SECONDS", "poll", 1.0),
    ("RAY_JOB_SUBMITTER_HTTP_TIMEOUT", "http_timeout", 10.0),
)


class Exit(Exception):
    """Ends the submitter with ``code`` after printing ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Lost(Exception):
    """The dashboard could not be reached, or the exchange broke off."""


def say(message: str) -> None:
    sys.stderr.write("rayjob-submit: " + message + "\n")
    sys.stderr.flush()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip().strip(".")]
    return lines[-1] if lines else ""


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# --- inputs ------------------------------------------------------------------------------------------------


def json_object(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = yaml_value(name, text)
    if not isinstance(value, dict):
        raise Exit(INVALID_INPUT, f"{name} must be a JSON object, got {text[:80]!r}")
    return value


def yaml_value(name: str, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise Exit(INVALID_INPUT, f"{name} is not JSON, and PyYAML is missing to read it as YAML") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise Exit(INVALID_INPUT, f"{name} is neither JSON nor YAML: {first_line(str(error))}") from None


def number(name: str, text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise Exit(INVALID_INPUT, f"{name} must be a number, got {text!r}") from None
    if not value >= 0:
        raise Exit(INVALID_INPUT, f"{name} must be 0 or greater, got {text!r}")
    return float(value) if kind is float else int(value)


def request_body(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /api/jobs/`` body; empty optional inputs are left out (as rayjob-submit does)."""
    submission_id = env.get("RAY_JOB_SUBMISSION_ID", "")
    if not ID_PATTERN.fullmatch(submission_id):
        raise Exit(
            INVALID_INPUT,
            f"invalid submission id {submission_id!r} (RAY_JOB_SUBMISSION_ID): it must be 1-200 characters "
            "from [A-Za-z0-9._:@-]",
        )
    entrypoint = env.get("RAY_JOB_ENTRYPOINT", "")
    if not entrypoint.strip():
        raise Exit(INVALID_INPUT, "RAY_JOB_ENTRYPOINT is empty: it must hold the command Ray runs")
    body: dict[str, Any] = {"entrypoint": entrypoint, "submission_id": submission_id}
    for name, key in JSON_INPUTS:
        if env.get(name, "").strip():
            value = json_object(name, env[name])
            if value:
                body[key] = value
    for name, key, kind in NUMBER_INPUTS:
        if env.get(name, "").strip():
            amount = number(name, env[name].strip(), kind)
            if amount:
                body[key] = amount
    return body


def settings(env: Mapping[str, str]) -> dict[str, float]:
    out = {}
    for name, key, default in SETTINGS:
        text = env.get(name, "").strip()
        out[key] = number(name, text, float) if text else default
    return out


def token(env: Mapping[str, str]) -> str:
    if env.get("RAY_AUTH_TOKEN"):
        return env["RAY_AUTH_TOKEN"].strip()
    path = env.get("RAY_AUTH_TOKEN_PATH", "")
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:
        raise Exit(INVALID_INPUT, f"cannot read the token file {path} (RAY_AUTH_TOKEN_PATH): {error}") from None


# --- the dashboard -----------------------------------------------------------------------------------------


class Dashboard:
    """The Ray Jobs REST API over urllib (which honours HTTP_PROXY and NO_PROXY)."""

    def __init__(self, address: str, auth_token: str, timeout: float) -> None:
        address = address.strip().rstrip("/")
        if not address:
            raise Exit(INVALID_INPUT, "RAY_DASHBOARD_ADDRESS is empty: it must be host:port or http://host:port")
        self.base = address if "://" in address else "http://" + address
        self.timeout = timeout
        self.headers = {"User-Agent": "rayjob-submit-portable/1", "Accept": "application/json"}
        if auth_token:
            self.headers["Authorization"] = "Bearer " + auth_token
        self.opener = urllib.request.build_opener()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as reply:
                return reply.status, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise Lost(f"{self.base}: {getattr(error, 'reason', None) or error}") from None

    def job(self, submission_id: str) -> tuple[int, str]:
        return self.call("GET", "/api/jobs/" + urllib.parse.quote(submission_id, safe=""))

    def logs(self, submission_id: str) -> str:
        status, text = self.call("GET", "/api/jobs/" + urllib.parse.quote(submission_id, safe="") + "/logs")
        if status != 200:
            return ""
        try:
            logs = json.loads(text).get("logs")
        except (ValueError, AttributeError):
            return ""
        return logs if isinstance(logs, str) else ""


def refused(status: int, text: str, what: str) -> Exit:
    if status == 401:
        return Exit(REJECTED, f"the dashboard requires a token: set RAY_AUTH_TOKEN (HTTP 401: {last_line(text)})")
    if status == 403:
        return Exit(REJECTED, f"the dashboard rejected the token (HTTP 403: {last_line(text)})")
    return Exit(REJECTED, f"the dashboard rejected {what} (HTTP {status}): {last_line(text)}")


def is_refusal(status: int) -> bool:
    return 400 <= status < 500 and status != 404


def wait_for_dashboard(api: Dashboard, wait: float) -> None:
    deadline = time.monotonic() + wait
    delay, attempt = 0.5, 0
    while True:
        attempt += 1
        try:
            status, text = api.call("GET", "/api/version")
            if status == 200:
                return
            if status in (401, 403):
                raise refused(status, text, "the version request")
            reason = f"HTTP {status}: {last_line(text)}"
        except Lost as error:
            reason = str(error)
        if time.monotonic() >= deadline:
            raise Exit(
                UNREACHABLE,
                f"the Ray dashboard at {api.base} did not answer within {wait:g}s ({attempt} attempts); "
                f"last error: {reason}",
            )
        say(f"waiting for the Ray dashboard at {api.base} (attempt {attempt}): {reason}")
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 2, 5.0)


def lookup(api: Dashboard, submission_id: str, deadline: float) -> dict[str, Any] | None:
    """The job as the dashboard describes it; None when it does not exist."""
    while True:
        try:
            status, text = api.job(submission_id)
            if status == 200:
                job = json.loads(text)
                if isinstance(job, dict):
                    return job
            if status == 404:
                return None
            if is_refusal(status):
                raise refused(status, text, f"the lookup of job {submission_id!r}")
            reason = f"HTTP {status}: {last_line(text)}"
        except (Lost, ValueError) as error:
            reason = str(error)
        if time.monotonic() >= deadline:
            raise Exit(UNREACHABLE, f"could not look up job {submission_id!r}: {reason}")
        say(f"looking up job {submission_id!r} failed ({reason}); retrying")
        time.sleep(1.0)


def submit_or_attach(api: Dashboard, body: dict[str, Any], wait: float) -> None:
    submission_id = body["submission_id"]
    deadline = time.monotonic() + wait
    reason = ""
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            status, text = api.call("POST", "/api/jobs/", body)
            if status == 200:
                say(f"submitted job {submission_id!r}")
                return
            if is_refusal(status):
                raise refused(status, text, f"the submission of job {submission_id!r}")
            exists = status == 500 and ALREADY_EXISTS in text
            reason = "the submission id exists already" if exists else f"HTTP {status}: {last_line(text)}"
        except Lost as error:
            reason = f"no answer ({error})"
        say(f"submission {attempt} of job {submission_id!r}: {reason}; checking whether it exists")
        job = lookup(api, submission_id, deadline)
        if job is not None:
            if job.get("entrypoint") != body["entrypoint"]:
                raise Exit(
                    REJECTED,
                    f"submission id {submission_id!r} is already used by a different entrypoint: the dashboard has "
                    f"{job.get('entrypoint')!r:.200}",
                )
            say(f"job {submission_id!r} exists already ({job.get('status')}): attaching to it")
            return
        time.sleep(min(0.5 * 2**attempt, 5.0))
    raise Exit(UNREACHABLE, f"could not submit job {submission_id!r} in {SUBMIT_ATTEMPTS} attempts; last: {reason}")


# --- following ---------------------------------------------------------------------------------------------


def current_state(api: Dashboard, submission_id: str) -> dict[str, Any]:
    status, text = api.job(submission_id)
    if status == 404:
        raise Exit(
            JOB_FAILED,
            f"job {submission_id!r} vanished from the dashboard after it was submitted (the Ray cluster was "
            "restarted and lost its job history?); not submitting it again",
        )
    if is_refusal(status):
        raise refused(status, text, f"the status request for job {submission_id!r}")
    try:
        job = json.loads(text) if status == 200 else None
    except ValueError:
        job = None
    if not isinstance(job, dict) or not isinstance(job.get("status"), str):
        raise Lost(f"HTTP {status}: {last_line(text)}")
    return job


def log_delta(printed: str, text: str) -> str:
    if text.startswith(printed):
        return text[len(printed) :]
    if printed.startswith(text):
        return ""
    return RESTART_NOTICE + text


def verdict(submission_id: str, job: dict[str, Any]) -> str:
    parts = [f"job {submission_id!r} {job['status']}"]
    if isinstance(job.get("error_type"), str):
        parts.append(f"error type {job['error_type']}")
    if isinstance(job.get("driver_exit_code"), int):
        parts.append(f"driver exit code {job['driver_exit_code']}")
    detail = first_line(str(job.get("message") or "")).split(LOGS_SUFFIX, 1)[0]
    return ", ".join(parts) + (f": {detail}" if detail else "")


def follow(api: Dashboard, submission_id: str, poll: float, grace: float) -> int:
    printed, last_status, lost_since = "", "", None
    while True:
        try:
            job = current_state(api, submission_id)
            if job["status"] != last_status:
                last_status = job["status"]
                say(f"job {submission_id!r} is {last_status}: {first_line(str(job.get('message') or ''))}")
            if last_status != "PENDING":
                text = api.logs(submission_id)
                delta = log_delta(printed, text)
                if delta:
                    sys.stdout.write(delta)
                    sys.stdout.flush()
                    printed = text
            lost_since = None
            if last_status in EXIT_BY_STATUS:
                return finish(submission_id, job, printed)
        except Lost as error:
            now = time.monotonic()
            lost_since = now if lost_since is None else lost_since
            if now - lost_since >= grace:
                raise Exit(
                    UNREACHABLE,
                    f"lost the Ray dashboard at {api.base} for {now - lost_since:.0f}s (grace {grace:g}s) while "
                    f"following job {submission_id!r}: {error}",
                ) from None
            say(f"cannot check job {submission_id!r}: {error}; retrying for up to {grace - (now - lost_since):.0f}s")
        time.sleep(poll)


def finish(submission_id: str, job: dict[str, Any], printed: str) -> int:
    message = str(job.get("message") or "")
    if printed and not printed.endswith("\n"):
        sys.stdout.write("\n")
    if job["status"] == "FAILED" and not printed.strip() and "\n" in message.strip():
        sys.stdout.write(message.rstrip("\n") + "\n")  # the only place Ray put the error
    sys.stdout.write(verdict(submission_id, job) + "\n")
    sys.stdout.flush()
    return EXIT_BY_STATUS[job["status"]]


def main(env: Mapping[str, str] = os.environ) -> int:
    try:
        body = request_body(env)
        tuning = settings(env)
        api = Dashboard(env.get("RAY_DASHBOARD_ADDRESS", ""), token(env), tuning["http_timeout"])
        wait_for_dashboard(api, tuning["wait"])
        submit_or_attach(api, body, tuning["wait"])
        return follow(api, body["submission_id"], tuning["poll"], tuning["grace"])
    except Exit as stop:
        say(stop.message)
        return stop.code


if __name__ == "__main__":
    sys.exit(main())
