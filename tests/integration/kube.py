"""Test helpers over the official kubernetes client: read objects, wait for conditions with deadlines."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

import kubernetes

from rayjob_devenv.waiting import WaitTimeout, wait_for

T = TypeVar("T")
GROUP, VERSION = "ray.io", "v1"


class Kube:
    def __init__(self, control_plane: Any, namespace: str) -> None:
        self.cp = control_plane
        self.ns = namespace
        self.core = control_plane.core_v1
        self.batch = control_plane.batch_v1
        self.custom = control_plane.custom_objects

    # --- custom objects -------------------------------------------------------------------------------

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        body.setdefault("metadata", {})["namespace"] = self.ns
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, plural, body)  # type: ignore[no-any-return]

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name)  # type: ignore[no-any-return]
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name, patch)  # type: ignore[no-any-return]

    def delete(self, plural: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name)
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise

    # --- core objects ------------------------------------------------------------------------------------

    def pods(self, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_pod(self.ns, label_selector=selector).items)

    def services(self, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_service(self.ns, label_selector=selector).items)

    def jobs(self) -> list[Any]:
        return list(self.batch.list_namespaced_job(self.ns).items)

    def events(self, name: str) -> list[Any]:
        items = self.core.list_namespaced_event(self.ns, field_selector=f"involvedObject.name={name}").items
        return list(items)

    # --- waiting -----------------------------------------------------------------------------------------

    def wait(self, probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
        return wait_for(probe, timeout, what)

    def wait_cluster_state(self, name: str, state: str, timeout: float = 60.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            body = self.get("rayclusters", name)
            return body if body and (body.get("status") or {}).get("state") == state else None

        return self.wait(probe, f"RayCluster {self.ns}/{name} to be {state}", timeout)

    def wait_job(self, name: str, deployment: str | tuple[str, ...], timeout: float = 90.0) -> dict[str, Any]:
        wanted = (deployment,) if isinstance(deployment, str) else deployment

        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            body = self.get("rayjobs", name)
            last["status"] = (body or {}).get("status")
            return body if body and (body.get("status") or {}).get("jobDeploymentStatus") in wanted else None

        try:
            return self.wait(probe, f"RayJob {self.ns}/{name} to reach {' or '.join(wanted)}", timeout)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}; its last status: {last.get('status')}") from e

    def wait_gone(self, plural: str, name: str, timeout: float = 60.0) -> None:
        self.wait(lambda: self.get(plural, name) is None, f"{plural} {self.ns}/{name} to be deleted", timeout)

    def running_pods(self, selector: str) -> list[Any]:
        return [p for p in self.pods(selector) if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
