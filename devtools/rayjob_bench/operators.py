"""The operators under test, as processes: ours (``rayjob-operator``) and KubeRay's Go binary.

Both run out of cluster against the run's control plane with a kubeconfig of their own identity (so the
audit log can tell their requests apart), ``HTTP_PROXY`` pointing at the load-generator dashboard, leader
election off and every listener on a free loopback port (or none). Each runs with its own defaults; KubeRay
optionally with ``--reconcile-concurrency``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Protocol

from rayjob_bench.config import OperatorName
from rayjob_devenv.binaries import REPO_ROOT
from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.ports import LOOPBACK, reserve_ports
from rayjob_devenv.procs import Component, stop_all
from rayjob_devenv.waiting import wait_for

KUBERAY_BUILD = REPO_ROOT / "hack" / "kuberay" / "build.sh"
KUBERAY_DIR_ENV = "RAYJOB_KUBERAY_DIR"
OUR_CRDS = REPO_ROOT / "crds"
KUBERAY_READY = ('"logger":"controllers.RayJob"', '"msg":"Starting workers"')
KUBERAY_CONCURRENCY = {OperatorName.KUBERAY: None, OperatorName.KUBERAY_C10: 10}
START_TIMEOUT = 120.0


class OperatorUnderTest(Protocol):
    name: OperatorName
    log_path: Path

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def pid(self) -> int | None: ...


@dataclasses.dataclass(frozen=True)
class KubeRayBuild:
    directory: Path
    version: str

    @property
    def binary(self) -> Path:
        return self.directory / "kuberay-operator"

    @property
    def crds(self) -> list[Path]:
        return sorted((self.directory / "crds").glob("*.yaml"))


def kuberay_version() -> str:
    for line in (REPO_ROOT / "hack" / "kuberay" / "versions.env").read_text().splitlines():
        if line.startswith("KUBERAY_VERSION="):
            return line.split("=", 1)[1].strip()
    raise RuntimeError("hack/kuberay/versions.env has no KUBERAY_VERSION")


def find_kuberay(explicit: Path | None = None) -> KubeRayBuild:
    """The built KubeRay (``explicit``, ``$RAYJOB_KUBERAY_DIR``, else what ``hack/kuberay/build.sh`` prints)."""
    directory = explicit or (Path(os.environ[KUBERAY_DIR_ENV]) if os.environ.get(KUBERAY_DIR_ENV) else None)
    if directory is None:
        done = subprocess.run([str(KUBERAY_BUILD)], capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{KUBERAY_BUILD} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        directory = Path(done.stdout.strip().splitlines()[-1])
    build = KubeRayBuild(directory, kuberay_version())
    if not os.access(build.binary, os.X_OK) or not build.crds:
        raise RuntimeError(f"{directory} lacks kuberay-operator or crds/*.yaml; run {KUBERAY_BUILD}")
    return build


def proxy_env(proxy: str) -> dict[str, str]:
    """Dashboard traffic to the load generator; the API server (loopback) never goes through it."""
    no_proxy = f"{LOOPBACK},localhost"
    return {"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": no_proxy, "no_proxy": no_proxy}


class Ours:
    """``rayjob-operator`` as shipped: its defaults, INFO logging, no metrics listener."""

    def __init__(self, *, kubeconfig: Path, log_path: Path, proxy: str) -> None:
        self.name = OperatorName.OURS
        self.log_path = log_path
        self._process = OperatorProcess(
            kubeconfig=kubeconfig,
            log_path=log_path,
            settings={"RAYJOB_OPERATOR_METRICS_PORT": "0"},
            proxy=proxy,
            fast=False,
            verbose=False,
        )

    def start(self) -> None:
        self._process.start(timeout=START_TIMEOUT)

    def stop(self) -> None:
        self._process.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid


class KubeRay:
    """KubeRay's operator binary: defaults, except leader election off and loopback listeners."""

    def __init__(
        self, build: KubeRayBuild, name: OperatorName, *, kubeconfig: Path, log_path: Path, proxy: str
    ) -> None:
        self.name = name
        self.log_path = log_path
        metrics, probes = reserve_ports(2)
        argv = [
            str(build.binary),
            f"--metrics-addr={LOOPBACK}:{metrics}",
            f"--health-probe-bind-address={LOOPBACK}:{probes}",
            "--enable-leader-election=false",
        ]
        concurrency = KUBERAY_CONCURRENCY[name]
        if concurrency is not None:
            argv.append(f"--reconcile-concurrency={concurrency}")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(proxy_env(proxy), KUBECONFIG=str(kubeconfig))
        self._component = Component(name.value, argv, log_path, env)

    def start(self) -> None:
        self._component.start()
        component = self._component
        wait_for(
            lambda: any(all(part in line for part in KUBERAY_READY) for line in self._log().splitlines()),
            START_TIMEOUT,
            "KubeRay's RayJob controller to start its workers",
            abort=lambda: None if component.running() else component.describe_failure("exited during start-up"),
        )

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        stop_all([self._component], grace=15.0)

    @property
    def pid(self) -> int | None:
        return self._component.pid


def make_operator(
    name: OperatorName, *, kubeconfig: Path, log_path: Path, proxy: str, kuberay: KubeRayBuild | None
) -> OperatorUnderTest:
    if name is OperatorName.OURS:
        return Ours(kubeconfig=kubeconfig, log_path=log_path, proxy=proxy)
    if kuberay is None:
        raise RuntimeError(f"{name} needs the KubeRay build")
    return KubeRay(kuberay, name, kubeconfig=kubeconfig, log_path=log_path, proxy=proxy)


def crds_for(name: OperatorName, kuberay: KubeRayBuild | None) -> list[Path]:
    """Each operator owns ray.io with its own CRDs (ours: crds/, KubeRay: its module's config/crd/bases)."""
    if name is OperatorName.OURS:
        return sorted(OUR_CRDS.glob("*.yaml"))
    if kuberay is None:
        raise RuntimeError(f"{name} needs the KubeRay build")
    return kuberay.crds
