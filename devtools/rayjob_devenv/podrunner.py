"""Runs the submitter containers of simulated pods as local processes, and reports their exits.

kwok plays every pod, but nothing inside a kwok pod executes. For the containers this environment can
run for real (the submitters: ``rayjob-submit``, KubeRay's light-weight ``/submitter``, which takes the
same flags, and the commands a Ray image has, ``python`` and ``ray``, which run from the local Ray venv),
this runner plays the kubelet's part:

- when such a pod is Running, the container's command runs as a local process with the pod's
  environment (plain values, fieldRefs, Secret and ConfigMap keys) plus the harness's HTTP proxy, so
  in-cluster dashboard names reach the local Ray head;
- when the process exits, the container's terminated state (exit code, reason, times) is written to the
  pod status, and a pod whose containers have all ended gets phase Succeeded or Failed;
- when the pod is deleted first, the process is terminated.

A container runs as its pod says (its command and args), with the local program its ``command[0]`` maps to
(see :func:`submitter_commands`); other containers are left to kwok. Of a Ray node's pod, only the
submitter sidecar (``ray-job-submitter``) runs: the Ray containers are played by kwok, and the Ray work
runs on the one local Ray head.

How it differs from a kubelet: no image, no filesystem isolation, no resource limits, no restarts
(``restartPolicy`` is treated as Never), and probes are ignored.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes

logger = logging.getLogger(__name__)
CREATED_BY = "app.kubernetes.io/created-by=kuberay-operator"
NODE_TYPE_LABEL = "ray.io/node-type"
SIDECAR_CONTAINER = "ray-job-submitter"
_NOT_INHERITED = ("RAY_", "HTTP", "http", "NO_PROXY", "no_proxy")


def submitter_commands(ray_bin: Path, rayjob_submit: Path | None = None) -> dict[str, list[str]]:
    """What each submitter command runs here: ours (``rayjob-submit``, also for KubeRay's ``/submitter``,
    which takes the same flags) and a Ray image's ``python`` and ``ray``, from the local Ray venv."""
    submit = [str(rayjob_submit or Path(sys.executable).with_name("rayjob-submit"))]
    return {
        "rayjob-submit": submit,
        "/submitter": submit,
        "python": [str(ray_bin / "python")],
        "ray": [str(ray_bin / "ray")],
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class _Process:
    namespace: str
    pod: str
    container: str
    popen: subprocess.Popen[bytes]
    started_at: str
    log_path: Path
    sole_container: bool


class LocalPodRunner:
    def __init__(
        self,
        api: kubernetes.client.ApiClient,
        *,
        commands: Mapping[str, list[str]],
        env: Mapping[str, str],
        log_dir: Path,
    ) -> None:
        """``commands`` maps a container's command[0] (e.g. ``rayjob-submit``) to the local argv prefix."""
        self._core = kubernetes.client.CoreV1Api(api)
        self._commands = dict(commands)
        self._env = dict(env)
        self._log_dir = log_dir
        self._processes: dict[tuple[str, str, str], _Process] = {}
        self._done: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._home_roots: dict[str, Path] = {}
        self._projected: set[tuple[str, str]] = set()
        self._pending_projections: dict[tuple[str, str], tuple[Any, Path]] = {}

    @classmethod
    def for_local_ray(
        cls, api: kubernetes.client.ApiClient, *, proxy_url: str, log_dir: Path, ray_bin: Path
    ) -> LocalPodRunner:
        """A runner of every known submitter (:func:`submitter_commands`) whose processes reach the
        in-cluster dashboard names through ``proxy_url``; nothing of our own Ray or proxy settings leaks."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env.update(HTTP_PROXY=proxy_url, NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
        return cls(api, commands=submitter_commands(ray_bin), env=env, log_dir=log_dir)

    def project_head_volumes(self, namespace: str, home_root: Path) -> None:
        """Play the kubelet's volume mounts for head pods in ``namespace``: ConfigMap volumes mounted under
        /home are written below ``home_root`` (which the Ray head standing in for those heads sees as /home)."""
        self._home_roots[namespace] = home_root

    def __enter__(self) -> LocalPodRunner:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for target, name in ((self._watch_loop, "pod-watch"), (self._reap_loop, "pod-reaper")):
            thread = threading.Thread(target=target, name=f"podrunner-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            _terminate(process.popen)
        for thread in self._threads:
            thread.join(timeout=10)

    def log_of(self, namespace: str, pod: str, container: str) -> str:
        path = self._log_dir / f"{namespace}_{pod}_{container}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs_for(self, namespace: str, prefix: str) -> str:
        """Everything the runner's processes printed for pods whose name starts with ``prefix``."""
        return "".join(p.read_text(errors="replace") for p in sorted(self._log_dir.glob(f"{namespace}_{prefix}*.log")))

    # --- watching ---------------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            watch = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in watch.stream(  # type: ignore[no-untyped-call]
                    self._core.list_pod_for_all_namespaces, label_selector=CREATED_BY, timeout_seconds=5
                ):
                    if self._stop.is_set():
                        break
                    self._on_event(event["type"], event["object"])
            except Exception as exc:  # the watch is restarted; a test fails on its own deadline
                if not self._stop.is_set():
                    logger.warning("pod runner watch failed: %s", exc)
                    self._stop.wait(0.5)
            finally:
                watch.stop()  # type: ignore[no-untyped-call]

    def _on_event(self, kind: str, pod: Any) -> None:
        meta = pod.metadata
        if kind == "DELETED" or meta.deletion_timestamp:
            self._kill_pod(meta.namespace, meta.name)
            return
        if (pod.status.phase or "") != "Running":
            return
        if meta.namespace in self._home_roots and (meta.labels or {}).get("ray.io/node-type") == "head":
            self._project(pod, self._home_roots[meta.namespace])
        containers = pod.spec.containers or []
        ray_node = NODE_TYPE_LABEL in (meta.labels or {})
        for container in containers:
            command = container.command or []
            if ray_node and container.name != SIDECAR_CONTAINER:
                continue  # a Ray container: kwok plays it
            if command and command[0] in self._commands:
                self._launch(pod, container, sole=len(containers) == 1)

    def _project(self, pod: Any, home_root: Path) -> None:
        """Write the pod's ConfigMap volumes; like a kubelet, retry (from the reaper loop) until they exist."""
        key = (pod.metadata.namespace, pod.metadata.name)
        if key in self._projected:
            return
        try:
            self._write_volumes(pod, home_root)
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise
            with self._lock:
                self._pending_projections[key] = (pod, home_root)
            return
        self._projected.add(key)
        with self._lock:
            self._pending_projections.pop(key, None)

    def _write_volumes(self, pod: Any, home_root: Path) -> None:
        volumes = {v.name: v.config_map for v in pod.spec.volumes or [] if v.config_map is not None}
        for mount in pod.spec.containers[0].volume_mounts or []:
            source = volumes.get(mount.name)
            if source is None or not mount.mount_path.startswith("/home/"):
                continue
            data = self._core.read_namespaced_config_map(source.name, pod.metadata.namespace).data or {}
            items = [(i.key, i.path) for i in source.items] if source.items else [(k, k) for k in data]
            target = home_root / mount.mount_path.removeprefix("/home/")
            for key_name, path in items:
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                (target / path).write_text(data.get(key_name, ""))

    def _kill_pod(self, namespace: str, name: str) -> None:
        with self._lock:
            victims = [p for k, p in self._processes.items() if k[:2] == (namespace, name)]
        for process in victims:
            _terminate(process.popen)

    # --- running ----------------------------------------------------------------------------------------

    def _launch(self, pod: Any, container: Any, *, sole: bool) -> None:
        key = (pod.metadata.namespace, pod.metadata.name, container.name)
        with self._lock:
            if key in self._processes or key in self._done:
                return
            self._done.add(key)
        argv = [*self._commands[container.command[0]], *container.command[1:], *(container.args or [])]
        env = {**self._env, **self._container_env(pod, container)}
        log_path = self._log_dir / f"{key[0]}_{key[1]}_{key[2]}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        logger.info("pod runner: started %s/%s[%s] as pid %d", *key, popen.pid)
        with self._lock:
            self._processes[key] = _Process(
                *key, popen=popen, started_at=_now(), log_path=log_path, sole_container=sole
            )

    def _container_env(self, pod: Any, container: Any) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in container.env or []:
            if item.value_from is None:
                env[item.name] = item.value or ""
                continue
            value = self._resolve(pod, item.value_from)
            if value is not None:
                env[item.name] = value
        return env

    def _resolve(self, pod: Any, source: Any) -> str | None:
        ns = pod.metadata.namespace
        if source.field_ref is not None:
            return _field(pod, source.field_ref.field_path)
        if source.secret_key_ref is not None:
            ref = source.secret_key_ref
            data = self._core.read_namespaced_secret(ref.name, ns).data or {}
            return base64.b64decode(data[ref.key]).decode() if ref.key in data else None
        if source.config_map_key_ref is not None:
            ref = source.config_map_key_ref
            return (self._core.read_namespaced_config_map(ref.name, ns).data or {}).get(ref.key)
        return None

    def _reap_loop(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                pending = list(self._pending_projections.values())
            for pod, root in pending:
                with contextlib.suppress(kubernetes.client.ApiException):
                    self._project(pod, root)
            with self._lock:
                finished = [(k, p) for k, p in self._processes.items() if p.popen.poll() is not None]
                for key, _ in finished:
                    del self._processes[key]
            for _, process in finished:
                self._report(process)

    def _report(self, process: _Process) -> None:
        code = process.popen.returncode
        code = 128 - code if code < 0 else code  # killed by a signal: as a kubelet reports it
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": process.started_at,
            "finishedAt": _now(),
        }
        # A strategic merge patch merges the state struct: the old "running" must be removed explicitly.
        status: dict[str, Any] = {
            "containerStatuses": [
                {
                    "name": process.container,
                    "ready": False,
                    "restartCount": 0,
                    "state": {"running": None, "waiting": None, "terminated": terminated},
                }
            ],
        }
        if process.sole_container:
            status["phase"] = "Succeeded" if code == 0 else "Failed"
            status["conditions"] = [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]
        logger.info("pod runner: %s/%s[%s] exited with %d", process.namespace, process.pod, process.container, code)
        with contextlib.suppress(kubernetes.client.ApiException):  # the pod may be gone meanwhile
            self._core.patch_namespaced_pod_status(process.pod, process.namespace, {"status": status})


def _field(pod: Any, path: str) -> str | None:
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.podIP": pod.status.pod_ip,
        "status.hostIP": pod.status.host_ip,
    }
    if path in simple:
        value = simple[path]
        return str(value) if value is not None else None
    for prefix, values in (("metadata.labels", meta.labels), ("metadata.annotations", meta.annotations)):
        if path.startswith(prefix + "['") and path.endswith("']"):
            found = (values or {}).get(path[len(prefix) + 2 : -2])
            return str(found) if found is not None else None
    return None


def _terminate(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(timeout=5)
