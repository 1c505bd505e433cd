"""The state machine of the load-generator Ray dashboard (a benchmark fake, not Ray). Pure: no I/O, no clock.

Every job is RUNNING from its submission on and SUCCEEDED ``duration`` seconds after it (unless stopped
first); a directive in the entrypoint, such as ``python -c pass # loadgen: seconds=60 status=FAILED``, sets
that job's own run time and end status (SUCCEEDED or FAILED). Each request is classified (submit, status,
logs, stop, delete, list, version, other), counted per job and per kind, and may be turned into a fault by a
:class:`ChaosConfig` (a 500, a request that never gets an answer, a reset connection) so the chaos run can
reuse the same fake. Answers follow the Ray Jobs REST API of Ray 2.60 (``/work/shared/spec/ray-jobs-api.md``):
JSON on success, text/plain errors, 404 for an unknown id, 500 "already exists" for a duplicate submission id.

:mod:`rayjob_devenv.loadgen_dashboard` serves this over HTTP; the time of every call is passed in.
"""

from __future__ import annotations

import dataclasses
import enum
import urllib.parse
from collections import Counter
from typing import Any

JOBS_PREFIX = "/api/jobs/"
VERSION_ANSWER = {"version": "4", "ray_version": "2.60.0", "ray_commit": "loadgen", "session_name": "loadgen"}
ALREADY_EXISTS = "Job with submission_id {id} already exists. Please use a different submission_id."
MESSAGES = {
    "RUNNING": "Job is currently running.",
    "SUCCEEDED": "Job finished successfully.",
    "STOPPED": "Job was intentionally stopped.",
    "FAILED": "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n",
}
DIRECTIVE = "# loadgen:"
END_STATUSES = ("SUCCEEDED", "FAILED")


class Kind(enum.StrEnum):
    SUBMIT = "submit"
    STATUS = "status"
    LOGS = "logs"
    STOP = "stop"
    DELETE = "delete"
    LIST = "list"
    VERSION = "version"
    OTHER = "other"


class Fault(enum.StrEnum):
    ERROR = "error"  # HTTP 500 with a Ray-like traceback text; the request has no effect
    TIMEOUT = "timeout"  # the request takes effect, the answer never comes (held, then the connection closes)
    RESET = "reset"  # the request takes effect, the connection is reset instead of answered


@dataclasses.dataclass(frozen=True)
class ChaosConfig:
    """Shares (0..1) of the requests of the ``kinds`` given that get each fault; all 0 = no chaos."""

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_seconds: float = 30.0
    kinds: frozenset[Kind] = frozenset({Kind.SUBMIT, Kind.STATUS, Kind.LOGS, Kind.STOP, Kind.DELETE})

    def __post_init__(self) -> None:
        for name in ("error_rate", "timeout_rate", "reset_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"chaos {name}={value!r}: must be between 0 and 1")
        if self.error_rate + self.timeout_rate + self.reset_rate > 1.0:
            raise ValueError("chaos error_rate + timeout_rate + reset_rate must not exceed 1")
        if self.timeout_seconds <= 0:
            raise ValueError(f"chaos timeout_seconds={self.timeout_seconds!r}: must be > 0")

    def fault_for(self, kind: Kind, roll: float) -> Fault | None:
        """The fault of a request of ``kind`` whose random draw in [0, 1) is ``roll``."""
        if kind not in self.kinds:
            return None
        for fault, rate in ((Fault.ERROR, self.error_rate), (Fault.TIMEOUT, self.timeout_rate)):
            if roll < rate:
                return fault
            roll -= rate
        return Fault.RESET if roll < self.reset_rate else None


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # a JSON value for 200 answers, a str otherwise
    fault: Fault | None = None

    @property
    def is_json(self) -> bool:
        return self.status == 200 and not isinstance(self.body, str)


@dataclasses.dataclass
class JobCounters:
    """Requests about one submission id (also before it was submitted: those are the 404s)."""

    submissions: int = 0  # POSTs that created the job or hit "already exists" (duplicates = submissions - 1)
    status: int = 0
    not_found: int = 0
    logs: int = 0
    stops: int = 0
    deletes: int = 0
    faults: int = 0
    by_client: Counter[str] = dataclasses.field(default_factory=Counter)
    hosts: list[str] = dataclasses.field(default_factory=list)
    """Distinct Host headers of the counted submissions (the head Service each was sent to), in order."""


@dataclasses.dataclass
class FakeJob:
    submission_id: str
    entrypoint: str
    submitted_at: float  # epoch seconds
    duration: float
    submitted_by: str
    stopped_at: float | None = None
    end_status: str = "SUCCEEDED"
    """What the job ends as when it is not stopped (SUCCEEDED or FAILED)."""
    host: str = ""
    """The Host header of the submission that created the job (the head Service it was sent to)."""

    @property
    def end_time(self) -> float:
        return self.submitted_at + self.duration if self.stopped_at is None else self.stopped_at

    def status(self, now: float) -> str:
        if now < self.end_time:
            return "RUNNING"
        return self.end_status if self.stopped_at is None else "STOPPED"

    def info(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        terminal = status != "RUNNING"
        return {
            "type": "SUBMISSION",
            "job_id": None,
            "submission_id": self.submission_id,
            "driver_info": None,
            "status": status,
            "entrypoint": self.entrypoint,
            "message": MESSAGES[status],
            "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR" if status == "FAILED" else None,
            "start_time": int(self.submitted_at * 1000),
            "end_time": int(self.end_time * 1000) if terminal else None,
            "metadata": {},
            "runtime_env": {},
            "driver_agent_http_address": "http://127.0.0.1:52365",
            "driver_node_id": "loadgen",
            "driver_exit_code": {"SUCCEEDED": 0, "FAILED": 1}.get(status),
        }


def parse_directive(entrypoint: str) -> tuple[float | None, str]:
    """(seconds, end status) of a ``# loadgen: seconds=<s> status=<SUCCEEDED|FAILED>`` directive; each part is
    optional (no seconds: None, the dashboard's default duration; no status: SUCCEEDED). Bad values raise."""
    _, found, rest = entrypoint.partition(DIRECTIVE)
    seconds: float | None = None
    end_status = "SUCCEEDED"
    for word in rest.split() if found else ():
        key, _, value = word.partition("=")
        if key == "seconds" and float(value) >= 0:
            seconds = float(value)
        elif key == "status" and value in END_STATUSES:
            end_status = value
        else:
            raise ValueError(
                f"loadgen directive: {word!r} is not seconds=<s >= 0> or status=<{'|'.join(END_STATUSES)}>"
            )
    return seconds, end_status


def classify(method: str, raw_path: str) -> tuple[Kind, str | None]:
    """(kind, submission id) of a request; ``raw_path`` is percent-encoded, without the query."""
    method = method.upper()
    if raw_path == "/api/version" and method == "GET":
        return Kind.VERSION, None
    if raw_path == JOBS_PREFIX:
        return {"GET": Kind.LIST, "POST": Kind.SUBMIT}.get(method, Kind.OTHER), None
    if not raw_path.startswith(JOBS_PREFIX):
        return Kind.OTHER, None
    parts = raw_path[len(JOBS_PREFIX) :].split("/")
    job_id = urllib.parse.unquote(parts[0])
    if not job_id:
        return Kind.OTHER, None
    routes = {
        ("GET", ""): Kind.STATUS,
        ("DELETE", ""): Kind.DELETE,
        ("GET", "logs"): Kind.LOGS,
        ("POST", "stop"): Kind.STOP,
    }
    kind = routes.get((method, "/".join(parts[1:])), Kind.OTHER)
    return kind, (job_id if kind is not Kind.OTHER else None)


class LoadgenState:
    """Jobs and counters of one load-generator dashboard."""

    def __init__(self, *, duration: float = 5.0, chaos: ChaosConfig | None = None) -> None:
        if duration < 0:
            raise ValueError(f"duration={duration!r}: must be >= 0")
        self.duration = duration
        self.chaos = chaos or ChaosConfig()
        self.jobs: dict[str, FakeJob] = {}
        self.counters: dict[str, JobCounters] = {}
        self.by_kind: Counter[str] = Counter()
        self.by_client: Counter[str] = Counter()
        self.not_found = 0
        self.faults: Counter[str] = Counter()

    def handle(
        self, method: str, raw_path: str, body: Any, *, client: str, now: float, roll: float = 1.0, host: str = ""
    ) -> Answer:
        """Answer one request at epoch time ``now``; ``roll`` in [0, 1) is the chaos draw (1.0 = never);
        ``host`` is the request's Host header (for a submission: which head it was sent to)."""
        kind, job_id = classify(method, raw_path)
        if kind is Kind.SUBMIT:
            job_id = _submission_id(body)
        self.by_kind[kind] += 1
        self.by_client[client] += 1
        counters = self._counters(job_id) if job_id else None
        if counters is not None:
            counters.by_client[client] += 1
        fault = self.chaos.fault_for(kind, roll)
        if fault is not None:
            self.faults[fault] += 1
            if counters is not None:
                counters.faults += 1
            if fault is Fault.ERROR:
                text = f"Traceback (most recent call last):\n  loadgen chaos: injected {kind} error\n"
                return Answer(500, text, fault=fault)
        answer = self._answer(kind, job_id, body, counters, client=client, now=now, host=host)
        if answer.status == 404:
            self.not_found += 1
        return dataclasses.replace(answer, fault=fault) if fault is not None else answer

    def _counters(self, job_id: str) -> JobCounters:
        counters = self.counters.get(job_id)
        if counters is None:
            counters = self.counters[job_id] = JobCounters()
        return counters

    def _answer(
        self,
        kind: Kind,
        job_id: str | None,
        body: Any,
        counters: JobCounters | None,
        *,
        client: str,
        now: float,
        host: str,
    ) -> Answer:
        if kind is Kind.VERSION:
            return Answer(200, dict(VERSION_ANSWER))
        if kind is Kind.LIST:
            return Answer(200, [job.info(now) for job in self.jobs.values()])
        if kind is Kind.SUBMIT and job_id is None:
            return Answer(400, "loadgen dashboard: the request needs a string 'submission_id'")
        if kind is Kind.OTHER or job_id is None or counters is None:
            return Answer(404, "404: Not Found")
        if kind is Kind.SUBMIT:
            return self._submit(job_id, body, counters, client=client, now=now, host=host)
        job = self.jobs.get(job_id)
        if kind is Kind.STATUS:
            counters.status += 1
        if job is None:
            counters.not_found += 1
            return Answer(404, f"Job {job_id} does not exist")
        return self._on_job(kind, job, counters, now)

    def _submit(self, job_id: str, body: Any, counters: JobCounters, *, client: str, now: float, host: str) -> Answer:
        entrypoint = body.get("entrypoint") if isinstance(body, dict) else None
        if not isinstance(entrypoint, str):
            return Answer(400, "the request needs a string 'entrypoint'")
        try:
            seconds, end_status = parse_directive(entrypoint)
        except ValueError as error:
            return Answer(400, f"Traceback (most recent call last):\nValueError: {error}")
        counters.submissions += 1
        if host not in counters.hosts:
            counters.hosts.append(host)
        if job_id in self.jobs:
            return Answer(500, "Traceback (most recent call last):\nValueError: " + ALREADY_EXISTS.format(id=job_id))
        duration = self.duration if seconds is None else seconds
        self.jobs[job_id] = FakeJob(job_id, entrypoint, now, duration, client, end_status=end_status, host=host)
        return Answer(200, {"job_id": job_id, "submission_id": job_id})

    @staticmethod
    def _on_job(kind: Kind, job: FakeJob, counters: JobCounters, now: float) -> Answer:
        if kind is Kind.STATUS:
            return Answer(200, job.info(now))
        if kind is Kind.LOGS:
            counters.logs += 1
            return Answer(200, {"logs": f"Running entrypoint for job {job.submission_id}: {job.entrypoint}\n"})
        if kind is Kind.STOP:
            counters.stops += 1
            running = job.status(now) == "RUNNING"
            if running:
                job.stopped_at = now
            return Answer(200, {"stopped": running})
        counters.deletes += 1  # DELETE
        if job.status(now) == "RUNNING":
            return Answer(500, f"Attempted to delete job '{job.submission_id}', which is in a non-terminal state.")
        return Answer(200, {"deleted": True})

    def stats(self) -> dict[str, Any]:
        """Everything counted so far, as JSON (the harness reads it after a run)."""
        jobs: dict[str, Any] = {}
        for job_id, counters in self.counters.items():
            job = self.jobs.get(job_id)
            entry = dataclasses.asdict(counters)
            entry["by_client"] = dict(counters.by_client)
            if job is not None:
                entry.update(
                    submitted_at=job.submitted_at,
                    end_time=job.end_time,
                    submitted_by=job.submitted_by,
                    host=job.host,
                    end_status=job.status(job.end_time),
                )
            jobs[job_id] = entry
        return {
            "duration": self.duration,
            "by_kind": dict(self.by_kind),
            "by_client": dict(self.by_client),
            "not_found": self.not_found,
            "faults": dict(self.faults),
            "jobs": jobs,
        }


def _submission_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    value = body.get("submission_id") or body.get("job_id")
    return value if isinstance(value, str) and value else None
