"""The head Service, the headless worker Service, names, ports and addresses, labels and owner refs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rayjob_operator import constants
from rayjob_operator.builders import labels, services
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import RayCluster
from tests.manifests import cluster_owner

OPTIONS = PodOptions()


def _cluster(
    head_ports: list[dict[str, Any]] | None = None,
    *,
    name: str = "c",
    head: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
) -> RayCluster:
    container: dict[str, Any] = {"name": "ray-head", "image": "rayproject/ray:2.52.0"}
    if head_ports is not None:
        container["ports"] = head_ports
    head_group = {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}, **(head or {})}
    body = {
        "metadata": {"name": name, "namespace": "ns", "uid": "uid-1"},
        "spec": {"headGroupSpec": head_group, **(spec or {})},
    }
    return RayCluster.model_validate(body)


def _ports(service: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p["name"], p["port"]) for p in service["spec"]["ports"]]


# --- names and addresses ------------------------------------------------------------------------------------


def test_head_service_name_default_and_override() -> None:
    assert services.head_service_name(_cluster()) == "c-head-svc"
    custom = _cluster(head={"headService": {"metadata": {"name": "mine"}}})
    assert services.head_service_name(custom) == "mine"


def test_long_cluster_names_are_not_clipped_like_kuberay() -> None:
    name = "a" * 53  # the longest name a RayJob's cluster gets
    assert services.head_service_name(_cluster(name=name)) == name + "-head-svc"
    assert services.head_service_fqdn(_cluster(name=name), options=OPTIONS).startswith(name + "-head-svc.ns.svc")


def test_dashboard_port_and_address() -> None:
    named = _cluster([{"name": "dashboard", "containerPort": 9999}])
    assert services.dashboard_port(named) == 9999
    assert services.dashboard_address(named, options=OPTIONS) == "c-head-svc.ns.svc.cluster.local:9999"
    assert services.dashboard_port(_cluster()) == 8265
    assert services.dashboard_port(_cluster([{"name": "other", "containerPort": 1}])) == 8265
    from_flag = _cluster(head={"rayStartParams": {"dashboard-port": "8000"}})
    assert services.dashboard_port(from_flag) == 8000


def test_dashboard_address_uses_the_cluster_domain() -> None:
    address = services.dashboard_address(_cluster(), options=PodOptions(cluster_domain="corp.example"))
    assert address == "c-head-svc.ns.svc.corp.example:8265"
    assert "://" not in address


def test_gcs_port() -> None:
    assert services.gcs_port(_cluster()) == 6379
    assert services.gcs_port(_cluster(head={"rayStartParams": {"port": "6380"}})) == 6380
    assert services.gcs_port(_cluster(head={"rayStartParams": {"port": "$PORT"}})) == 6379


def test_namespace_defaults_to_default() -> None:
    cluster = RayCluster.model_validate(
        {"metadata": {"name": "c", "uid": "u"}, "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{}]}}}}}
    )
    assert services.head_service_fqdn(cluster, options=OPTIONS) == "c-head-svc.default.svc.cluster.local"


# --- head service ports -------------------------------------------------------------------------------------


def test_ports_of_the_head_container_named_and_unnamed_sorted_with_metrics() -> None:
    cluster = _cluster(
        [{"name": "gcs-server", "containerPort": 6379}, {"containerPort": 7000}, {"name": "a", "containerPort": 1}]
    )
    ports = services.build_head_service(cluster, options=OPTIONS)["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [
        ("7000-port", 7000),
        ("a", 1),
        ("gcs-server", 6379),
        ("metrics", 8080),
    ]
    assert {p["appProtocol"] for p in ports} == {"tcp"}


def test_default_ports_when_the_container_declares_none() -> None:
    service = services.build_head_service(_cluster(), options=OPTIONS)
    assert _ports(service) == [
        ("client", 10001),
        ("dashboard", 8265),
        ("gcs-server", 6379),
        ("metrics", 8080),
        ("serve", 8000),
    ]


def test_metrics_is_not_added_twice() -> None:
    named = _cluster([{"name": "metrics", "containerPort": 9090}])
    assert _ports(services.build_head_service(named, options=OPTIONS)) == [("metrics", 9090)]
    by_number = _cluster([{"name": "prom", "containerPort": 8080}])
    assert _ports(services.build_head_service(by_number, options=OPTIONS)) == [("prom", 8080)]


def test_metrics_port_follows_the_flag() -> None:
    cluster = _cluster(
        [{"name": "dashboard", "containerPort": 8265}], head={"rayStartParams": {"metrics-export-port": "9100"}}
    )
    assert ("metrics", 9100) in _ports(services.build_head_service(cluster, options=OPTIONS))


# --- head service -------------------------------------------------------------------------------------------


def test_head_service_metadata_selector_and_owner() -> None:
    cluster = _cluster(spec={"headServiceAnnotations": {"a": "b"}})
    service = services.build_head_service(cluster, options=OPTIONS)
    expected = {
        constants.LABEL_CLUSTER: "c",
        constants.LABEL_NODE_TYPE: "head",
        constants.LABEL_IDENTIFIER: "c-head",
        constants.LABEL_APP_NAME: "kuberay",
        constants.LABEL_APP_CREATED_BY: "kuberay-operator",
    }
    assert service["apiVersion"] == "v1"
    assert service["kind"] == "Service"
    assert service["metadata"]["name"] == "c-head-svc"
    assert service["metadata"]["namespace"] == "ns"
    assert service["metadata"]["labels"] == expected
    assert service["spec"]["selector"] == expected
    assert service["metadata"]["annotations"] == {"a": "b"}
    assert service["metadata"]["ownerReferences"] == cluster_owner("c", "uid-1")


@pytest.mark.parametrize("service_type", [None, "ClusterIP"])
def test_head_service_is_headless_by_default(service_type: str | None) -> None:
    head = {"serviceType": service_type} if service_type else {}
    spec = services.build_head_service(_cluster(head=head), options=OPTIONS)["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["clusterIP"] == "None"
    assert spec["publishNotReadyAddresses"] is True


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_other_service_types_keep_a_cluster_ip(service_type: str) -> None:
    spec = services.build_head_service(_cluster(head={"serviceType": service_type}), options=OPTIONS)["spec"]
    assert spec["type"] == service_type
    assert "clusterIP" not in spec
    assert "publishNotReadyAddresses" not in spec


def test_cluster_ip_head_service_option() -> None:
    spec = services.build_head_service(_cluster(), options=PodOptions(head_cluster_ip_service=True))["spec"]
    assert "clusterIP" not in spec


def test_user_head_service_is_the_base() -> None:
    override = {
        "metadata": {
            "name": "custom",
            "namespace": "elsewhere",
            "labels": {"x": "y", constants.LABEL_CLUSTER: "no"},
            "annotations": {"keep": "1", "a": "user"},
        },
        "spec": {
            "type": "NodePort",
            "selector": {"wrong": "selector"},
            "ports": [{"name": "dashboard", "port": 8265, "nodePort": 30001}],
            "externalTrafficPolicy": "Local",
        },
    }
    cluster = _cluster(head={"headService": override}, spec={"headServiceAnnotations": {"a": "ours"}})
    before = copy.deepcopy(cluster.spec.head_group_spec.head_service)
    service = services.build_head_service(cluster, options=OPTIONS)
    meta, spec = service["metadata"], service["spec"]
    assert meta["name"] == "custom"
    assert meta["namespace"] == "ns"
    assert meta["labels"]["x"] == "y"
    assert meta["labels"][constants.LABEL_CLUSTER] == "c"
    assert meta["annotations"] == {"keep": "1", "a": "ours"}
    assert spec["selector"] == labels.head_selector("c")
    assert spec["type"] == "NodePort"
    assert spec["externalTrafficPolicy"] == "Local"
    assert spec["ports"][0] == {"name": "dashboard", "port": 8265, "nodePort": 30001}
    assert [p["name"] for p in spec["ports"]] == ["dashboard", "client", "gcs-server", "metrics", "serve"]
    assert "clusterIP" not in spec
    assert cluster.spec.head_group_spec.head_service == before


def test_head_service_needs_an_owner_uid() -> None:
    cluster = RayCluster.model_validate(
        {"metadata": {"name": "c"}, "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{}]}}}}}
    )
    with pytest.raises(ValueError, match="uid"):
        services.build_head_service(cluster, options=OPTIONS)


# --- headless worker service --------------------------------------------------------------------------------


def _group(name: str, hosts: int) -> dict[str, Any]:
    return {"groupName": name, "numOfHosts": hosts, "template": {"spec": {"containers": [{"name": "w"}]}}}


def test_no_headless_service_without_multi_host_groups() -> None:
    assert services.build_headless_worker_service(_cluster()) is None
    assert services.build_headless_worker_service(_cluster(spec={"workerGroupSpecs": [_group("g", 1)]})) is None


def test_headless_service_for_multi_host_groups() -> None:
    cluster = _cluster(spec={"workerGroupSpecs": [_group("a", 1), _group("tpu", 2)]})
    service = services.build_headless_worker_service(cluster)
    assert service is not None
    assert service["metadata"]["name"] == "c-headless"
    assert service["metadata"]["namespace"] == "ns"
    assert service["metadata"]["labels"] == {
        constants.LABEL_HEADLESS_WORKER_SVC: "c",
        # what the operator's Service watch selects on: without it a re-list drops the Service from the cache
        constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE,
        constants.LABEL_APP_NAME: constants.APP_NAME_VALUE,
    }
    assert service["metadata"]["ownerReferences"][0]["kind"] == "RayCluster"
    assert service["spec"] == {
        "type": "ClusterIP",
        "clusterIP": "None",
        "selector": {constants.LABEL_CLUSTER: "c", constants.LABEL_NODE_TYPE: "worker"},
        "publishNotReadyAddresses": True,
    }


# --- labels helpers -----------------------------------------------------------------------------------------


def test_owner_reference_from_a_raw_body() -> None:
    body = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j", "uid": "u"}}
    assert labels.owner_reference(body, kind="RayJob") == {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "name": "j",
        "uid": "u",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    with pytest.raises(ValueError, match="no name or uid"):
        labels.owner_reference({"metadata": {"name": "j"}}, kind="RayJob")


def test_originated_from() -> None:
    assert labels.originated_from("job", "RayJob") == {
        constants.LABEL_ORIGINATED_FROM_CR_NAME: "job",
        constants.LABEL_ORIGINATED_FROM_CRD: "RayJob",
    }


def test_name_and_label_clipping() -> None:
    assert labels.check_name("x" * 60) == "x" * 50
    assert labels.check_name("1abc") == "rabc"
    assert labels.check_label_value("-" + "y" * 62) == "r" + "y" * 62
    assert labels.check_label_value("z" * 70) == "z" * 63
    assert labels.pod_generate_name("My-Cluster" + "q" * 50, "head") == ("my-cluster" + "q" * 40) + "-head-"
