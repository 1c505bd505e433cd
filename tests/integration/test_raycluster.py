"""RayCluster controller on the real control plane (kwok plays the pods)."""

from __future__ import annotations

import copy
from typing import Any

from rayjob_devenv.operator_process import OperatorProcess
from tests.integration.kube import Kube

HEAD = "ray.io/node-type=head"
WORKERS = "ray.io/node-type=worker"


def cluster_body(name: str, *, replicas: int = 2, **spec: Any) -> dict[str, Any]:
    worker_template = {
        "spec": {
            "containers": [
                {
                    "name": "ray-worker",
                    "image": "rayproject/ray:2.52.0",
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                    "env": [{"name": "MY_SETTING", "value": "42"}],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                }
            ],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ray", "effect": "NoSchedule"}],
        }
    }
    body: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {
            "rayVersion": "2.52.0",
            "headGroupSpec": {
                "rayStartParams": {},
                "template": {"spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.52.0"}]}},
            },
            "workerGroupSpecs": [
                {
                    "groupName": "small",
                    "replicas": replicas,
                    "minReplicas": 0,
                    "maxReplicas": 60,
                    "rayStartParams": {},
                    "template": worker_template,
                }
            ],
        },
    }
    body["spec"].update(spec)
    return body


def pod_names(kube: Kube, selector: str) -> set[str]:
    return {p.metadata.name for p in kube.running_pods(selector)}


def test_sample_cluster_becomes_ready_with_kuberay_children(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("demo"))
    status = kube.wait_cluster_state("demo", "ready")["status"]
    assert (status["desiredWorkerReplicas"], status["readyWorkerReplicas"], status["availableWorkerReplicas"]) == (
        2,
        2,
        2,
    )
    assert status["head"]["podName"].startswith("demo-head-")
    assert status["head"]["serviceName"] == "demo-head-svc"
    assert status["endpoints"]["dashboard"] == "8265"
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions["HeadPodReady"] == "True"
    assert conditions["RayClusterProvisioned"] == "True"
    head = kube.pods(f"ray.io/cluster=demo,{HEAD}")[0]
    labels = head.metadata.labels
    assert labels["ray.io/is-ray-node"] == "yes"
    assert labels["ray.io/group"] == "headgroup"
    owner = head.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("RayCluster", "demo", True)
    assert "ray start --head" in head.spec.containers[0].args[0]
    worker = kube.pods(f"ray.io/cluster=demo,{WORKERS}")[0]
    assert worker.metadata.labels["ray.io/group"] == "small"
    assert "--address=demo-head-svc." in worker.spec.containers[0].args[0]
    (service,) = kube.services("ray.io/cluster=demo")
    ports = {p.name: p.port for p in service.spec.ports}
    assert {"gcs-server": 6379, "dashboard": 8265, "client": 10001, "metrics": 8080}.items() <= ports.items()
    assert service.spec.cluster_ip == "None"
    reasons = kube.wait(
        lambda: (r := {e.reason for e in kube.events("demo")}) >= {"CreatedHeadPod", "CreatedWorkerPod"} and r,
        "the RayCluster's creation events",
    )
    assert "CreatedService" in reasons


def test_user_template_fields_reach_the_pod_unchanged(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("tmpl", replicas=1))
    kube.wait_cluster_state("tmpl", "ready")
    pod = kube.core.read_namespaced_pod(kube.pods(f"ray.io/cluster=tmpl,{WORKERS}")[0].metadata.name, kube.ns)
    container = pod.spec.containers[0]
    assert container.resources.requests == {"cpu": "250m", "memory": "512Mi"}
    assert container.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert {"name": "MY_SETTING", "value": "42"} in [{"name": e.name, "value": e.value} for e in container.env]
    assert any(m.name == "scratch" and m.mount_path == "/scratch" for m in container.volume_mounts)
    assert any(v.name == "scratch" and v.empty_dir is not None for v in pod.spec.volumes)
    assert any(t.key == "dedicated" and t.value == "ray" for t in pod.spec.tolerations)


def test_deleted_worker_comes_back(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("heal"))
    kube.wait_cluster_state("heal", "ready")
    victim = sorted(pod_names(kube, f"ray.io/cluster=heal,{WORKERS}"))[0]
    kube.core.delete_namespaced_pod(victim, kube.ns)
    kube.wait(
        lambda: len(pod_names(kube, f"ray.io/cluster=heal,{WORKERS}") - {victim}) == 2,
        "a replacement for the deleted worker",
    )


def test_deleted_head_comes_back(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("headless", replicas=0))
    kube.wait_cluster_state("headless", "ready")
    (head,) = pod_names(kube, f"ray.io/cluster=headless,{HEAD}")
    kube.core.delete_namespaced_pod(head, kube.ns)
    kube.wait(lambda: pod_names(kube, f"ray.io/cluster=headless,{HEAD}") - {head}, "a new head pod")


def _set_replicas(kube: Kube, name: str, replicas: int) -> None:
    body = kube.get("rayclusters", name)
    assert body is not None
    groups = copy.deepcopy(body["spec"]["workerGroupSpecs"])
    groups[0]["replicas"] = replicas
    kube.patch("rayclusters", name, {"spec": {"workerGroupSpecs": groups}})


def test_scaling_up_and_down(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("scale", replicas=1))
    kube.wait_cluster_state("scale", "ready")
    _set_replicas(kube, "scale", 4)
    kube.wait(lambda: len(pod_names(kube, f"ray.io/cluster=scale,{WORKERS}")) == 4, "4 running workers")
    kube.wait(
        lambda: (kube.get("rayclusters", "scale") or {}).get("status", {}).get("readyWorkerReplicas") == 4,
        "status to report 4 ready workers",
    )
    _set_replicas(kube, "scale", 2)
    kube.wait(lambda: len(kube.pods(f"ray.io/cluster=scale,{WORKERS}")) == 2, "scale-down to 2 workers")
    indices = {
        p.metadata.labels["ray.io/worker-group-replica-index"] for p in kube.pods(f"ray.io/cluster=scale,{WORKERS}")
    }
    assert indices == {"0", "1"}


def test_suspend_and_resume(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("pause", replicas=2))
    kube.wait_cluster_state("pause", "ready")
    kube.patch("rayclusters", "pause", {"spec": {"suspend": True}})
    status = kube.wait_cluster_state("pause", "suspended")["status"]
    assert kube.pods("ray.io/cluster=pause") == []
    assert {c["type"]: c["status"] for c in status["conditions"]}["RayClusterSuspended"] == "True"
    kube.patch("rayclusters", "pause", {"spec": {"suspend": False}})
    kube.wait(lambda: len(pod_names(kube, "ray.io/cluster=pause")) == 3, "the head and 2 workers back")
    kube.wait_cluster_state("pause", "ready")


def test_suspending_one_group_deletes_only_its_workers(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("grp", replicas=2))
    kube.wait_cluster_state("grp", "ready")
    body = kube.get("rayclusters", "grp")
    assert body is not None
    groups = copy.deepcopy(body["spec"]["workerGroupSpecs"])
    groups[0]["suspend"] = True
    kube.patch("rayclusters", "grp", {"spec": {"workerGroupSpecs": groups}})
    kube.wait(lambda: kube.pods(f"ray.io/cluster=grp,{WORKERS}") == [], "the group's workers to be gone")
    assert len(pod_names(kube, f"ray.io/cluster=grp,{HEAD}")) == 1


def test_deleting_the_cluster_leaves_nothing(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("bye"))
    kube.wait_cluster_state("bye", "ready")
    kube.delete("rayclusters", "bye")
    kube.wait_gone("rayclusters", "bye")
    kube.wait(
        lambda: not kube.pods("ray.io/cluster=bye") and not kube.services("ray.io/cluster=bye"),
        "pods and services of the deleted cluster to be garbage-collected",
    )


def test_fifty_workers_become_ready(kube: Kube, operator: OperatorProcess) -> None:
    kube.create("rayclusters", cluster_body("big", replicas=50))
    status = kube.wait_cluster_state("big", "ready", timeout=120)["status"]
    assert status["readyWorkerReplicas"] == 50
    assert len(kube.pods("ray.io/cluster=big")) == 51
