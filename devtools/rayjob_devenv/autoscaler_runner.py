"""Runs the ``autoscaler`` container of simulated head pods as a local process: the real ``ray kuberay-autoscaler``.

kwok plays the head pod; for the namespaces it is told about, this runner plays the kubelet's part for the
pod's ``autoscaler`` container, the way :class:`~rayjob_devenv.podrunner.LocalPodRunner` does for submitters:

- the container's env is resolved (plain values, fieldRefs, Secret keys) and ``$(VAR)`` references are expanded
  in env values, command and args, as the kubelet does;
- the pod's ServiceAccount gets a token from the TokenRequest API (bound to the pod), written with the API
  server's CA and the namespace to where every pod finds them, ``/var/run/secrets/kubernetes.io/serviceaccount``:
  the process runs in a private mount namespace (``unshare``; needs root) in which a tmpfs over ``/run`` holds
  that directory, so nothing changes outside it;
- ``KUBERNETES_SERVICE_HOST``/``PORT`` point at the local API server, ``PATH`` starts with the Ray venv's bin dir
  (``$RAYJOB_RAY_BIN``, so ``ray`` is the real Ray CLI), and Ray binds to loopback
  (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``: the local stand-in for the pod's IP);
- the container's command and args then run unchanged (``/bin/bash -c -- "ray kuberay-autoscaler ..."``), and its
  exit is reported in the pod status; deleting the pod terminates it.

What it cannot play: the pod's network namespace. The Ray head standing in for the head pod listens on its own
ports, so the cluster's ``autoscalerOptions.args`` must give ``--gcs-address`` (KubeRay's way to change the
generated command: ``$KUBERAY_GEN_AUTOSCALER_START_CMD --gcs-address <address>``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes

from rayjob_devenv.podrunner import LocalPodRunner, _now, _Process

logger = logging.getLogger(__name__)
CONTAINER = "autoscaler"
SERVICE_ACCOUNT_DIR = "/run/secrets/kubernetes.io/serviceaccount"  # /var/run is /run
TOKEN_SECONDS = 3600
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_SCRUBBED = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")


def expand(text: str, values: Mapping[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion: defined names are replaced, ``$$`` is ``$``, the rest stays."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return _REFERENCE.sub(replace, text)


def expand_env(env: Iterable[tuple[str, str]], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env values in order, each expanded against the ones before it (and ``base``)."""
    resolved = dict(base or {})
    out: dict[str, str] = {}
    for name, value in env:
        out[name] = resolved[name] = expand(value, resolved)
    return out


def in_service_account_mount(credentials: Path, command: list[str]) -> list[str]:
    """Run ``command`` where ``credentials`` is the pod's ServiceAccount directory (a private mount namespace)."""
    script = (
        f"mount -t tmpfs tmpfs /run && mkdir -p {SERVICE_ACCOUNT_DIR}"
        f' && mount --bind "$0" {SERVICE_ACCOUNT_DIR} && exec "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(credentials), *command]


class AutoscalerRunner(LocalPodRunner):
    """Runs the ``autoscaler`` containers of head pods in ``namespaces`` (and nothing else)."""

    def __init__(
        self,
        api: kubernetes.client.ApiClient,
        *,
        namespaces: Iterable[str],
        ray_bin: Path,
        env: Mapping[str, str],
        log_dir: Path,
    ) -> None:
        clean = {k: v for k, v in env.items() if k.upper() not in _SCRUBBED}
        super().__init__(api, commands={}, env=clean, log_dir=log_dir)
        self._namespaces = set(namespaces)
        self._ray_bin = ray_bin
        config = api.configuration
        self._server = urllib.parse.urlsplit(config.host)
        self._ca = Path(config.ssl_ca_cert) if config.ssl_ca_cert else None

    def _on_event(self, kind: str, pod: Any) -> None:
        super()._on_event(kind, pod)  # terminates what runs in a deleted pod
        meta = pod.metadata
        if kind == "DELETED" or meta.deletion_timestamp or (pod.status.phase or "") != "Running":
            return
        if meta.namespace not in self._namespaces or (meta.labels or {}).get("ray.io/node-type") != "head":
            return
        for container in pod.spec.containers or []:
            if container.name == CONTAINER:
                self._launch_sidecar(pod, container)

    def _launch_sidecar(self, pod: Any, container: Any) -> None:
        key = (pod.metadata.namespace, pod.metadata.name, container.name)
        with self._lock:
            if key in self._processes or key in self._done:
                return
            self._done.add(key)
        credentials = self._write_credentials(pod)
        env = {**self._env, **self._kubelet_env()}
        env.update(expand_env(self._container_env(pod, container).items(), env))
        command = [expand(part, env) for part in [*(container.command or []), *(container.args or [])]]
        log_path = self._log_dir / f"{key[0]}_{key[1]}_{key[2]}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                in_service_account_mount(credentials, command),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logger.info("autoscaler runner: started %s/%s[%s] as pid %d", *key, popen.pid)
        with self._lock:
            self._processes[key] = _Process(
                *key, popen=popen, started_at=_now(), log_path=log_path, sole_container=False
            )

    def _kubelet_env(self) -> dict[str, str]:
        host, port = self._server.hostname or "127.0.0.1", str(self._server.port or 443)
        return {
            "PATH": f"{self._ray_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }

    def _write_credentials(self, pod: Any) -> Path:
        """The projected ServiceAccount volume: a bound token, the CA and the namespace."""
        meta = pod.metadata
        account = pod.spec.service_account_name or "default"
        request: Any = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": TOKEN_SECONDS,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta.name, "uid": meta.uid},
            },
        }
        answer: Any = self._core.create_namespaced_service_account_token(account, meta.namespace, request)
        token = str(answer.status.token)
        directory = self._log_dir / f"serviceaccount-{meta.namespace}-{meta.name}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "token").write_text(token)
        (directory / "namespace").write_text(meta.namespace)
        if self._ca is not None:
            (directory / "ca.crt").write_bytes(self._ca.read_bytes())
        return directory
