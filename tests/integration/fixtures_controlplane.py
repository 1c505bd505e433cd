"""Fixtures of the local control plane (star-imported by tests/integration/conftest.py).

- ``control_plane`` (session): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
  kwok (one fake node), started once for the whole run, with every ``crds/*.yaml`` applied and
  Established before the controller-manager starts (so its garbage collector knows RayJob and
  RayCluster from the first moment).
- ``namespace`` (function): a fresh namespace, deleted after the test.

The binaries come from ``$RAYJOB_CP_BIN`` (scripts/bootstrap.sh) or ``hack/controlplane/build.sh``;
when they are missing the fixtures fail, they never skip.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.controlplane import LocalControlPlane

__all__ = ["control_plane", "namespace"]

ROOT = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((ROOT / "crds").glob("*.yaml"))


@dataclasses.dataclass
class ControlPlane:
    """A running control plane and ready-made clients of the official ``kubernetes`` package."""

    cp: LocalControlPlane
    api_client: kubernetes.client.ApiClient

    @property
    def crds(self) -> list[str]:
        """Names of the applied CRDs."""
        return self.cp.crds

    @property
    def kubeconfig(self) -> Path:
        return self.cp.kubeconfig

    @property
    def server(self) -> str:
        return self.cp.server

    @property
    def kubectl(self) -> Path:
        """The kubectl built with the server (the system one is too old for it)."""
        return self.cp.kubectl

    @property
    def startup_seconds(self) -> float:
        assert self.cp.startup_seconds is not None
        return self.cp.startup_seconds

    @property
    def core_v1(self) -> Any:
        return kubernetes.client.CoreV1Api(self.api_client)

    @property
    def batch_v1(self) -> Any:
        return kubernetes.client.BatchV1Api(self.api_client)

    @property
    def custom_objects(self) -> Any:
        return kubernetes.client.CustomObjectsApi(self.api_client)

    @property
    def apiextensions_v1(self) -> Any:
        return kubernetes.client.ApiextensionsV1Api(self.api_client)

    def run_kubectl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster; fail the test if it exits non-zero."""
        done = subprocess.run(self.cp.kubectl_argv(*args), capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}"
        return done


def api_client_for(kubeconfig: Path) -> kubernetes.client.ApiClient:
    """A ``kubernetes`` ApiClient configured from a kubeconfig file (not from ~/.kube)."""
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=config)
    return kubernetes.client.ApiClient(config)


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    assert CRD_FILES, f"no CRDs found under {ROOT / 'crds'}"
    with LocalControlPlane(crds=CRD_FILES) as cp:
        client = api_client_for(cp.kubeconfig)
        try:
            yield ControlPlane(cp, client)
        finally:
            client.close()
            if request.session.testsfailed:  # keep the component logs for the post-mortem
                cp.keep_logs()
                reporter = request.config.pluginmanager.get_plugin("terminalreporter")
                if reporter is not None:
                    reporter.write_line(f"control plane logs kept in {cp.layout.logs}")


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{stem}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    name = _namespace_name(request.node.name)
    core = control_plane.core_v1
    core.create_namespace({"metadata": {"name": name, "labels": {"rayjob-devenv/test": "true"}}})
    yield name
    try:
        core.delete_namespace(name)
    except kubernetes.client.ApiException as e:
        if e.status != 404:
            raise
