"""Pure recipes for running Kueue out of cluster: its files, its command line, its webhooks and CRDs.

Nothing here starts a process or touches the disk; :mod:`rayjob_devenv.kueue` does that. The facts come
from Kueue's own sources (``cmd/kueue/main.go``, ``config/components/``), read by the harness from the Go
module cache at run time (never copied into the repo):

- with internal cert management off, the manager serves its webhooks from ``webhook.certDir`` and its
  metrics from the hard-coded ``/etc/kueue/metrics/certs/``; it exits when either is missing;
- the visibility API server (feature gate ``VisibilityOnDemand``) writes into ``/visibility``: it is off;
- the webhook manifests address an in-cluster Service: here each gets ``url: https://127.0.0.1:<port><path>``
  and the harness CA as ``caBundle`` (as envtest does), and only the webhooks of the enabled kinds are
  kept, so kwok pods and other objects never depend on Kueue being up;
- the CRDs that upstream patches with a conversion webhook (``crd/kustomization.yaml``) get the same URL.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rayjob_devenv.ports import LOOPBACK

NAMESPACE = "kueue-system"
GROUP = "kueue.x-k8s.io"
API_VERSION = f"{GROUP}/v1beta2"
METRICS_CERTS_PATH = Path("/etc/kueue/metrics/certs")
"""Hard-coded in Kueue (main.go) when internal cert management is off."""
MOUNT_POINT = Path("/etc/kueue")
"""Where each Kueue process sees its own directory (a private mount namespace; nothing is written here)."""
CONVERT_PATH = "/convert"
FRAMEWORK_RESOURCES: Mapping[str, tuple[str, str]] = {
    "ray.io/rayjob": ("ray.io", "rayjobs"),
    "ray.io/raycluster": ("ray.io", "rayclusters"),
}
"""Kueue integration name → the (API group, resource) its webhooks admit."""
DEFAULT_FRAMEWORKS = ("ray.io/rayjob",)
WEBHOOK_CONFIG_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


@dataclasses.dataclass(frozen=True)
class KueuePorts:
    webhook: int
    health: int
    metrics: int

    @classmethod
    def from_list(cls, ports: Sequence[int]) -> KueuePorts:
        return cls(*ports)

    @property
    def webhook_base_url(self) -> str:
        return f"https://{LOOPBACK}:{self.webhook}"


@dataclasses.dataclass(frozen=True)
class KueueLayout:
    """Files of one Kueue instance inside its own directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def webhook_certs(self) -> Path:
        return self.root / "webhook-certs"

    @property
    def etc_view(self) -> Path:
        """Bound onto /etc/kueue inside Kueue's mount namespace."""
        return self.root / "etc-kueue"

    @property
    def metrics_certs(self) -> Path:
        return self.etc_view / METRICS_CERTS_PATH.relative_to(MOUNT_POINT)

    @property
    def webhook_configs(self) -> Path:
        return self.root / "webhooks.yaml"


def config(ports: KueuePorts, layout: KueueLayout, frameworks: Sequence[str] = DEFAULT_FRAMEWORKS) -> dict[str, Any]:
    """The manager's ``--config`` (config.kueue.x-k8s.io/v1beta2): loopback only, one replica, our certs."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"{LOOPBACK}:{ports.health}"},
        "metrics": {"bindAddress": f"{LOOPBACK}:{ports.metrics}"},
        "webhook": {"host": LOOPBACK, "port": ports.webhook, "certDir": str(layout.webhook_certs)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "integrations": {"frameworks": list(frameworks)},
        "featureGates": {"VisibilityOnDemand": False},
        "clientConnection": {"qps": 50, "burst": 100},  # upstream's manager config
    }


def argv(kueue_bin: Path, layout: KueueLayout, kubeconfig: Path, *, as_root: bool) -> list[str]:
    """Kueue in a private mount namespace where ``layout.etc_view`` is /etc/kueue.

    Every instance (two control planes may run at once) thus reads its own metrics certificate, and the
    bind mount vanishes with the process. Without root, a user namespace grants the mount.
    """
    userns = [] if as_root else ["--map-root-user"]
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation=private",
        *userns,
        "--",
        "/bin/sh",
        "-c",
        script,
        "kueue-mount",
        str(layout.etc_view),
        str(MOUNT_POINT),
        str(kueue_bin),
        f"--config={layout.config}",
        f"--kubeconfig={kubeconfig}",
        "--zap-log-level=info",
    ]


def namespace_manifest() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


# --- webhooks ----------------------------------------------------------------------------------------------


def _admits(webhook: Mapping[str, Any], wanted: set[tuple[str, str]]) -> bool:
    """Whether one of the webhook's rules covers a wanted (group, resource); ``*`` stands for any resource."""
    for rule in webhook.get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                if (group, resource) in wanted or (group, "*") in wanted:
                    return True
    return False


def wanted_resources(frameworks: Iterable[str]) -> set[tuple[str, str]]:
    """Kueue's own kinds plus the kinds of the enabled integrations."""
    unknown = [f for f in frameworks if f not in FRAMEWORK_RESOURCES]
    if unknown:
        raise ValueError(f"no webhook mapping for Kueue integration(s) {unknown}: known {sorted(FRAMEWORK_RESOURCES)}")
    return {(GROUP, "*"), *(FRAMEWORK_RESOURCES[f] for f in frameworks)}


def webhook_configurations(
    manifests: Iterable[Mapping[str, Any]],
    ports: KueuePorts,
    ca_pem: bytes,
    *,
    frameworks: Sequence[str] = DEFAULT_FRAMEWORKS,
    namespace_selector: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Kueue's webhook configurations, reduced to the wanted kinds and pointed at the local manager.

    ``namespace_selector`` (optional) limits the webhooks of the integrations' kinds (not Kueue's own,
    mostly cluster-scoped kinds) to matching namespaces.
    """
    wanted = wanted_resources(frameworks)
    integrations = wanted - {(GROUP, "*")}
    out: list[dict[str, Any]] = []
    for doc in manifests:
        if doc.get("kind") not in WEBHOOK_CONFIG_KINDS:
            continue
        config = copy.deepcopy(dict(doc))
        config["metadata"]["name"] = "kueue-" + config["metadata"]["name"]  # upstream's kustomize namePrefix
        kept = [w for w in config.get("webhooks") or [] if _admits(w, wanted)]
        for webhook in kept:
            path = webhook["clientConfig"]["service"]["path"]
            webhook["clientConfig"] = {"url": ports.webhook_base_url + path, "caBundle": _b64(ca_pem)}
            if namespace_selector is not None and _admits(webhook, integrations):
                webhook["namespaceSelector"] = copy.deepcopy(dict(namespace_selector))
        if kept:
            config["webhooks"] = kept
            out.append(config)
    return out


# --- CRDs --------------------------------------------------------------------------------------------------


def conversion_patch_paths(kustomization: Mapping[str, Any]) -> list[str]:
    """The patch files of ``crd/kustomization.yaml`` that enable a conversion webhook (upstream's choice)."""
    paths = [p.get("path", "") for p in kustomization.get("patches") or [] if isinstance(p, Mapping)]
    return [p for p in paths if Path(p).name.startswith("webhook_in_")]


def with_conversion_webhook(crd: Mapping[str, Any], ports: KueuePorts, ca_pem: bytes) -> dict[str, Any]:
    """``crd`` converted between its versions by the local manager's ``/convert``."""
    out = copy.deepcopy(dict(crd))
    out["spec"]["conversion"] = {
        "strategy": "Webhook",
        "webhook": {
            "clientConfig": {"url": ports.webhook_base_url + CONVERT_PATH, "caBundle": _b64(ca_pem)},
            "conversionReviewVersions": ["v1"],
        },
    }
    return out


def prepare_crds(
    crds: Iterable[Mapping[str, Any]], converted: set[str], ports: KueuePorts, ca_pem: bytes
) -> list[dict[str, Any]]:
    """Kueue's CRDs as the cluster gets them: those named in ``converted`` with the conversion webhook."""
    out = []
    for crd in crds:
        name = crd["metadata"]["name"]
        out.append(with_conversion_webhook(crd, ports, ca_pem) if name in converted else copy.deepcopy(dict(crd)))
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
