"""A minimal stdlib HTTP client for the Ray Jobs REST API (urllib: honours HTTP_PROXY/NO_PROXY).

It never interprets HTTP statuses: it returns them. Only transport problems (refused, reset, timeout,
bad proxy, unparsable HTTP) raise :class:`Unreachable`. The caller decides what a status means.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from rayjob_submitter import contract

USER_AGENT = "rayjob-submit/0.1"  # never "Mozilla...": Ray refuses browser-like POSTs with 405
JOBS_PATH = "/api/jobs/"  # the trailing slash is mandatory on the collection
VERSION_PATH = "/api/version"


class Unreachable(Exception):
    """The dashboard could not be reached, or the exchange broke off. The message is one line:
    ``<url>: <reason>`` (``reason`` alone is kept too, for lines that name the URL already)."""

    def __init__(self, reason: str, url: str = "") -> None:
        super().__init__(f"{url}: {reason}" if url else reason)
        self.reason = reason


class Response(contract.Answer):
    """A dashboard answer; :meth:`json` raises :class:`Unreachable` when a 200 carries something else."""

    def json(self) -> Any:
        try:
            return super().json()
        except ValueError as error:
            raise Unreachable(str(error)) from None


class DashboardApi(Protocol):
    """What the runner needs from the dashboard (a fake implements it in unit tests)."""

    def version(self) -> Response: ...
    def submit(self, body: dict[str, Any]) -> Response: ...
    def job(self, submission_id: str) -> Response: ...
    def logs(self, submission_id: str) -> Response: ...


def job_path(submission_id: str, suffix: str = "") -> str:
    """``/api/jobs/<percent-encoded id><suffix>`` (no trailing slash on items)."""
    return JOBS_PATH + urllib.parse.quote(submission_id, safe="") + suffix


def describe_transport_error(error: BaseException) -> str:
    """One line for a urllib/socket failure: 'connection refused', 'timed out', ..."""
    reason: object = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror or reason})"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


class UrllibDashboard:
    """:class:`DashboardApi` over urllib. Sends ``Authorization: Bearer`` when a token is set."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._opener = urllib.request.build_opener()  # includes ProxyHandler(): HTTP_PROXY / NO_PROXY

    def version(self) -> Response:
        return self.request("GET", VERSION_PATH)

    def submit(self, body: dict[str, Any]) -> Response:
        return self.request("POST", JOBS_PATH, body)

    def job(self, submission_id: str) -> Response:
        return self.request("GET", job_path(submission_id))

    def logs(self, submission_id: str) -> Response:
        return self.request("GET", job_path(submission_id, "/logs"))

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as reply:
                return Response(reply.status, _decode(reply.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, _decode(_read_error_body(error)))
        except (OSError, http.client.HTTPException) as error:
            raise Unreachable(describe_transport_error(error), self.base_url) from None


def _read_error_body(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except (OSError, http.client.HTTPException):
        return b""


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
