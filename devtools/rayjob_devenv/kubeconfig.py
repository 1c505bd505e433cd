"""Admin kubeconfig for the local control plane (credentials embedded, so the file is portable)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

DEFAULT_NAME = "rayjob-devenv"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render_kubeconfig(
    server: str,
    *,
    ca_pem: bytes,
    client_cert_pem: bytes,
    client_key_pem: bytes,
    name: str = DEFAULT_NAME,
    user: str = "admin",
) -> dict[str, Any]:
    """A kubeconfig with one cluster, one user and one context, all called after ``name``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(client_cert_pem),
                    "client-key-data": _b64(client_key_pem),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }


def dump_kubeconfig(config: dict[str, Any]) -> str:
    """YAML text of a kubeconfig (keys in a stable order)."""
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` to ``path``, readable by the owner only (it holds a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_kubeconfig(config))
    path.chmod(0o600)
    return path
