"""Pure recipes of the local Kueue: its config, command line, reduced webhooks and converted CRDs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from rayjob_devenv import kueue_manifests as km

PORTS = km.KueuePorts(webhook=20001, health=20002, metrics=20003)
LAYOUT = km.KueueLayout(Path("/data/kueue"))
CA = b"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"


def webhook(name: str, group: str, resource: str, path: str) -> dict[str, Any]:
    return {
        "name": name,
        "clientConfig": {"service": {"name": "webhook-service", "namespace": "system", "path": path}},
        "failurePolicy": "Fail",
        "rules": [{"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": [resource]}],
    }


MANIFESTS = [
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "mutating-webhook-configuration"},
        "webhooks": [
            webhook("mpod.kb.io", "", "pods", "/mutate--v1-pod"),
            webhook("mjob.kb.io", "batch", "jobs", "/mutate-batch-v1-job"),
            webhook("mrayjob.kb.io", "ray.io", "rayjobs", "/mutate-ray-io-v1-rayjob"),
            webhook("mraycluster.kb.io", "ray.io", "rayclusters", "/mutate-ray-io-v1-raycluster"),
            webhook("mworkload.kb.io", "kueue.x-k8s.io", "workloads", "/mutate-kueue-x-k8s-io-v1beta2-workload"),
        ],
    },
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook-service"}},
]


def test_config_is_loopback_only_single_replica_with_our_certs() -> None:
    config = km.config(PORTS, LAYOUT)
    assert config["health"] == {"healthProbeBindAddress": "127.0.0.1:20002"}
    assert config["metrics"] == {"bindAddress": "127.0.0.1:20003"}
    assert config["webhook"] == {"host": "127.0.0.1", "port": 20001, "certDir": "/data/kueue/webhook-certs"}
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["internalCertManagement"] == {"enable": False}
    assert config["featureGates"] == {"VisibilityOnDemand": False}
    assert config["integrations"] == {"frameworks": ["ray.io/rayjob"]}


def test_metrics_certs_live_in_the_instance_dir_seen_as_etc_kueue() -> None:
    assert LAYOUT.metrics_certs == Path("/data/kueue/etc-kueue/metrics/certs")
    argv = km.argv(Path("/bin/kueue"), LAYOUT, Path("/data/admin.kubeconfig"), as_root=True)
    assert argv[:3] == ["unshare", "--mount", "--propagation=private"]
    assert "--map-root-user" not in argv
    bound = argv.index(str(LAYOUT.etc_view))
    assert argv[bound + 1 : bound + 3] == ["/etc/kueue", "/bin/kueue"]
    assert argv[-3:] == [
        "--config=/data/kueue/config.yaml",
        "--kubeconfig=/data/admin.kubeconfig",
        "--zap-log-level=info",
    ]
    assert "--map-root-user" in km.argv(Path("/bin/kueue"), LAYOUT, Path("/k"), as_root=False)


def test_only_the_webhooks_of_kueue_and_rayjob_are_kept_and_point_at_loopback() -> None:
    (config,) = km.webhook_configurations(MANIFESTS, PORTS, CA)
    assert config["metadata"]["name"] == "kueue-mutating-webhook-configuration"
    assert [w["name"] for w in config["webhooks"]] == ["mrayjob.kb.io", "mworkload.kb.io"]
    client = config["webhooks"][0]["clientConfig"]
    assert client == {
        "url": "https://127.0.0.1:20001/mutate-ray-io-v1-rayjob",
        "caBundle": base64.b64encode(CA).decode(),
    }
    assert "namespaceSelector" not in config["webhooks"][0]
    assert MANIFESTS[0]["webhooks"][2]["clientConfig"]["service"]  # the input is not modified


def test_namespace_selector_scopes_the_integration_webhooks_only() -> None:
    selector = {"matchLabels": {"team": "a"}}
    (config,) = km.webhook_configurations(
        MANIFESTS, PORTS, CA, frameworks=["ray.io/rayjob", "ray.io/raycluster"], namespace_selector=selector
    )
    scoped = {w["name"]: w.get("namespaceSelector") for w in config["webhooks"]}
    assert scoped == {"mrayjob.kb.io": selector, "mraycluster.kb.io": selector, "mworkload.kb.io": None}


def test_unknown_framework_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"batch/job"):
        km.webhook_configurations(MANIFESTS, PORTS, CA, frameworks=["batch/job"])


def test_crds_patched_upstream_convert_through_the_manager() -> None:
    kustomization = {
        "patches": [
            {"path": "patches/webhook_in_workloads.yaml"},
            {"path": "patches/cainjection_in_workloads.yaml"},
            {"patch": "inline"},
        ]
    }
    assert km.conversion_patch_paths(kustomization) == ["patches/webhook_in_workloads.yaml"]
    crds = [{"metadata": {"name": n}, "spec": {"versions": []}} for n in ("workloads.kueue.x-k8s.io", "topologies.x")]
    workloads, topologies = km.prepare_crds(crds, {"workloads.kueue.x-k8s.io"}, PORTS, CA)
    webhook_config = workloads["spec"]["conversion"]["webhook"]
    assert workloads["spec"]["conversion"]["strategy"] == "Webhook"
    assert webhook_config["clientConfig"]["url"] == "https://127.0.0.1:20001/convert"
    assert webhook_config["conversionReviewVersions"] == ["v1"]
    assert "conversion" not in topologies["spec"]
