"""Head and worker pods: KubeRay's labels, command, env, ports, volumes, probes and init container,
built over the vendored KubeRay samples and hand-made templates, without ever changing the input.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_operator import constants
from rayjob_operator.builders import raycluster as builders
from rayjob_operator.builders.raycluster import PodOptions
from rayjob_operator.model.raycluster import RayCluster, RayClusterSpec
from tests.manifests import cluster_owner

DATA = Path(__file__).resolve().parent.parent / "data" / "kuberay"
OPTIONS = PodOptions()
FQDN = "c-head-svc.ns.svc.cluster.local"
ULIMIT = "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; "


def _sample_specs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(DATA.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "RayJob" and "rayClusterSpec" in doc["spec"]:
                out.append((path.name, doc["spec"]["rayClusterSpec"]))
    return out


SAMPLES = _sample_specs()


def _from_spec(spec: dict[str, Any], *, name: str = "c", **metadata: Any) -> RayCluster:
    meta = {"name": name, "namespace": "ns", "uid": "uid-1", **metadata}
    return RayCluster.model_validate({"metadata": meta, "spec": spec})


def _cluster(
    head: dict[str, Any] | None = None,
    worker: dict[str, Any] | None = None,
    *,
    head_group: dict[str, Any] | None = None,
    group: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    **metadata: Any,
) -> RayCluster:
    head_container = {"name": "ray-head", "image": "rayproject/ray:2.53.0", **(head or {})}
    worker_container = {"name": "ray-worker", "image": "rayproject/ray:2.53.0", **(worker or {})}
    body = {
        "rayVersion": "2.53.0",
        "headGroupSpec": {
            "rayStartParams": {},
            "template": {"spec": {"containers": [head_container]}},
            **(head_group or {}),
        },
        "workerGroupSpecs": [
            {
                "groupName": "small",
                "replicas": 1,
                "template": {"spec": {"containers": [worker_container]}},
                **(group or {}),
            }
        ],
        **(spec or {}),
    }
    return _from_spec(body, **metadata)


def _head(cluster: RayCluster, options: PodOptions = OPTIONS) -> dict[str, Any]:
    return builders.build_head_pod(cluster, options=options)


def _worker(cluster: RayCluster, options: PodOptions = OPTIONS, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("replica_index", 0)
    return builders.build_worker_pod(cluster, cluster.spec.worker_groups()[0], options=options, **kwargs)


def _ray(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod["spec"]["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


def _contains(built: Any, original: Any, path: str = "") -> None:
    """Everything in ``original`` is in ``built`` unchanged; lists may only have grown at the end."""
    if isinstance(original, dict):
        assert isinstance(built, dict), path
        for key, value in original.items():
            assert key in built, f"{path}.{key} was dropped"
            _contains(built[key], value, f"{path}.{key}")
    elif isinstance(original, list):
        assert isinstance(built, list), path
        assert len(built) >= len(original), f"{path} lost items"
        for i, value in enumerate(original):
            _contains(built[i], value, f"{path}[{i}]")
    else:
        assert built == original, f"{path}: {built!r} != {original!r}"


# --- the KubeRay samples ------------------------------------------------------------------------------------


def test_seven_of_the_eight_samples_carry_a_cluster_spec() -> None:
    assert len(list(DATA.glob("*.yaml"))) == 8
    assert len(SAMPLES) == 7  # ray-job.use-existing-raycluster.yaml only has a clusterSelector


@pytest.mark.parametrize(("name", "spec"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_pods(name: str, spec: dict[str, Any]) -> None:
    cluster = _from_spec(spec)
    before = cluster.model_dump()
    pods = [_head(cluster)] + [
        builders.build_worker_pod(cluster, group, replica_index=0, options=OPTIONS)
        for group in cluster.spec.worker_groups()
    ]
    templates = [cluster.spec.head_group_spec.template] + [g.template for g in cluster.spec.worker_groups()]
    for pod, template in zip(pods, templates, strict=True):
        _contains(pod["spec"], template.to_dict()["spec"])
        meta = pod["metadata"]
        assert meta["namespace"] == "ns"
        assert meta["labels"][constants.LABEL_CLUSTER] == "c"
        assert meta["ownerReferences"][0]["uid"] == "uid-1"
        ray = _ray(pod)
        assert ray["args"][0].startswith(ULIMIT + "ray start ")
        names = [e["name"] for e in ray["env"]]
        assert len(names) == len(set(names))
        ports = [p["containerPort"] for p in ray["ports"]]
        assert len(ports) == len(set(ports))
        assert not any(c["name"] == "autoscaler" for c in pod["spec"]["containers"])
    assert cluster.model_dump() == before


def test_resources_sample_head_command_exactly() -> None:
    spec = dict(SAMPLES)["ray-job.resources.yaml"]
    ray = _ray(_head(_from_spec(spec)))
    start = (
        "ray start --head --block --dashboard-agent-listen-port=52365 --dashboard-host=0.0.0.0"
        " --memory=5368709120 --metrics-export-port=8080 --num-cpus=3 --num-gpus=2"
        ' --resources="{\\"resource1\\": 2, \\"resource2\\": 3}"'
    )
    assert ray["command"] == ["/bin/bash", "-c", "--"]
    assert ray["args"] == [ULIMIT + start]
    assert _env(ray)["KUBERAY_GEN_RAY_START_CMD"] == start


def test_sample_worker_command_exactly() -> None:
    spec = dict(SAMPLES)["ray-job.sample.yaml"]  # worker: cpu limit 1, request 200m, no memory
    ray = _ray(_worker(_from_spec(spec)))
    assert ray["args"] == [
        ULIMIT + f"ray start --address={FQDN}:6379 --block --dashboard-agent-listen-port=52365"
        " --metrics-export-port=8080 --num-cpus=1"
    ]


def test_cpu_500m_and_memory_limit() -> None:
    cluster = _cluster(worker={"resources": {"limits": {"cpu": "500m", "memory": "5Gi"}}})
    start = _env(_ray(_worker(cluster)))["KUBERAY_GEN_RAY_START_CMD"]
    assert " --num-cpus=1" in start
    assert " --memory=5368709120" in start


# --- metadata -----------------------------------------------------------------------------------------------


def test_head_metadata() -> None:
    cluster = _cluster(
        head_group={
            "template": {
                "metadata": {"labels": {"team": "a"}, "annotations": {"n": "1"}},
                "spec": {"containers": [{"name": "h", "image": "i"}]},
            }
        }
    )
    meta = _head(cluster)["metadata"]
    assert meta["generateName"] == "c-head-"
    assert meta["namespace"] == "ns"
    assert meta["annotations"] == {"n": "1"}
    assert meta["labels"] == {
        "team": "a",
        constants.LABEL_IS_RAY_NODE: "yes",
        constants.LABEL_CLUSTER: "c",
        constants.LABEL_NODE_TYPE: "head",
        constants.LABEL_GROUP: "headgroup",
        constants.LABEL_IDENTIFIER: "c-head",
        constants.LABEL_APP_NAME: "kuberay",
        constants.LABEL_APP_CREATED_BY: "kuberay-operator",
    }
    assert meta["ownerReferences"] == cluster_owner("c", "uid-1")


def test_worker_metadata() -> None:
    cluster = _cluster(group={"labels": {"zone": "a"}})
    meta = _worker(cluster, replica_index=3)["metadata"]
    assert meta["generateName"] == "c-small-worker-"
    labels = meta["labels"]
    assert labels[constants.LABEL_NODE_TYPE] == "worker"
    assert labels[constants.LABEL_GROUP] == "small"
    assert labels[constants.LABEL_IDENTIFIER] == "c-worker"
    assert labels[constants.LABEL_WORKER_REPLICA_INDEX] == "3"
    assert labels["zone"] == "a"
    assert constants.LABEL_WORKER_REPLICA_NAME not in labels
    assert constants.LABEL_REPLICA_HOST_INDEX not in labels
    assert "annotations" not in meta


def test_multi_host_labels() -> None:
    cluster = _cluster(group={"numOfHosts": 4})
    labels = _worker(cluster, replica_index=2, host_index=3)["metadata"]["labels"]
    assert labels[constants.LABEL_WORKER_REPLICA_INDEX] == "2"
    assert labels[constants.LABEL_WORKER_REPLICA_NAME] == "small-2"
    assert labels[constants.LABEL_REPLICA_HOST_INDEX] == "3"
    named = _worker(cluster, replica_index=2, replica_name="small-xk2p9")["metadata"]["labels"]
    assert named[constants.LABEL_WORKER_REPLICA_NAME] == "small-xk2p9"


def test_user_labels_override_all_but_node_type_group_cluster_and_created_by() -> None:
    mine = {
        constants.LABEL_NODE_TYPE: "x",
        constants.LABEL_GROUP: "x",
        constants.LABEL_CLUSTER: "x",
        constants.LABEL_IDENTIFIER: "x",
        constants.LABEL_IS_RAY_NODE: "no",
        constants.LABEL_APP_NAME: "x",
        constants.LABEL_APP_CREATED_BY: "someone",
        constants.LABEL_WORKER_REPLICA_INDEX: "9",
        "keep": "me",
    }
    cluster = _cluster(group={"labels": mine})
    labels = _worker(cluster)["metadata"]["labels"]
    assert labels["keep"] == "me"
    # KubeRay's three protected labels, and created-by, which the operator's pod watch selects on
    assert labels[constants.LABEL_NODE_TYPE] == "worker"
    assert labels[constants.LABEL_GROUP] == "small"
    assert labels[constants.LABEL_CLUSTER] == "c"
    assert labels[constants.LABEL_APP_CREATED_BY] == "kuberay-operator"
    # the rest is the user's, as in KubeRay
    assert labels[constants.LABEL_IDENTIFIER] == "x"
    assert labels[constants.LABEL_IS_RAY_NODE] == "no"
    assert labels[constants.LABEL_APP_NAME] == "x"
    # multi-host indexing is set after the user's labels
    assert labels[constants.LABEL_WORKER_REPLICA_INDEX] == "0"


def test_head_template_labels_override_kuberay_labels_too() -> None:
    template = {"metadata": {"labels": {constants.LABEL_IDENTIFIER: "mine", constants.LABEL_NODE_TYPE: "worker"}}}
    template["spec"] = {"containers": [{"name": "ray-head", "image": "i"}]}
    labels = _head(_cluster(head_group={"template": template}))["metadata"]["labels"]
    assert labels[constants.LABEL_IDENTIFIER] == "mine"
    assert labels[constants.LABEL_NODE_TYPE] == "head"


def test_generate_names_are_truncated_and_lower_cased() -> None:
    cluster = _cluster(name="Big-" + "n" * 60, group={"groupName": "g"})
    assert _head(cluster)["metadata"]["generateName"] == ("big-" + "n" * 46) + "-head-"
    assert _worker(cluster)["metadata"]["generateName"] == ("big-" + "n" * 46) + "-worker-"


def test_worker_template_name_is_dropped_namespace_forced() -> None:
    cluster = _cluster(
        group={
            "template": {
                "metadata": {"name": "fixed", "namespace": "other"},
                "spec": {"containers": [{"name": "w", "image": "i"}]},
            }
        }
    )
    meta = _worker(cluster)["metadata"]
    assert "name" not in meta
    assert meta["namespace"] == "ns"


# --- the user's template is kept ----------------------------------------------------------------------------

RICH_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "mine"}, "annotations": {"note": "x"}},
    "spec": {
        "containers": [
            {
                "name": "ray",
                "image": "rayproject/ray:2.53.0",
                "imagePullPolicy": "Always",
                "env": [{"name": "MY_VAR", "value": "1"}, {"name": "RAY_ADDRESS", "value": "custom:1"}],
                "envFrom": [{"configMapRef": {"name": "cm"}}],
                "ports": [{"name": "dashboard", "containerPort": 8265}, {"name": "metrics", "containerPort": 9090}],
                "resources": {"limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}},
                "securityContext": {"runAsUser": 1000},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "futureField": {"nested": [1, 2, 3]},
            },
            {"name": "sidecar", "image": "busybox", "args": ["sleep", "inf"]},
        ],
        "initContainers": [{"name": "setup", "image": "busybox"}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pvc"}}],
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "nodeSelector": {"pool": "gpu"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
        "serviceAccountName": "sa",
        "priorityClassName": "high",
        "schedulerName": "volcano",
        "restartPolicy": "OnFailure",
        "unknownPodField": {"a": "b"},
    },
}


@pytest.mark.parametrize("kind", ["head", "worker"])
def test_every_template_field_is_kept(kind: str) -> None:
    template = copy.deepcopy(RICH_TEMPLATE)
    cluster = _cluster(head_group={"template": template}, group={"template": template})
    pod = _head(cluster) if kind == "head" else _worker(cluster)
    _contains(pod["spec"], RICH_TEMPLATE["spec"])
    _contains(pod["metadata"], RICH_TEMPLATE["metadata"])
    assert pod["spec"]["containers"][1] == RICH_TEMPLATE["spec"]["containers"][1]
    assert pod["spec"]["restartPolicy"] == "OnFailure"


def test_no_duplicate_env_or_ports() -> None:
    template = copy.deepcopy(RICH_TEMPLATE)
    ray = template["spec"]["containers"][0]
    ray["env"] += [{"name": "FQ_RAY_IP", "value": "mine"}, {"name": "KUBERAY_GEN_RAY_START_CMD", "value": "mine"}]
    cluster = _cluster(head_group={"template": template}, group={"template": template})
    for pod in (_head(cluster), _worker(cluster)):
        built = _ray(pod)
        names = [e["name"] for e in built["env"]]
        assert len(names) == len(set(names))
        assert _env(built)["RAY_ADDRESS"] == "custom:1"
        assert _env(built)["KUBERAY_GEN_RAY_START_CMD"] == "mine"
        assert [p["name"] for p in built["ports"]] == ["dashboard", "metrics"]
    assert _env(_ray(_worker(cluster)))["FQ_RAY_IP"] == "mine"


def test_input_model_is_never_changed_nor_shared() -> None:
    template = copy.deepcopy(RICH_TEMPLATE)
    cluster = _cluster(
        head_group={"template": template},
        group={"template": template, "numOfHosts": 2},
        spec={"authOptions": {"mode": "token"}},
    )
    before = copy.deepcopy(cluster.model_dump())
    for pod in (_head(cluster), _worker(cluster, host_index=1)):
        pod["spec"]["containers"][0]["env"].append({"name": "X"})
        pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "99"
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "changed"
        pod["spec"]["tolerations"].clear()
        pod["metadata"]["labels"]["app"] = "changed"
    assert cluster.model_dump() == before


# --- command ------------------------------------------------------------------------------------------------


def test_user_command_runs_before_ray_start() -> None:
    ray = _ray(_head(_cluster(head={"command": ["echo", "pre"], "args": ["step"]})))
    assert ray["command"] == ["/bin/bash", "-c", "--"]
    assert ray["args"][0].startswith("echo pre step && " + ULIMIT + "ray start --head ")


def test_user_ray_start_is_left_alone() -> None:
    own = {"command": ["/bin/bash", "-c"], "args": ["ray start --head --block --port=7000"]}
    ray = _ray(_head(_cluster(head=own)))
    assert ray["command"] == own["command"]
    assert ray["args"] == own["args"]


@pytest.mark.parametrize("where", ["cluster", "template"])
def test_overwrite_container_cmd(where: str) -> None:
    own = {"command": ["python"], "args": ["my_launcher.py"]}
    annotation = {constants.ANNOTATION_OVERWRITE_CONTAINER_CMD: "True"}
    if where == "cluster":
        cluster = _cluster(worker=own, annotations=annotation)
    else:
        template = {
            "metadata": {"annotations": annotation},
            "spec": {"containers": [{"name": "w", "image": "i", **own}]},
        }
        cluster = _cluster(group={"template": template})
    pod = _worker(cluster)
    ray = _ray(pod)
    assert ray["command"] == ["python"]
    assert ray["args"] == ["my_launcher.py"]
    assert _env(ray)["KUBERAY_GEN_RAY_START_CMD"].startswith("ray start --address=")
    assert pod["metadata"]["annotations"][constants.ANNOTATION_OVERWRITE_CONTAINER_CMD].lower() == "true"


# --- env ----------------------------------------------------------------------------------------------------


def test_head_env() -> None:
    env = _env(_ray(_head(_cluster(labels={constants.LABEL_ORIGINATED_FROM_CRD: "RayJob"}))))
    assert env["RAY_CLUSTER_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['ray.io/cluster']"}}
    assert env["RAY_CLUSTER_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["RAY_CLOUD_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["RAY_NODE_TYPE_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['ray.io/group']"}}
    assert env["RAY_PORT"] == "6379"
    assert env["RAY_ADDRESS"] == "127.0.0.1:6379"
    assert env["RAY_USAGE_STATS_KUBERAY_IN_USE"] == "1"
    assert env["RAY_USAGE_STATS_EXTRA_TAGS"] == f"kuberay_version={OPTIONS.operator_version};kuberay_crd=RayJob"
    assert env["RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE"] == "1"
    assert "FQ_RAY_IP" not in env
    assert "RAY_AUTH_MODE" not in env


def test_worker_env() -> None:
    cluster = _cluster(head_group={"rayStartParams": {"port": "6380"}})
    env = _env(_ray(_worker(cluster, PodOptions(cluster_domain="corp"))))
    assert env["FQ_RAY_IP"] == "c-head-svc.ns.svc.corp"
    assert env["RAY_IP"] == "c-head-svc"
    assert env["RAY_PORT"] == "6380"
    assert env["RAY_ADDRESS"] == "c-head-svc.ns.svc.corp:6380"
    assert "RAY_USAGE_STATS_EXTRA_TAGS" not in env


def test_usage_tags_default_crd_and_version() -> None:
    env = _env(_ray(_head(_cluster(), PodOptions(operator_version="9.9.9"))))
    assert env["RAY_USAGE_STATS_EXTRA_TAGS"] == "kuberay_version=9.9.9;kuberay_crd=RayCluster"


@pytest.mark.parametrize(("secret_name", "expected"), [(None, "c"), ("tokens", "tokens")])
def test_token_auth_env(secret_name: str | None, expected: str) -> None:
    auth = {"mode": "token", **({"secretName": secret_name} if secret_name else {})}
    cluster = _cluster(spec={"authOptions": auth})
    token = {"secretKeyRef": {"name": expected, "key": "auth_token"}}
    for container in (_ray(_head(cluster)), _ray(_worker(cluster)), _worker(cluster)["spec"]["initContainers"][0]):
        env = _env(container)
        assert env["RAY_AUTH_MODE"] == "token"
        assert env["RAY_AUTH_TOKEN"] == token


def test_disabled_auth_adds_nothing() -> None:
    env = _env(_ray(_head(_cluster(spec={"authOptions": {"mode": "disabled"}}))))
    assert "RAY_AUTH_MODE" not in env


def test_user_init_containers_learn_the_head_address() -> None:
    cluster = _cluster(
        head_group={
            "template": {
                "spec": {
                    "containers": [{"name": "h", "image": "i"}],
                    "initContainers": [{"name": "init", "image": "b"}],
                }
            }
        }
    )
    env = _env(_head(cluster)["spec"]["initContainers"][0])
    assert env == {"FQ_RAY_IP": FQDN, "RAY_IP": "c-head-svc"}


# --- ports, volumes, restart policy --------------------------------------------------------------------------


def test_head_default_ports_when_none_declared() -> None:
    ports = {p["name"]: p["containerPort"] for p in _ray(_head(_cluster()))["ports"]}
    assert ports == {"client": 10001, "dashboard": 8265, "gcs-server": 6379, "metrics": 8080, "serve": 8000}


def test_declared_head_ports_only_get_metrics() -> None:
    ray = _ray(_head(_cluster(head={"ports": [{"containerPort": 7000}]})))
    assert ray["ports"] == [{"containerPort": 7000}, {"name": "metrics", "containerPort": 8080}]


def test_worker_gets_only_the_metrics_port() -> None:
    assert _ray(_worker(_cluster()))["ports"] == [{"name": "metrics", "containerPort": 8080}]


@pytest.mark.parametrize(
    ("resources", "size"),
    [
        ({"limits": {"memory": "4Gi"}, "requests": {"memory": "1Gi"}}, "4Gi"),
        ({"requests": {"memory": "1Gi"}}, "1Gi"),
        ({}, None),
    ],
)
def test_shared_memory_volume(resources: dict[str, Any], size: str | None) -> None:
    pod = _worker(_cluster(worker={"resources": resources}))
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "shared-mem")
    expected = {"medium": "Memory", **({"sizeLimit": size} if size else {})}
    assert volume["emptyDir"] == expected
    assert {"name": "shared-mem", "mountPath": "/dev/shm"} in _ray(pod)["volumeMounts"]


def test_no_shared_memory_with_plasma_directory_or_own_mount() -> None:
    plasma = _worker(_cluster(group={"rayStartParams": {"plasma-directory": "/tmp"}}))
    assert "volumes" not in plasma["spec"]
    assert "volumeMounts" not in _ray(plasma)
    own = _cluster(worker={"volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}]})
    pod = _worker(own)
    assert _ray(pod)["volumeMounts"] == [{"name": "shm", "mountPath": "/dev/shm"}]
    assert "volumes" not in pod["spec"]


def test_head_restart_policy_defaults_to_always() -> None:
    assert _head(_cluster())["spec"]["restartPolicy"] == "Always"
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "h", "image": "i"}]}}
    assert _head(_cluster(head_group={"template": template}))["spec"]["restartPolicy"] == "Never"


# --- init container -----------------------------------------------------------------------------------------


def test_wait_gcs_ready_init_container() -> None:
    worker = {
        "image": "my/ray:1",
        "imagePullPolicy": "Never",
        "env": [{"name": "TLS", "value": "1"}],
        "volumeMounts": [{"name": "certs", "mountPath": "/certs"}],
        "securityContext": {"runAsUser": 1},
    }
    inits = _worker(_cluster(worker=worker))["spec"]["initContainers"]
    assert len(inits) == 1
    init = inits[0]
    assert init["name"] == "wait-gcs-ready"
    assert init["image"] == "my/ray:1"
    assert init["imagePullPolicy"] == "Never"
    assert init["securityContext"] == {"runAsUser": 1}
    assert init["volumeMounts"] == [{"name": "certs", "mountPath": "/certs"}]
    assert _env(init) == {"TLS": "1", "FQ_RAY_IP": FQDN, "RAY_IP": "c-head-svc"}
    assert init["resources"] == {
        "limits": {"cpu": "200m", "memory": "256Mi"},
        "requests": {"cpu": "200m", "memory": "256Mi"},
    }
    script = init["args"][0]
    assert f"ray health-check --address {FQDN}:6379" in script
    assert "sleep 5" in script
    assert "wait-gcs-ready: waiting for the GCS" in script


def test_init_container_switch_and_no_duplicate() -> None:
    assert "initContainers" not in _worker(_cluster(), PodOptions(inject_init_container=False))["spec"]
    assert "initContainers" not in _head(_cluster())["spec"]
    own = {
        "spec": {
            "containers": [{"name": "w", "image": "i"}],
            "initContainers": [{"name": "wait-gcs-ready", "image": "x"}],
        }
    }
    inits = _worker(_cluster(group={"template": own}))["spec"]["initContainers"]
    assert [i["image"] for i in inits] == ["x"]


# --- probes -------------------------------------------------------------------------------------------------


def test_http_probes_for_new_ray() -> None:
    for pod, timeout in ((_head(_cluster()), 5), (_worker(_cluster()), 2)):
        ray = _ray(pod)
        assert ray["readinessProbe"] == {
            "httpGet": {"path": "/api/healthz", "port": 52365},
            "initialDelaySeconds": 10,
            "timeoutSeconds": timeout,
            "periodSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 10,
        }
        assert ray["livenessProbe"] == {
            "httpGet": {"path": "/api/healthz", "port": 52365},
            "initialDelaySeconds": 30,
            "timeoutSeconds": timeout,
            "periodSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 120,
        }


@pytest.mark.parametrize("version", [None, "nightly", "2.53.1", "3.0"])
def test_unknown_or_new_versions_get_http_probes(version: str | None) -> None:
    spec = {"rayVersion": version} if version else {"rayVersion": None}
    assert "httpGet" in _ray(_worker(_cluster(spec=spec)))["readinessProbe"]


def test_exec_probes_for_old_ray() -> None:
    cluster = _cluster(spec={"rayVersion": "2.52.0"})
    head_cmd = _ray(_head(cluster))["livenessProbe"]["exec"]["command"]
    worker_cmd = _ray(_worker(cluster))["readinessProbe"]["exec"]["command"]
    assert head_cmd[:2] == worker_cmd[:2] == ["bash", "-c"]
    assert "localhost:52365/api/local_raylet_healthz" in head_cmd[2]
    assert "localhost:8265/api/gcs_healthz" in head_cmd[2]
    assert "localhost:52365/api/local_raylet_healthz" in worker_cmd[2]
    assert "gcs_healthz" not in worker_cmd[2]


def test_user_probes_kept_and_switch_off() -> None:
    mine = {"tcpSocket": {"port": 1}}
    ray = _ray(_worker(_cluster(worker={"readinessProbe": mine})))
    assert ray["readinessProbe"] == mine
    assert "httpGet" in ray["livenessProbe"]
    off = _ray(_worker(_cluster(), PodOptions(inject_probes=False)))
    assert "readinessProbe" not in off
    assert "livenessProbe" not in off


# --- other containers, autoscaler, errors --------------------------------------------------------------------


def test_no_autoscaler_sidecar_without_in_tree_autoscaling() -> None:
    pod = _head(_cluster())
    assert [c["name"] for c in pod["spec"]["containers"]] == ["ray-head"]
    assert "no-monitor" not in _ray(pod)["args"][0]
    assert "serviceAccountName" not in pod["spec"]


def test_sidecar_submitter_passes_through() -> None:
    submitter = {
        "name": constants.SUBMITTER_CONTAINER_NAME,
        "image": "i",
        "command": ["/bin/bash", "-ce", "--"],
        "args": ["ray job submit ..."],
    }
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "ray-head", "image": "i"}, submitter]}}
    pod = _head(_cluster(head_group={"template": template}))
    assert pod["spec"]["containers"][1] == submitter
    assert pod["spec"]["restartPolicy"] == "Never"


def test_template_without_containers_is_rejected() -> None:
    cluster = _cluster(head_group={"template": {"spec": {"containers": []}}})
    with pytest.raises(ValueError, match="no containers"):
        _head(cluster)


def test_spec_model_round_trip_is_unaffected() -> None:
    spec = dict(SAMPLES)["ray-job.sample.yaml"]
    model = RayClusterSpec.model_validate(spec)
    _head(RayCluster.model_validate({"metadata": {"name": "c", "uid": "u"}, "spec": spec}))
    assert model.to_dict() == spec
