"""The in-tree autoscaler as KubeRay builds it: the head's sidecar, the version switch, the RBAC objects; and
the token Secret. Pure builders, plain dicts in and out."""

from __future__ import annotations

from typing import Any

import pytest

from rayjob_operator import constants
from rayjob_operator.builders import auth, autoscaler
from rayjob_operator.builders import raycluster as builders
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.model.raycluster import RayCluster

OPTIONS = PodOptions()
IMAGE = "rayproject/ray:2.52.0"


def _cluster(
    *, options: dict[str, Any] | None = None, head: dict[str, Any] | None = None, name: str = "c", **spec: Any
) -> RayCluster:
    head_spec: dict[str, Any] = {"containers": [{"name": "ray-head", "image": IMAGE}], **(head or {})}
    body: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name, "namespace": "ns", "uid": "u1"},
        "spec": {
            "enableInTreeAutoscaling": True,
            "headGroupSpec": {"template": {"spec": head_spec}},
            "workerGroupSpecs": [
                {"groupName": "g", "replicas": 1, "template": {"spec": {"containers": [{"name": "w", "image": IMAGE}]}}}
            ],
            **spec,
        },
    }
    if options is not None:
        body["spec"]["autoscalerOptions"] = options
    return RayCluster.model_validate(body)


def _head(cluster: RayCluster) -> dict[str, Any]:
    return builders.build_head_pod(cluster, options=OPTIONS)


def _sidecar(pod: dict[str, Any]) -> dict[str, Any]:
    (found,) = [c for c in pod["spec"]["containers"] if c["name"] == "autoscaler"]
    return found


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


def test_the_sidecar_is_kuberays() -> None:
    pod = _head(_cluster())
    assert [c["name"] for c in pod["spec"]["containers"]] == ["ray-head", "autoscaler"]
    sidecar = _sidecar(pod)
    command = "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
    assert sidecar["image"] == IMAGE  # the head's Ray image
    assert sidecar["imagePullPolicy"] == "IfNotPresent"
    assert sidecar["command"] == ["/bin/bash", "-c", "--"]
    assert sidecar["args"] == [command]
    assert sidecar["resources"] == {
        "limits": {"cpu": "500m", "memory": "512Mi"},
        "requests": {"cpu": "500m", "memory": "512Mi"},
    }
    assert _env(sidecar) == {
        "RAY_CLUSTER_NAME": {"fieldRef": {"fieldPath": "metadata.labels['ray.io/cluster']"}},
        "RAY_CLUSTER_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        "RAY_HEAD_POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
        "KUBERAY_CRD_VER": "v1",
        "KUBERAY_GEN_AUTOSCALER_START_CMD": command,
    }


def test_the_head_runs_without_its_own_monitor_as_the_clusters_service_account() -> None:
    pod = _head(_cluster())
    ray = pod["spec"]["containers"][0]
    assert ray["args"][0].endswith("--no-monitor")
    assert "--no-monitor" in _env(ray)["KUBERAY_GEN_RAY_START_CMD"]
    assert pod["spec"]["serviceAccountName"] == "c"
    assert pod["spec"]["restartPolicy"] == "Always"  # no version asked for: Ray decides, pods restart as usual


def test_ray_and_autoscaler_share_the_log_volume() -> None:
    pod = _head(_cluster())
    assert {"name": "ray-logs", "emptyDir": {}} in pod["spec"]["volumes"]
    for container in (pod["spec"]["containers"][0], _sidecar(pod)):
        assert {"name": "ray-logs", "mountPath": "/tmp/ray"} in container["volumeMounts"]


def test_options_override_and_extend_the_sidecar() -> None:
    options = {
        "image": "my/autoscaler:1",
        "imagePullPolicy": "Always",
        "resources": {"limits": {"cpu": "1"}},
        "securityContext": {"runAsUser": 1000},
        "env": [{"name": "AUTOSCALER_LOG_LEVEL", "value": "DEBUG"}],
        "envFrom": [{"configMapRef": {"name": "extra"}}],
        "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}],
        "command": ["/bin/sh", "-c"],
        "args": ["$KUBERAY_GEN_AUTOSCALER_START_CMD --gcs-address 127.0.0.1:6380"],
    }
    sidecar = _sidecar(_head(_cluster(options=options)))
    assert sidecar["image"] == "my/autoscaler:1"
    assert sidecar["imagePullPolicy"] == "Always"
    assert sidecar["resources"] == {"limits": {"cpu": "1"}}
    assert sidecar["securityContext"] == {"runAsUser": 1000}
    assert _env(sidecar)["AUTOSCALER_LOG_LEVEL"] == "DEBUG"
    assert "KUBERAY_GEN_AUTOSCALER_START_CMD" in _env(sidecar)  # the generated command stays available
    assert sidecar["envFrom"] == [{"configMapRef": {"name": "extra"}}]
    assert {"name": "cfg", "mountPath": "/cfg"} in sidecar["volumeMounts"]
    assert {"name": "ray-logs", "mountPath": "/tmp/ray"} in sidecar["volumeMounts"]
    assert sidecar["command"] == ["/bin/sh", "-c"]
    assert sidecar["args"] == ["$KUBERAY_GEN_AUTOSCALER_START_CMD --gcs-address 127.0.0.1:6380"]


@pytest.mark.parametrize(("version", "env", "restart"), [("v2", "true", "Never"), ("v1", "false", "Always")])
def test_the_version_switch(version: str, env: str, restart: str) -> None:
    cluster = _cluster(options={"version": version})
    head = _head(cluster)
    assert _env(head["spec"]["containers"][0])["RAY_enable_autoscaler_v2"] == env
    assert "RAY_enable_autoscaler_v2" not in _env(_sidecar(head))
    assert head["spec"]["restartPolicy"] == restart
    worker = builders.build_worker_pod(cluster, cluster.spec.worker_groups()[0], replica_index=0, options=OPTIONS)
    assert worker["spec"].get("restartPolicy", "Always") == restart


def test_no_version_no_switch() -> None:
    assert "RAY_enable_autoscaler_v2" not in _env(_head(_cluster())["spec"]["containers"][0])


def test_token_auth_reaches_the_sidecar() -> None:
    sidecar = _sidecar(_head(_cluster(authOptions={"mode": "token"}, rayVersion="2.52.0")))
    assert _env(sidecar)["RAY_AUTH_MODE"] == "token"
    assert _env(sidecar)["RAY_AUTH_TOKEN"] == {"secretKeyRef": {"name": "c", "key": "auth_token"}}


def test_user_named_service_account_is_used_and_not_built() -> None:
    cluster = _cluster(head={"serviceAccountName": "mine"})
    assert _head(cluster)["spec"]["serviceAccountName"] == "mine"
    assert autoscaler.user_service_account(cluster) == "mine"
    assert autoscaler.build_role_binding(cluster)["subjects"][0]["name"] == "mine"


def test_rbac_objects_are_kuberays_and_owned_by_the_cluster() -> None:
    cluster = _cluster()
    account, role, binding = (
        autoscaler.build_service_account(cluster),
        autoscaler.build_role(cluster),
        autoscaler.build_role_binding(cluster),
    )
    for obj in (account, role, binding):
        assert obj["metadata"]["name"] == "c"
        assert obj["metadata"]["namespace"] == "ns"
        assert obj["metadata"]["labels"] == {
            constants.LABEL_CLUSTER: "c",
            constants.LABEL_APP_NAME: "kuberay",
            constants.LABEL_APP_CREATED_BY: "kuberay-operator",
        }
        (owner,) = obj["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("RayCluster", "c", "u1", True)
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]},
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "c", "namespace": "ns"}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "c"}


def test_long_names_are_clipped_as_kuberays_check_name() -> None:
    cluster = _cluster(name="x" * 60)
    assert autoscaler.service_account_name(cluster) == "x" * 50
    assert autoscaler.role_name(cluster) == "x" * 50
    assert _head(cluster)["spec"]["serviceAccountName"] == "x" * 50


# --- the token Secret ----------------------------------------------------------------------------------------


def test_token_secret_is_generated_only_without_a_secret_name() -> None:
    assert auth.generates_auth_secret(_cluster(authOptions={"mode": "token"}).spec)
    assert not auth.generates_auth_secret(_cluster(authOptions={"mode": "token", "secretName": "s"}).spec)
    assert not auth.generates_auth_secret(_cluster(authOptions={"mode": "disabled"}).spec)
    assert not auth.generates_auth_secret(_cluster().spec)


def test_token_secret_manifest() -> None:
    secret = auth.build_auth_secret(_cluster(authOptions={"mode": "token"}), token="t0k")
    assert secret["kind"] == "Secret"
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == "c"
    assert secret["stringData"] == {"auth_token": "t0k"}
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("RayCluster", "c")
    assert secret["metadata"]["labels"][constants.LABEL_APP_CREATED_BY] == "kuberay-operator"


def test_token_secret_name_is_clipped_like_the_env_that_reads_it() -> None:
    cluster = _cluster(name="a" * 10 + "1" + "y" * 49, authOptions={"mode": "token"})
    name = auth.build_auth_secret(cluster, token="t")["metadata"]["name"]
    assert name == "r" + "y" * 49  # the last 50 characters, not starting with a digit
    assert _env(_head(cluster)["spec"]["containers"][0])["RAY_AUTH_TOKEN"]["secretKeyRef"]["name"] == name
