"""A real, local Kubernetes control plane: etcd, kube-apiserver, controller-manager, scheduler, kwok.

    with LocalControlPlane() as cp:
        cp.apply_crds(sorted(Path("crds").glob("*.yaml")))
        ...  # use cp.kubeconfig / cp.server

Every instance gets free loopback ports and a fresh temp data dir (PKI, kubeconfig, kwok stages,
etcd data, one log per component under ``logs/``), so several instances can share a machine.
Nothing outlives the instance: see :mod:`rayjob_devenv.procs` for how children are tied to us, and
:meth:`LocalControlPlane.stop` (also run by a finalizer at interpreter exit).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import shutil
import signal
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from rayjob_devenv import components as comp
from rayjob_devenv.binaries import find_bin_dir
from rayjob_devenv.kubeapi import ApiError, KubeHttp, condition_status
from rayjob_devenv.kubeconfig import render_kubeconfig, write_kubeconfig
from rayjob_devenv.pki import PkiPaths, generate_pki, write_pki
from rayjob_devenv.ports import LOOPBACK, reserve_ports
from rayjob_devenv.procs import Component, ComponentFailed, StartStop, pids_mentioning, stop_all, wait_while_alive
from rayjob_devenv.waiting import wait_for

KEEP_ENV = "RAYJOB_CP_KEEP"
"""Set to 1 to keep every instance's data dir (logs, etcd data) after it stops."""
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"

# Stop order: clients of the API server first, then the API server, then its storage.
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_STOP_PHASES = (("kwok", "kube-scheduler", "kube-controller-manager"), ("kube-apiserver",), ("etcd",))


class ControlPlaneError(RuntimeError):
    """The control plane could not start (the message names the component and shows its log)."""


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ignore Ctrl-C (and TERM/HUP) while tearing down, so a second one cannot leave half a cluster."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _teardown(procs: dict[str, Component], data_dir: Path, keep: list[bool], grace: float) -> None:
    """Stop every process (phase by phase), then remove the data dir unless it is to be kept."""
    with _interrupts_deferred():
        for phase in _STOP_PHASES:
            stop_all([procs[name] for name in phase if name in procs], grace)
        if keep[0]:
            shutil.rmtree(data_dir / "etcd", ignore_errors=True)  # logs are what matters; etcd is big
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


class LocalControlPlane(StartStop):
    """One control plane instance; a context manager (``start`` on enter, ``stop`` on exit)."""

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        nodes: Sequence[comp.FakeNode] = (comp.FakeNode(),),
        crds: Sequence[Path] = (),
        apiserver_args: Sequence[str] = (),
        base_dir: Path | None = None,
        keep_data: bool | None = None,
        startup_timeout: float = 90.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.bin_dir = find_bin_dir(bin_dir)
        self.nodes = tuple(nodes)
        self.crd_files = tuple(crds)
        self.apiserver_args = tuple(apiserver_args)
        """Extra kube-apiserver flags (e.g. an audit log), appended after the defaults."""
        self.crds: list[str] = []
        """Names of the CRDs applied during start-up (all Established)."""
        self.startup_timeout = startup_timeout
        """Deadline of the whole :meth:`start`; each step also has its own, shorter one."""
        self._deadline = 0.0
        self.data_dir = Path(tempfile.mkdtemp(prefix="rayjob-cp-", dir=base_dir))
        self.layout = comp.Layout(self.data_dir)
        self.ports = comp.Ports.from_list(reserve_ports(5))
        self.server = comp.server_url(self.ports)
        self.kubeconfig = self.layout.kubeconfig
        self.kubectl = self.bin_dir / "kubectl"
        self.startup_seconds: float | None = None
        """Wall time of :meth:`start`, once it succeeded."""
        self.timings: dict[str, float] = {}
        """Seconds from the start of :meth:`start` until each milestone."""
        self.procs: dict[str, Component] = {}
        keep = os.environ.get(KEEP_ENV, "") not in ("", "0") if keep_data is None else keep_data
        self._keep = [keep]  # a list, so the finalizer sees later changes
        self._pki: PkiPaths | None = None
        self._api: KubeHttp | None = None
        self._finalizer = weakref.finalize(self, _teardown, self.procs, self.data_dir, self._keep, stop_grace)

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every component and wait until the API is ready and every fake node is Ready."""
        t0 = time.monotonic()
        self._deadline = t0 + self.startup_timeout
        try:
            self._prepare_files()
            self._start_storage_and_api(t0)
            if self.crd_files:
                self.crds = self.apply_crds(self.crd_files)
                self.timings["crds"] = time.monotonic() - t0
            self._start_controllers(t0)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Stop all components (SIGTERM, then SIGKILL after a grace period); idempotent."""
        self._finalizer()

    def keep_logs(self) -> None:
        """Keep the data dir (logs, PKI, kubeconfig; not etcd's data) when the instance stops."""
        self._keep[0] = True

    @property
    def stopped(self) -> bool:
        return not self._finalizer.alive

    def restart_apiserver(self, timeout: float = 60.0, grace: float = 10.0) -> float:
        """Stop kube-apiserver (SIGTERM, SIGKILL after ``grace`` s), start it again with the same flags, ports
        and log, and wait for /readyz. Returns the seconds it was away. etcd and the other components keep
        running (they reconnect). Call it from the thread that started the control plane: a component dies
        with the thread that started it (see :mod:`rayjob_devenv.procs`)."""
        old = self.procs["kube-apiserver"]
        t0 = time.monotonic()
        stop_all([old], grace)
        self._deadline = time.monotonic() + timeout
        api = self._spawn("kube-apiserver", old.argv)
        self._wait(api, timeout, "kube-apiserver /readyz after a restart", self._apiserver_ready)
        return time.monotonic() - t0

    # --- start-up steps ------------------------------------------------------------------------------
    def _prepare_files(self) -> None:
        pki = generate_pki()
        self._pki = write_pki(pki, self.layout.pki)
        config = render_kubeconfig(
            self.server,
            ca_pem=pki.ca.cert_pem,
            client_cert_pem=pki.admin.cert_pem,
            client_key_pem=pki.admin.key_pem,
        )
        write_kubeconfig(self.kubeconfig, config)
        self.layout.kwok_config.write_text(comp.kwok_config_text())
        self._api = KubeHttp(
            LOOPBACK,
            self.ports.apiserver,
            ca_file=self._pki.ca_cert,
            cert_file=self._pki.admin_cert,
            key_file=self._pki.admin_key,
        )

    def _spawn(self, name: str, argv: list[str]) -> Component:
        component = Component(name, argv, self.layout.log(name))
        self.procs[name] = component
        component.start()
        return component

    def _start_storage_and_api(self, t0: float) -> None:
        assert self._pki is not None
        etcd = self._spawn("etcd", comp.etcd_argv(self.bin_dir, self.layout, self.ports))
        self._wait(etcd, 30, "etcd /health", self._etcd_healthy)
        self.timings["etcd"] = time.monotonic() - t0
        argv = [*comp.apiserver_argv(self.bin_dir, self.layout, self.ports, self._pki), *self.apiserver_args]
        api = self._spawn("kube-apiserver", argv)
        self._wait(api, 60, "kube-apiserver /readyz", self._apiserver_ready)
        self._wait(api, 30, "the 'default' namespace", lambda: self._exists("/api/v1/namespaces/default"))
        self.timings["kube-apiserver"] = time.monotonic() - t0

    def _start_controllers(self, t0: float) -> None:
        assert self._pki is not None
        kcm = self._spawn(
            "kube-controller-manager",
            comp.controller_manager_argv(self.bin_dir, self.layout, self.ports, self._pki),
        )
        sched = self._spawn("kube-scheduler", comp.scheduler_argv(self.bin_dir, self.layout, self.ports))
        kwok = self._spawn("kwok", comp.kwok_argv(self.bin_dir, self.layout))
        for node in self.nodes:
            self.api.call("POST", "/api/v1/nodes", node.manifest())
        self._wait(kcm, 30, "kube-controller-manager /healthz", self._healthz(self.ports.controller_manager))
        self.timings["kube-controller-manager"] = time.monotonic() - t0
        self._wait(sched, 30, "kube-scheduler /healthz", self._healthz(self.ports.scheduler))
        self.timings["kube-scheduler"] = time.monotonic() - t0
        for node in self.nodes:
            self._wait(kwok, 30, f"node {node.name} Ready", functools.partial(self._node_ready, node.name))
        self.timings["kwok"] = time.monotonic() - t0
        for node in self.nodes:
            self._wait(
                kcm,
                30,
                f"node {node.name} to lose its {NOT_READY_TAINT} taint (node-lifecycle controller)",
                functools.partial(self._node_schedulable, node.name),
            )
        self.timings["nodes-schedulable"] = time.monotonic() - t0

    def _wait(self, component: Component, timeout: float, what: str, probe: Callable[[], object]) -> None:
        """Poll ``probe``; on failure raise with the log tail of the culprit.

        The culprit is the first component that exited, else ``component`` (the one waited for).
        """

        remaining = min(timeout, self._deadline - time.monotonic())
        try:
            wait_while_alive(probe, remaining, what, watched=list(self.procs.values()), blamed=component)
        except ComponentFailed as e:
            self.keep_logs()  # the error message points to them
            raise ControlPlaneError(f"{e}\n(data dir: {self.data_dir})") from e

    # --- probes --------------------------------------------------------------------------------------
    def _etcd_healthy(self) -> bool:
        conn = http.client.HTTPConnection(LOOPBACK, self.ports.etcd_client, timeout=2)
        try:
            conn.request("GET", "/health")
            return b'"health":"true"' in conn.getresponse().read()
        finally:
            conn.close()

    @staticmethod
    def _healthz(port: int) -> Callable[[], bool]:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # the component's own throw-away self-signed cert

        def probe() -> bool:
            conn = http.client.HTTPSConnection(LOOPBACK, port, context=insecure, timeout=2)
            try:
                conn.request("GET", "/healthz")
                return conn.getresponse().status == 200
            finally:
                conn.close()

        return probe

    def _apiserver_ready(self) -> bool:
        return self.api.request("GET", "/readyz")[0] == 200

    def _exists(self, path: str) -> bool:
        return self.api.request("GET", path)[0] == 200

    def _node_ready(self, name: str) -> bool:
        return condition_status(self.api.get(f"/api/v1/nodes/{name}"), "Ready") == "True"

    def _node_schedulable(self, name: str) -> bool:
        taints = self.api.get(f"/api/v1/nodes/{name}").get("spec", {}).get("taints") or []
        return not any(t.get("key") == NOT_READY_TAINT for t in taints)

    # --- using the cluster ---------------------------------------------------------------------------
    @property
    def api(self) -> KubeHttp:
        """The harness's own admin HTTPS client."""
        if self._api is None:
            raise RuntimeError("the control plane was not started")
        return self._api

    @property
    def pki(self) -> PkiPaths:
        if self._pki is None:
            raise RuntimeError("the control plane was not started")
        return self._pki

    def apply_crds(self, paths: Sequence[Path], timeout: float = 60.0) -> list[str]:
        """Server-side apply every CRD in ``paths``; wait until each is Established. Returns names.

        CRDs given to the constructor are applied before the controller-manager starts, so its
        garbage collector knows their kinds from the first moment. CRDs applied later are served at
        once, but the garbage collector notices new kinds only on its next discovery sync (every
        30 s): until then, deleting such an owner does not collect its dependents.
        """
        names: list[str] = []
        for path in paths:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
            names += self.apply_crd_docs(docs, timeout, source=str(path), wait=False)
        self._wait_established(names, timeout)
        return names

    def apply_crd_docs(
        self, docs: Sequence[dict[str, Any]], timeout: float = 60.0, *, source: str = "", wait: bool = True
    ) -> list[str]:
        """Server-side apply the CRDs among ``docs`` (parsed manifests); wait until each is Established."""
        names: list[str] = []
        for doc in docs:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            name = doc["metadata"]["name"]
            try:
                self.api.apply(f"{CRD_PATH}/{name}", doc)
            except ApiError as e:
                origin = f" from {source}" if source else ""
                raise ControlPlaneError(f"kube-apiserver rejected CRD {name}{origin}: {e.message}") from e
            names.append(name)
        if wait:
            self._wait_established(names, timeout)
        return names

    def _wait_established(self, names: Sequence[str], timeout: float) -> None:
        for name in names:
            wait_for(functools.partial(self._crd_established, name), timeout, f"CRD {name} to be Established")

    def _crd_established(self, name: str) -> bool:
        crd: dict[str, Any] = self.api.get(f"{CRD_PATH}/{name}")
        return condition_status(crd, "Established") == "True" and (condition_status(crd, "NamesAccepted") == "True")

    def kubectl_argv(self, *args: str) -> list[str]:
        """A command line for the built kubectl against this cluster (its cache inside the data dir)."""
        return [
            str(self.kubectl),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.layout.kubectl_cache}",
            *args,
        ]

    def pids(self) -> dict[str, int]:
        """PID of each started component."""
        return {name: c.pid for name, c in self.procs.items() if c.pid is not None}

    def leftover_pids(self) -> list[int]:
        """Live processes whose command line mentions this instance's data dir (empty once stopped)."""
        return pids_mentioning(str(self.data_dir))
