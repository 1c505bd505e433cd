"""``make run``: the product end to end on one machine, with no container engine.

It brings up the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) with the CRDs,
a real Ray head on loopback, an HTTP proxy that routes every head Service's in-cluster dashboard name to that
head (the operator only sees ``HTTP_PROXY``), the pod runner that executes submitter pods, and the operator
itself. Then it applies a RayJob running a small Ray program (an actor counting to five) once per submission
mode, shows its progress live, prints the driver log the operator kept and the final ``kubectl get rayjob``
line, and tears everything down (also on Ctrl-C). With ``--keep`` the environment stays up for your own
RayJobs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes

from rayjob_devenv.binaries import REPO_ROOT
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead, find_ray_bin
from rayjob_devenv.waiting import wait_for

NAMESPACE = "demo"
HEAD_SERVICES = r".*-head-svc\.[^.]+\.svc\.cluster\.local:8265"
MODES = ("K8sJobMode", "HTTPMode")
TERMINAL = ("Complete", "Failed")
# The program goes into `python -c "..."`, which Ray runs with /bin/sh: it uses no double quotes or `$`.
COUNTER = """import ray
ray.init()

@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value

counter = Counter.remote()
for _ in range(5):
    print('counter:', ray.get(counter.increment.remote()), flush=True)
print('the counter is done', flush=True)
"""


def demo_rayjob(mode: str) -> dict[str, Any]:
    name = f"counter-{mode.removesuffix('Mode').lower()}"
    container = {
        "name": "ray-head",
        "image": "rayproject/ray:2.52.0",
        "ports": [{"containerPort": 8265, "name": "dashboard"}],
    }
    worker = {"name": "ray-worker", "image": "rayproject/ray:2.52.0"}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "submissionMode": mode,
            "entrypoint": f'python -c "{COUNTER}"',
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 5,
            "rayClusterSpec": {
                "rayVersion": "2.52.0",
                "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}},
                "workerGroupSpecs": [
                    {
                        "groupName": "workers",
                        "replicas": 1,
                        "minReplicas": 0,
                        "maxReplicas": 2,
                        "rayStartParams": {},
                        "template": {"spec": {"containers": [worker]}},
                    }
                ],
            },
        },
    }


def _say(text: str) -> None:
    print(text, flush=True)


@contextlib.contextmanager
def environment(work: Path) -> Iterator[tuple[LocalControlPlane, kubernetes.client.ApiClient, OperatorProcess]]:
    """Everything the product needs, started in order and stopped in reverse (also on Ctrl-C)."""
    with contextlib.ExitStack() as stack:
        _say("Starting the control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)...")
        cp = stack.enter_context(LocalControlPlane(crds=sorted((REPO_ROOT / "crds").glob("*.yaml"))))
        _say(f"  ready in {cp.startup_seconds:.1f}s; CRDs: {', '.join(cp.crds)}; data and logs: {cp.data_dir}")
        _say("Starting a Ray head on loopback...")
        head = stack.enter_context(RayHead(num_cpus=2))
        _say(f"  dashboard at {head.url}; temp dir {head.temp_dir}")
        proxy = stack.enter_context(ForwardProxy([(HEAD_SERVICES, head.address)]))
        _say(f"  every <cluster>-head-svc.<ns>.svc.cluster.local:8265 goes there through {proxy.url}")
        api = stack.enter_context(kubernetes.config.new_client_from_config(str(cp.kubeconfig)))  # type: ignore[no-untyped-call]
        stack.enter_context(_pod_runner(api, proxy, work))
        operator = OperatorProcess(
            kubeconfig=cp.kubeconfig,
            log_path=work / "operator.log",
            proxy=proxy.url,
            settings={"RAYJOB_OPERATOR_METRICS_PORT": "0"},
        )
        _say("Starting the operator...")
        operator.start()
        stack.callback(operator.stop)
        _say(f"  running (log: {operator.log_path})")
        yield cp, api, operator


def _pod_runner(api: kubernetes.client.ApiClient, proxy: ForwardProxy, work: Path) -> LocalPodRunner:
    return LocalPodRunner.for_local_ray(api, proxy_url=proxy.url, log_dir=work / "pods", ray_bin=find_ray_bin())


def run_one(cp: LocalControlPlane, api: kubernetes.client.ApiClient, mode: str, timeout: float) -> bool:
    body = demo_rayjob(mode)
    name = body["metadata"]["name"]
    custom = kubernetes.client.CustomObjectsApi(api)
    _say(f"\n=== {mode}: applying RayJob {NAMESPACE}/{name}")
    custom.create_namespaced_custom_object("ray.io", "v1", NAMESPACE, "rayjobs", body)
    started, last = time.monotonic(), None
    status: dict[str, Any] = {}
    while time.monotonic() - started < timeout:
        current = custom.get_namespaced_custom_object("ray.io", "v1", NAMESPACE, "rayjobs", name)
        status = (current.get("status") if isinstance(current, dict) else None) or {}
        seen = (status.get("jobDeploymentStatus", "New"), status.get("jobStatus", ""))
        if seen != last:
            _say(f"  {time.monotonic() - started:5.1f}s  deployment status: {seen[0]:<13} job status: {seen[1] or '-'}")
            last = seen
        if seen[0] in TERMINAL:
            break
        time.sleep(0.2)
    else:
        _say(f"  gave up after {timeout:.0f}s")
        return False
    if status.get("reason"):
        _say(f"  reason: {status['reason']}: {status.get('message', '')}")
    _say(f"--- the job's driver log (kept by the operator in ConfigMap {name}-driver-log):")
    core = kubernetes.client.CoreV1Api(api)
    config_map = wait_for(
        lambda: core.read_namespaced_config_map(f"{name}-driver-log", NAMESPACE), 30, "the driver log ConfigMap"
    )
    _say((config_map.data or {}).get("driver.log", "").rstrip())
    _say("--- kubectl get rayjob:")
    _say(_kubectl(cp, "get", "rayjob", name, "-n", NAMESPACE).rstrip())
    return bool(status.get("jobStatus") == "SUCCEEDED")


def _kubectl(cp: LocalControlPlane, *args: str) -> str:
    result = subprocess.run(cp.kubectl_argv(*args), capture_output=True, text=True, timeout=30, check=False)
    return result.stdout + result.stderr


def _keep_instructions(cp: LocalControlPlane) -> str:
    return "\n".join(
        [
            "\nThe environment stays up; the operator serves every namespace. Try:",
            f"  export KUBECONFIG={cp.kubeconfig}",
            f"  alias kubectl={cp.kubectl}",
            "  kubectl apply -f tests/data/kuberay/ray-job.sample.yaml   # or your own RayJob",
            "  kubectl get rayjob -w",
            "  kubectl describe rayjob <name>",
            "Press Ctrl-C to tear everything down.",
        ]
    )


def run(args: argparse.Namespace) -> int:
    modes = MODES if args.mode == "both" else (args.mode,)
    work = Path(tempfile.mkdtemp(prefix="rayjob-demo-"))
    results: dict[str, bool] = {}
    with environment(work) as (cp, api, _operator):
        namespace = kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=NAMESPACE))
        kubernetes.client.CoreV1Api(api).create_namespace(namespace)
        for mode in modes:
            results[mode] = run_one(cp, api, mode, args.timeout)
        if args.keep:
            _say(_keep_instructions(cp))
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
        _say("\nTearing everything down...")
    summary = ", ".join(f"{mode}: {'SUCCEEDED' if ok else 'NOT SUCCEEDED'}" for mode, ok in results.items())
    _say(f"Done. {summary}. Nothing is left running.")
    return 0 if all(results.values()) else 1
