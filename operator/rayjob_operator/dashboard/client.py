"""The operator's async client of the Ray Jobs REST API: the only operator code that talks to Ray.

One shared :class:`aiohttp.ClientSession` (lazy, bounded connector). ``HTTP_PROXY`` and ``NO_PROXY`` apply:
read once, and the proxy of each dashboard host remembered (aiohttp's ``trust_env`` would look the environment
and a netrc file up again, in a thread, for every request). Every call takes the dashboard address
(``host:port``, scheme optional) and an optional token, and is bounded by the client's timeout. Ray's answers
are translated into :mod:`rayjob_operator.dashboard.errors`.
"""

from __future__ import annotations

import enum
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from rayjob_operator.dashboard import errors
from rayjob_operator.dashboard.models import DashboardVersion, JobInfo, MalformedAnswer, SubmitRequest
from rayjob_submitter import contract

logger = logging.getLogger(__name__)
T = TypeVar("T")

USER_AGENT = "rayjob-operator/0.1"  # never "Mozilla...": Ray refuses browser-like POSTs with 405
JOBS_PATH = "/api/jobs/"  # the trailing slash is mandatory on the collection, absent on items
NOT_TERMINAL_MARKER = "non-terminal state"


class SubmitOutcome(enum.StrEnum):
    CREATED = "created"
    ATTACHED = "attached"  # the id existed with the same entrypoint (an earlier, unconfirmed submit)


RawAnswer = contract.Answer


@dataclass
class ProxyTable:
    """``HTTP_PROXY``/``NO_PROXY`` as the standard library reads them, applied per host and remembered."""

    proxies: dict[str, str]
    by_base: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> ProxyTable:
        return cls(urllib.request.getproxies_environment())

    def proxy_for(self, base: str) -> str | None:
        """The proxy URL for ``http(s)://host:port``, or None (no proxy, or the host is in NO_PROXY)."""
        if base not in self.by_base:
            parsed = urllib.parse.urlsplit(base)
            proxy = self.proxies.get(parsed.scheme)
            bypass = proxy is not None and no_proxy_matches(parsed.hostname or "", self.proxies.get("no", ""))
            self.by_base[base] = None if bypass else proxy
        return self.by_base[base]


def no_proxy_matches(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (comma-separated hosts, domains with or without a leading dot, ``*``) covers ``host``."""
    host = host.lower().rstrip(".")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        if entry == "*" or (name and (host == name.lstrip(".") or host.endswith("." + name.lstrip(".")))):
            return True
    return False


def base_url(address: str) -> str:
    """``host:port`` or ``http(s)://host:port[/]`` → ``http(s)://host:port``."""
    text = address.strip().rstrip("/")
    if not text:
        raise errors.DashboardError("the dashboard address is empty")
    return text if "://" in text else "http://" + text


def job_path(job_id: str, suffix: str = "") -> str:
    return JOBS_PATH + urllib.parse.quote(job_id, safe="") + suffix


def describe(error: BaseException) -> str:
    """One line for a transport error (aiohttp's timeouts have empty messages)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


def translate(answer: RawAnswer, *, job_id: str | None = None) -> errors.DashboardError:
    """The error for a non-200 answer."""
    detail = contract.ray_error_line(answer.text)
    if answer.status in (401, 403):
        return errors.DashboardAuthError(answer.status, detail)
    if answer.status == 404 and job_id is not None:
        return errors.JobNotFound(job_id)
    if 400 <= answer.status < 500:
        return errors.DashboardRejected(answer.status, detail)
    if NOT_TERMINAL_MARKER in answer.text:  # DELETE of a PENDING/RUNNING job: 500, but not transient
        return errors.DashboardRejected(answer.status, detail)
    return errors.DashboardUnreachable(f"HTTP {answer.status}: {detail}" if detail else f"HTTP {answer.status}")


class DashboardClient:
    """Async client of the Ray dashboards of many clusters. Call :meth:`close` (or use ``async with``)."""

    def __init__(self, *, timeout: float = 5.0, max_connections: int = 32, submit_attempts: int = 3) -> None:
        self._timeout = timeout
        self._max_connections = max_connections
        self._submit_attempts = submit_attempts
        self._session: aiohttp.ClientSession | None = None
        self._proxies = ProxyTable.from_environment()

    async def __aenter__(self) -> DashboardClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=8),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                trust_env=False,
            )
        return self._session

    async def _request(
        self, method: str, address: str, path: str, *, token: str | None, body: dict[str, Any] | None = None
    ) -> RawAnswer:
        base = base_url(address)
        url = base + path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        proxy = self._proxies.proxy_for(base)
        try:
            async with self._get_session().request(method, url, json=body, headers=headers, proxy=proxy) as response:
                return RawAnswer(response.status, await response.text(errors="replace"))
        except (TimeoutError, aiohttp.ClientError) as error:
            raise errors.DashboardUnreachable(f"{method} {url}: {describe(error)}") from error

    async def _json(self, method: str, address: str, path: str, *, token: str | None, job_id: str | None) -> Any:
        answer = await self._request(method, address, path, token=token)
        if answer.status != 200:
            raise translate(answer, job_id=job_id)
        try:
            return answer.json()
        except ValueError as error:
            raise errors.DashboardUnreachable(str(error)) from None

    # --- reads ----------------------------------------------------------------------------------------

    async def get_version(self, address: str, *, token: str | None = None) -> DashboardVersion:
        data = await self._json("GET", address, "/api/version", token=token, job_id=None)
        return _parse(DashboardVersion.from_json, data)

    async def get_job_info(self, address: str, job_id: str, *, token: str | None = None) -> JobInfo:
        data = await self._json("GET", address, job_path(job_id), token=token, job_id=job_id)
        return _parse(JobInfo.from_json, data)

    async def list_jobs(self, address: str, *, token: str | None = None) -> list[JobInfo]:
        """Every job the dashboard knows (DRIVER entries included), oldest first."""
        data = await self._json("GET", address, JOBS_PATH, token=token, job_id=None)
        if not isinstance(data, list):
            raise errors.DashboardUnreachable("GET /api/jobs/ did not answer a JSON array")
        jobs = [_parse(JobInfo.from_json, item) for item in data]
        return sorted(jobs, key=lambda job: (job.start_time is None, job.start_time or 0))

    async def get_logs(self, address: str, job_id: str, *, token: str | None = None) -> str:
        data = await self._json("GET", address, job_path(job_id, "/logs"), token=token, job_id=job_id)
        logs = data.get("logs") if isinstance(data, dict) else None
        if not isinstance(logs, str):
            raise errors.DashboardUnreachable(f"the logs of job {job_id!r} came without a 'logs' string")
        return logs

    # --- writes ---------------------------------------------------------------------------------------

    async def stop(self, address: str, job_id: str, *, token: str | None = None) -> bool:
        """Ask Ray to stop the job; True if a stop was sent (asynchronous: poll the status)."""
        data = await self._json("POST", address, job_path(job_id, "/stop"), token=token, job_id=job_id)
        return bool(isinstance(data, dict) and data.get("stopped"))

    async def delete(self, address: str, job_id: str, *, token: str | None = None) -> bool:
        """Delete a terminal job's record (a PENDING/RUNNING job gives :class:`DashboardRejected`)."""
        data = await self._json("DELETE", address, job_path(job_id), token=token, job_id=job_id)
        return bool(isinstance(data, dict) and data.get("deleted"))

    async def submit(self, address: str, request: SubmitRequest, *, token: str | None = None) -> SubmitOutcome:
        """Submit with the request's fixed id, idempotently.

        "already exists" or an ambiguous outcome (transport error, other 5xx) is settled with a GET:
        the same entrypoint → ATTACHED; another → :class:`SubmissionIdConflict`; 404 → POST again.
        """
        problem = request.problem()
        if problem:
            raise errors.InvalidSubmission(problem)
        reason = ""
        for _attempt in range(self._submit_attempts):
            reason = await self._post(address, request, token=token)
            if not reason:
                return SubmitOutcome.CREATED
            existing = await self._find(address, request.submission_id, token=token)
            if existing is not None:
                if existing.entrypoint != request.entrypoint:
                    raise errors.SubmissionIdConflict(request.submission_id, existing.entrypoint, request.entrypoint)
                logger.info("job %r exists already (%s): attached", request.submission_id, reason)
                return SubmitOutcome.ATTACHED
        raise errors.DashboardUnreachable(
            f"could not submit job {request.submission_id!r} in {self._submit_attempts} attempts: {reason}"
        )

    async def _post(self, address: str, request: SubmitRequest, *, token: str | None) -> str:
        """'' when created; else why the outcome must be checked. Rejections raise."""
        try:
            answer = await self._request("POST", address, JOBS_PATH, token=token, body=request.to_json())
        except errors.DashboardUnreachable as error:
            return str(error)
        if answer.status == 200:
            return ""
        if answer.status == 500 and contract.ALREADY_EXISTS_MARKER in answer.text:
            return "the submission id exists already"
        failure = translate(answer)
        if not isinstance(failure, errors.DashboardUnreachable):
            raise failure
        return str(failure)

    async def _find(self, address: str, job_id: str, *, token: str | None) -> JobInfo | None:
        try:
            return await self.get_job_info(address, job_id, token=token)
        except errors.JobNotFound:
            return None


def _parse(parser: Callable[[object], T], data: object) -> T:
    try:
        return parser(data)
    except MalformedAnswer as error:
        raise errors.DashboardUnreachable(f"unexpected answer from the dashboard: {error}") from None
