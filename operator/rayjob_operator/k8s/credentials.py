"""How the client reaches and authenticates to the API server (filled from kopf's login at startup)."""

from __future__ import annotations

import base64
import dataclasses
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ApiCredentials:
    server: str
    ca_path: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    token: str | None = None
    scheme: str = "Bearer"
    username: str | None = None
    password: str | None = None
    certificate_path: str | None = None
    certificate_data: bytes | None = None
    private_key_path: str | None = None
    private_key_data: bytes | None = None

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"{self.scheme} {self.token}"}
        if self.username is not None and self.password is not None:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https"):
            return False
        if self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            cadata = self.ca_data.decode() if self.ca_data else None
            context = ssl.create_default_context(cafile=self.ca_path, cadata=cadata)
        cert, key = self._client_cert_files()
        if cert:
            context.load_cert_chain(cert, key)
        return context

    def _client_cert_files(self) -> tuple[str | None, str | None]:
        """load_cert_chain needs files; in-memory data goes to private temporary files."""
        cert = self.certificate_path or (_temp_file(self.certificate_data) if self.certificate_data else None)
        key = self.private_key_path or (_temp_file(self.private_key_data) if self.private_key_data else None)
        return cert, key


def _temp_file(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(prefix="rayjob-operator-", suffix=".pem", delete=False) as handle:
        handle.write(data)
    path = Path(handle.name)
    path.chmod(0o600)
    return str(path)


CredentialsLoader = Callable[[], Awaitable[ApiCredentials]]
"""Returns fresh credentials; called at start and again after the API server answers 401."""
