"""Pure recipes of the control plane: file layout, ports, each component's command line, fake nodes.

Nothing here starts a process or touches the disk; :mod:`rayjob_devenv.controlplane` does that.
Flags follow /work/shared/spec/control-plane.md §5 (envtest-style, loopback only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rayjob_devenv.pki import PkiPaths
from rayjob_devenv.ports import LOOPBACK

STAGES_DIR = Path(__file__).resolve().parent / "stages"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
HEALTH_PATHS = "/healthz,/readyz,/livez,/metrics"
NODE_LEASE_SECONDS = 40


@dataclasses.dataclass(frozen=True)
class Ports:
    """The loopback ports of one control plane instance."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int

    @classmethod
    def from_list(cls, ports: list[int]) -> Ports:
        return cls(*ports)

    def all(self) -> list[int]:
        return list(dataclasses.astuple(self))


@dataclasses.dataclass(frozen=True)
class Layout:
    """Files and directories inside one instance's data dir."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def kwok_config(self) -> Path:
        return self.root / "kwok.yaml"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubectl_cache(self) -> Path:
        return self.root / "kubectl-cache"

    def certs(self, component: str) -> Path:
        """A component's own --cert-dir (self-signed serving certs it generates)."""
        return self.root / "certs" / component

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


@dataclasses.dataclass(frozen=True)
class FakeNode:
    """A kwok-managed node: large capacity and no taint, so any pod fits."""

    name: str = "kwok-node-0"
    cpu: str = "64"
    memory: str = "256Gi"
    pods: str = "1000"
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        resources = {"cpu": self.cpu, "memory": self.memory, "pods": self.pods}
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
            **self.labels,
        }
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": labels,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": {},
            "status": {"capacity": resources, "allocatable": dict(resources)},
        }


def server_url(ports: Ports) -> str:
    return f"https://{LOOPBACK}:{ports.apiserver}"


def etcd_argv(bin_dir: Path, layout: Layout, ports: Ports) -> list[str]:
    client = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return [
        str(bin_dir / "etcd"),
        "--name=node0",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node0={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_argv(bin_dir: Path, layout: Layout, ports: Ports, pki: PkiPaths) -> list[str]:
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={layout.certs('kube-apiserver')}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--service-account-issuer={server_url(ports)}",
        f"--service-account-key-file={pki.sa_public_key}",
        f"--service-account-signing-key-file={pki.sa_private_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        # No controller creates the `default` ServiceAccount before a test's first pod: avoid the race.
        "--disable-admission-plugins=ServiceAccount",
        "--endpoint-reconciler-type=none",
        # A test cluster has one client at a time: no request throttling.
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=0",
        "--max-mutating-requests-inflight=0",
        "--profiling=false",
    ]


def _serving_flags(layout: Layout, component: str, port: int) -> list[str]:
    return [
        f"--kubeconfig={layout.kubeconfig}",
        f"--authentication-kubeconfig={layout.kubeconfig}",
        f"--authorization-kubeconfig={layout.kubeconfig}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--cert-dir={layout.certs(component)}",
        f"--authorization-always-allow-paths={HEALTH_PATHS}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def controller_manager_argv(bin_dir: Path, layout: Layout, ports: Ports, pki: PkiPaths) -> list[str]:
    return [
        str(bin_dir / "kube-controller-manager"),
        *_serving_flags(layout, "kube-controller-manager", ports.controller_manager),
        "--controllers=*",
        f"--root-ca-file={pki.ca_cert}",
        f"--service-account-private-key-file={pki.sa_private_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    ]


def scheduler_argv(bin_dir: Path, layout: Layout, ports: Ports) -> list[str]:
    return [str(bin_dir / "kube-scheduler"), *_serving_flags(layout, "kube-scheduler", ports.scheduler)]


def kwok_argv(bin_dir: Path, layout: Layout) -> list[str]:
    return [
        str(bin_dir / "kwok"),
        f"--kubeconfig={layout.kubeconfig}",
        f"--config={layout.kwok_config}",
        "--manage-all-nodes=true",
        f"--cidr={POD_CIDR}",
        f"--node-ip={LOOPBACK}",
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
    ]


def kwok_config_text(stages_dir: Path = STAGES_DIR) -> str:
    """kwok's --config: every Stage file of ``stages_dir``, as one multi-document YAML."""
    files = sorted(stages_dir.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no kwok stage files in {stages_dir}")
    return "\n---\n".join(f.read_text().strip() for f in files) + "\n"
