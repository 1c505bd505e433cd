"""Kueue's controller-manager (built from Go modules by hack/kueue/build.sh) on a local control plane.

    with LocalControlPlane(crds=...) as cp, LocalKueue(cp) as kueue:
        print(kueue.version)   # what the binary says at start-up, e.g. v0.17.1

Start-up: the namespace ``kueue-system``; Kueue's CRDs (conversion webhooks pointed at the manager); a
serving certificate signed by the control plane's CA for the webhooks and the metrics endpoint; the
manager on free loopback ports, in its own mount namespace (see :func:`kueue_manifests.argv`); then,
once it is ready, the reduced webhook configurations, and a dry-run request that proves the API server
reaches them. :meth:`LocalKueue.stop` removes the webhook configurations first, so that the cluster
never keeps calling a manager that is gone.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rayjob_devenv import kueue_manifests as km
from rayjob_devenv.binaries import find_kueue
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.kubeapi import ApiError
from rayjob_devenv.pki import KeyPair, issue_serving_cert
from rayjob_devenv.ports import LOOPBACK, reserve_ports
from rayjob_devenv.procs import Component, ComponentFailed, StartStop, stop_all, wait_while_alive

ADMISSION_PATH = "/apis/admissionregistration.k8s.io/v1"
WEBHOOK_PLURALS = {
    "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
    "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
}
PROBE_FLAVOR = {"apiVersion": km.API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": "devenv-webhook-probe"}}
_VERSION_IN_LOG = re.compile(r'"msg":"Initializing".*?"gitVersion":"([^"]+)"')


class KueueError(RuntimeError):
    """Kueue could not start (the message says what was awaited and shows its log)."""


def _remove_webhooks(cp: LocalControlPlane, paths: list[str]) -> None:
    for path in paths:
        if not cp.stopped:
            cp.api.request("DELETE", path)


def _teardown(cp: LocalControlPlane, webhook_paths: list[str], procs: list[Component], grace: float) -> None:
    with contextlib.suppress(OSError):  # the API server is gone already: nothing calls the webhooks any more
        _remove_webhooks(cp, webhook_paths)
    stop_all(procs, grace)


class LocalKueue(StartStop):
    """One Kueue manager for one :class:`LocalControlPlane`; a context manager."""

    def __init__(
        self,
        cp: LocalControlPlane,
        *,
        frameworks: Sequence[str] = km.DEFAULT_FRAMEWORKS,
        namespace_selector: Mapping[str, Any] | None = None,
        startup_timeout: float = 90.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.cp = cp
        self.binary, self.source = find_kueue()
        self.frameworks = tuple(frameworks)
        self.namespace_selector = namespace_selector
        self.layout = km.KueueLayout(cp.data_dir / "kueue")
        self.ports = km.KueuePorts.from_list(reserve_ports(3))
        self.startup_timeout = startup_timeout
        self.version: str | None = None
        """The version the running binary reports (``gitVersion`` of its start-up line)."""
        self.startup_seconds: float | None = None
        self.crds: list[str] = []
        self._procs: list[Component] = []
        self._webhook_paths: list[str] = []
        self._deadline = 0.0
        self._finalizer = weakref.finalize(self, _teardown, cp, self._webhook_paths, self._procs, stop_grace)

    @property
    def log_path(self) -> Path:
        return self.cp.layout.log("kueue")

    @property
    def process(self) -> Component:
        if not self._procs:
            raise RuntimeError("Kueue was not started")
        return self._procs[0]

    def start(self) -> None:
        t0 = time.monotonic()
        self._deadline = t0 + self.startup_timeout
        try:
            ca_pem = self._write_files()
            self._create_namespace()
            self.crds = self.cp.apply_crd_docs(self._crds(ca_pem), source=str(self._crd_dir))
            self._spawn()
            self._wait("Kueue /readyz", self._ready)
            self._apply_webhooks(ca_pem)
            self._wait("the API server to reach Kueue's webhooks (a dry-run ResourceFlavor)", self._webhooks_answer)
            self.version = self._logged_version()
        except BaseException:
            self.cp.keep_logs()
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Remove the webhook configurations, then stop the manager; idempotent."""
        self._finalizer()

    # --- files -------------------------------------------------------------------------------------------

    @property
    def _crd_dir(self) -> Path:
        return self.source / "config/components/crd"

    def _write_files(self) -> bytes:
        """Certificates and config; returns the CA certificate (the webhooks' caBundle)."""
        pki = self.cp.pki
        ca = KeyPair(pki.ca_cert.read_bytes(), pki.ca_key.read_bytes())
        serving = issue_serving_cert(ca, "kueue-webhook")
        for directory in (self.layout.webhook_certs, self.layout.metrics_certs):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            (directory / "tls.crt").write_bytes(serving.cert_pem)
            (directory / "tls.key").write_bytes(serving.key_pem)
            (directory / "tls.key").chmod(0o600)
        self.layout.config.write_text(yaml.safe_dump(km.config(self.ports, self.layout, self.frameworks)))
        return ca.cert_pem

    def _crds(self, ca_pem: bytes) -> list[dict[str, Any]]:
        kustomization = yaml.safe_load((self._crd_dir / "kustomization.yaml").read_text())
        converted = {
            yaml.safe_load((self._crd_dir / path).read_text())["metadata"]["name"]
            for path in km.conversion_patch_paths(kustomization)
        }
        docs = [yaml.safe_load(p.read_text()) for p in sorted((self._crd_dir / "bases").glob("*.yaml"))]
        return km.prepare_crds(docs, converted, self.ports, ca_pem)

    def _create_namespace(self) -> None:
        try:
            self.cp.api.call("POST", "/api/v1/namespaces", km.namespace_manifest())
        except ApiError as e:
            if e.status != 409:
                raise

    # --- the process -------------------------------------------------------------------------------------

    def _spawn(self) -> None:
        as_root = os.geteuid() == 0
        if not km.MOUNT_POINT.is_dir():
            if not as_root:
                raise KueueError(
                    f"Kueue reads its metrics certificate from the hard-coded {km.METRICS_CERTS_PATH}; the harness "
                    f"binds a per-instance directory there and needs the empty mount point {km.MOUNT_POINT}: "
                    f"create it as root once (mkdir {km.MOUNT_POINT}), or run as root"
                )
            km.MOUNT_POINT.mkdir(exist_ok=True)  # an empty mount point; no file is ever written into it
        argv = km.argv(self.binary, self.layout, self.cp.kubeconfig, as_root=as_root)
        component = Component("kueue", argv, self.log_path)
        self._procs.append(component)
        component.start()

    def _wait(self, what: str, probe: Callable[[], object]) -> None:
        watched = [self.process, *self.cp.procs.values()]
        try:
            wait_while_alive(probe, self._deadline - time.monotonic(), what, watched=watched, blamed=self.process)
        except ComponentFailed as e:
            raise KueueError(f"{e}\n(data dir: {self.cp.data_dir})") from e

    def _ready(self) -> bool:
        conn = http.client.HTTPConnection(LOOPBACK, self.ports.health, timeout=2)
        try:
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def _logged_version(self) -> str:
        found = _VERSION_IN_LOG.search(self.log_path.read_text(errors="replace"))
        if found is None:
            raise KueueError(f"no 'Initializing ... gitVersion' line in {self.log_path}")
        return found.group(1)

    # --- webhooks ----------------------------------------------------------------------------------------

    def _apply_webhooks(self, ca_pem: bytes) -> None:
        manifests = yaml.safe_load_all((self.source / "config/components/webhook/manifests.yaml").read_text())
        configs = km.webhook_configurations(
            [m for m in manifests if isinstance(m, dict)],
            self.ports,
            ca_pem,
            frameworks=self.frameworks,
            namespace_selector=self.namespace_selector,
        )
        self.layout.webhook_configs.write_text(yaml.safe_dump_all(configs))
        for config in configs:
            path = f"{ADMISSION_PATH}/{WEBHOOK_PLURALS[config['kind']]}/{config['metadata']['name']}"
            self._webhook_paths.append(path)
            self.cp.api.apply(path, config)

    def _webhooks_answer(self) -> bool:
        status, _ = self.cp.api.request("POST", f"/apis/{km.API_VERSION}/resourceflavors?dryRun=All", PROBE_FLAVOR)
        return status in (200, 201, 409)
