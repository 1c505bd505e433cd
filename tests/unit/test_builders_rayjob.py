"""Builders of what a RayJob creates: its RayCluster, the submitter Job, the sidecar, the HTTP request."""

from __future__ import annotations

import copy
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import rayjob as job_builders
from rayjob_operator.builders import submission
from rayjob_operator.builders.logs import build_log_configmap, tail
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.builders.submitter import FINAL_EXIT_CODES, build_submitter_job
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.rayjob import RayJob
from rayjob_submitter import contract
from rayjob_submitter.inline import portable_command
from tests.unit.jobstate import BASE

OPTIONS = PodOptions()


def job(**spec: Any) -> RayJob:
    body = copy.deepcopy(BASE)
    body["metadata"]["labels"] = {"kueue.x-k8s.io/queue-name": "q", "team": "ml"}
    body["metadata"]["annotations"] = {"note": "x"}
    body["spec"].update(spec)
    return RayJob.model_validate(body)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_cluster_copies_labels_and_annotations_and_is_owned() -> None:
    body = job_builders.build_cluster_for_job(
        job(), cluster_name="demo-abcde", job_id="demo-abcde", submitter_image="sub:1", options=OPTIONS
    )
    meta = body["metadata"]
    assert meta["labels"]["kueue.x-k8s.io/queue-name"] == "q"  # queue labels reach the cluster in every mode
    assert meta["labels"][constants.LABEL_ORIGINATED_FROM_CR_NAME] == "demo"
    assert meta["labels"][constants.LABEL_SUBMISSION_MODE] == "K8sJobMode"
    assert meta["annotations"] == {"note": "x"}
    assert meta["ownerReferences"][0]["controller"] is True
    assert body["spec"] == BASE["spec"]["rayClusterSpec"]


def test_sidecar_mode_adds_the_submitter_container_and_never_restarts_the_head() -> None:
    body = job_builders.build_cluster_for_job(
        job(submissionMode="SidecarMode"),
        cluster_name="demo-abcde",
        job_id="demo-abcde",
        submitter_image="sub:1",
        options=OPTIONS,
    )
    spec = body["spec"]["headGroupSpec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    sidecar = spec["containers"][-1]
    assert sidecar["name"] == constants.SUBMITTER_CONTAINER_NAME
    assert sidecar["resources"] == {
        "requests": {"cpu": "500m", "memory": "200Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    env = env_of(sidecar)
    assert env[contract.ENV_DASHBOARD_ADDRESS] == "demo-abcde-head-svc.ns.svc.cluster.local:8265"
    assert env[contract.ENV_SUBMISSION_ID] == "demo-abcde"
    assert body["metadata"]["annotations"][constants.ANNOTATION_DISABLE_HEAD_RESTART] == "true"


def test_default_submitter_job() -> None:
    manifest = build_submitter_job(
        job(entrypoint="echo 'a b' && $X"), job_id="id-1", dashboard_address="addr:8265", cluster=None, image="sub:1"
    )
    assert manifest["metadata"]["name"] == "demo"
    assert manifest["spec"]["backoffLimit"] == 2
    pod = manifest["spec"]["template"]
    assert pod["metadata"]["labels"][constants.LABEL_APP_CREATED_BY] == constants.CREATED_BY_VALUE
    container = pod["spec"]["containers"][0]
    assert (container["name"], container["image"], container["command"]) == (
        "ray-job-submitter",
        "sub:1",
        ["rayjob-submit"],
    )
    env = env_of(container)
    assert env[contract.ENV_ENTRYPOINT] == "echo 'a b' && $X"  # exactly as written: no shell on our side
    assert (env[contract.ENV_DASHBOARD_ADDRESS], env[contract.ENV_SUBMISSION_ID]) == ("addr:8265", "id-1")
    rules = manifest["spec"]["podFailurePolicy"]["rules"]
    assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}
    assert rules[1]["onExitCodes"] == {
        "containerName": "ray-job-submitter",
        "operator": "In",
        "values": FINAL_EXIT_CODES,
    }
    assert 4 not in FINAL_EXIT_CODES  # an unreachable dashboard is worth another pod


def test_user_template_is_kept_and_a_custom_command_gets_no_exit_code_rule() -> None:
    template = {
        "metadata": {"labels": {"mine": "1"}},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"zone": "a"},
            "containers": [
                {
                    "name": "light",
                    "image": "quay.io/kuberay/submitter:v1.5.1",
                    "command": ["/submitter"],
                    "args": ["--", "python", "x.py"],
                    "env": [{"name": "RAY_JOB_SUBMISSION_ID", "value": "user-set"}],
                }
            ],
        },
    }
    manifest = build_submitter_job(
        job(submitterPodTemplate=template, submitterConfig={"backoffLimit": 0}),
        job_id="id-1",
        dashboard_address="addr:8265",
        cluster=None,
        image="sub:1",
    )
    pod = manifest["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert (container["command"], container["args"]) == (["/submitter"], ["--", "python", "x.py"])
    assert pod["spec"]["nodeSelector"] == {"zone": "a"}
    assert pod["metadata"]["labels"]["mine"] == "1"
    assert [e for e in container["env"] if e["name"] == "RAY_JOB_SUBMISSION_ID"] == [
        {"name": "RAY_JOB_SUBMISSION_ID", "value": "user-set"}
    ]  # not duplicated
    assert manifest["spec"]["backoffLimit"] == 0
    assert len(manifest["spec"]["podFailurePolicy"]["rules"]) == 1


KUEUE_TEMPLATE = {
    "spec": {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "ray-job-submitter",
                "image": "rayproject/ray:2.52.0",
                "resources": {"requests": {"cpu": "500m", "memory": "200Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            }
        ],
    }
}
"""What Kueue writes on admission when the RayJob had no template: the head's image, no command."""


def test_template_without_command_in_a_ray_image_runs_the_portable_submitter() -> None:
    manifest = build_submitter_job(
        job(submitterPodTemplate=copy.deepcopy(KUEUE_TEMPLATE), entrypoint="echo 'a b' && $X"),
        job_id="id-1",
        dashboard_address="addr:8265",
        cluster=None,
        image="sub:1",
    )
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == portable_command()
    assert container["command"][:2] == ["python", "-c"]  # what a Ray image has
    assert "args" not in container
    assert (container["image"], container["resources"]) == (
        "rayproject/ray:2.52.0",
        KUEUE_TEMPLATE["spec"]["containers"][0]["resources"],  # type: ignore[index]
    )
    env = env_of(container)
    assert env[contract.ENV_ENTRYPOINT] == "echo 'a b' && $X"  # the script reads it, no shell re-splits it
    assert (env[contract.ENV_DASHBOARD_ADDRESS], env[contract.ENV_SUBMISSION_ID]) == ("addr:8265", "id-1")
    rules = manifest["spec"]["podFailurePolicy"]["rules"]
    assert rules[1]["onExitCodes"]["values"] == FINAL_EXIT_CODES  # same exit codes as rayjob-submit


def test_template_without_command_in_our_image_runs_rayjob_submit() -> None:
    template = {"spec": {"containers": [{"name": "mine", "image": "sub:1"}]}}
    manifest = build_submitter_job(
        job(submitterPodTemplate=template), job_id="i", dashboard_address="a:1", cluster=None, image="sub:1"
    )
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["rayjob-submit"]
    assert manifest["spec"]["podFailurePolicy"]["rules"][1]["onExitCodes"]["containerName"] == "mine"


def test_template_without_restart_policy_gets_never() -> None:
    template = {"spec": {"containers": [{"name": "s", "image": "x"}]}}
    manifest = build_submitter_job(
        job(submitterPodTemplate=template), job_id="i", dashboard_address="a:1", cluster=None, image="sub:1"
    )
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_token_auth_env_comes_from_the_secret() -> None:
    spec = copy.deepcopy(BASE["spec"]["rayClusterSpec"])
    spec["authOptions"] = {"mode": "token", "secretName": "ray-token"}
    cluster = RayCluster.model_validate({"metadata": {"name": "c", "namespace": "ns", "uid": "u"}, "spec": spec})
    manifest = build_submitter_job(job(), job_id="i", dashboard_address="a:1", cluster=cluster, image="sub:1")
    env = env_of(manifest["spec"]["template"]["spec"]["containers"][0])
    assert env["RAY_AUTH_MODE"] == "token"
    assert env["RAY_AUTH_TOKEN"] == {"secretKeyRef": {"name": "ray-token", "key": "auth_token"}}


def test_http_submission_request() -> None:
    request = submission.submit_request(
        job(
            runtimeEnvYAML="env_vars:\n  A: b\n",
            metadata={"k": "v"},
            entrypointNumCpus=1.5,
            entrypointResources='{"widget": 2}',
        ),
        job_id="id-9",
    )
    assert request == {
        "entrypoint": "python -c 'print(1)'",
        "submission_id": "id-9",
        "runtime_env": {"env_vars": {"A": "b"}},
        "metadata": {"k": "v"},
        "entrypoint_num_cpus": 1.5,
        "entrypoint_resources": {"widget": 2.0},
    }


def test_job_head_service_follows_the_current_cluster() -> None:
    spec = copy.deepcopy(BASE["spec"]["rayClusterSpec"])
    cluster = RayCluster.model_validate(
        {"metadata": {"name": "demo-abcde", "namespace": "ns", "uid": "u"}, "spec": spec}
    )
    service = job_builders.build_job_head_service(job(), cluster, options=OPTIONS)
    assert service["metadata"]["name"] == "demo-head-svc"
    assert service["spec"]["selector"][constants.LABEL_CLUSTER] == "demo-abcde"
    assert service["metadata"]["labels"][constants.LABEL_IDENTIFIER] == "demo-head"
    assert service["metadata"]["ownerReferences"][0]["kind"] == "RayJob"


def test_log_tail_keeps_whole_lines() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    kept = tail(text, 100)
    assert len(kept.encode()) <= 100
    assert kept.startswith("line ") and kept.endswith("line 999\n")
    config_map = build_log_configmap(job(), job_id="id", text=text, limit=100)
    assert config_map["metadata"]["annotations"]["ray.io/log-truncated"] == "true"
