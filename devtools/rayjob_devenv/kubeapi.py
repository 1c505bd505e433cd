"""A tiny typed HTTPS client for the few API calls the harness itself makes (stdlib only).

Tests use the official ``kubernetes`` client; this one exists so the harness stays typed and has
no dependency on that client's behaviour while it brings the cluster up.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from pathlib import Path
from typing import Any

FIELD_MANAGER = "rayjob-devenv"
APPLY_PATCH = "application/apply-patch+yaml"


class ApiError(Exception):
    """A non-2xx answer from the API server."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        self.body = body
        self.message = _status_message(body)
        super().__init__(f"{method} {path}: HTTP {status}: {self.message[:4000]}")


def _status_message(body: str) -> str:
    """The ``message`` of a Kubernetes Status answer, else the raw body."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body
    return str(decoded.get("message", body)) if isinstance(decoded, dict) else body


class KubeHttp:
    """HTTPS to one API server with client-certificate authentication."""

    def __init__(
        self, host: str, port: int, *, ca_file: Path, cert_file: Path, key_file: Path, timeout: float = 10.0
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._ssl = ssl.create_default_context(cafile=str(ca_file))
        self._ssl.load_cert_chain(str(cert_file), str(key_file))

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, str]:
        """Send one request; return (status, body text). Connection errors raise OSError."""
        conn = http.client.HTTPSConnection(self.host, self.port, context=self._ssl, timeout=self.timeout)
        try:
            headers = {"Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """Like :meth:`request`, but raise :class:`ApiError` on non-2xx and decode the JSON answer."""
        status, text = self.request(method, path, body, content_type)
        if not 200 <= status < 300:
            raise ApiError(method, path, status, text)
        return json.loads(text) if text.strip().startswith(("{", "[")) else text

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply ``obj`` at ``path`` (the object's own URL), taking ownership of conflicts."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.call("PATCH", f"{path}?{query}", obj, APPLY_PATCH)


def condition_status(obj: dict[str, Any], cond_type: str) -> str | None:
    """``status.conditions[type=cond_type].status`` of an object, or None."""
    for cond in obj.get("status", {}).get("conditions", None) or []:
        if cond.get("type") == cond_type:
            return str(cond.get("status"))
    return None
