"""The composition root and the only module that uses kopf.

kopf provides the watch streams, login, probes and process lifecycle. Every handler is a low-level
``on.event`` that only feeds the controller's caches and queues, so kopf never writes anything to
our objects: no progress annotations, no diff-base, no finalizer of its own (``ray.io/rayjob-finalizer``
is managed by the RayJob reconciler itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import kopf

from rayjob_operator.config import OperatorConfig
from rayjob_operator.k8s import resources as res
from rayjob_operator.k8s.client import KubeClient
from rayjob_operator.k8s.credentials import ApiCredentials
from rayjob_operator.reconcilers.controller import Controller
from rayjob_operator.runtime.namespaces import NamespaceScope

logger = logging.getLogger("rayjob_operator")
CONTROLLER_KEY = "controller"


def _as_bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _credentials(info: kopf.ConnectionInfo) -> ApiCredentials:
    return ApiCredentials(
        server=info.server,
        ca_path=os.fspath(info.ca_path) if isinstance(info.ca_path, str | os.PathLike) else None,  # type: ignore[arg-type]
        ca_data=_as_bytes(info.ca_data),
        insecure=bool(info.insecure),
        token=info.token,
        scheme=info.scheme or "Bearer",
        username=info.username,
        password=info.password,
        certificate_path=os.fspath(info.certificate_path)
        if isinstance(info.certificate_path, str | os.PathLike)
        else None,  # type: ignore[arg-type]
        certificate_data=_as_bytes(info.certificate_data),
        private_key_path=os.fspath(info.private_key_path)
        if isinstance(info.private_key_path, str | os.PathLike)
        else None,  # type: ignore[arg-type]
        private_key_data=_as_bytes(info.private_key_data),
    )


async def load_credentials() -> ApiCredentials:
    """The same credentials kopf uses (kubeconfig, in-cluster service account, exec plugins)."""
    settings = kopf.OperatorSettings()
    info = await asyncio.get_running_loop().run_in_executor(
        None, lambda: kopf.login_via_client(logger=logger, settings=settings)
    )
    if info is None:
        raise kopf.PermanentError("No Kubernetes credentials found (no kubeconfig, not in a cluster).")
    return _credentials(info)


def _scope() -> NamespaceScope:
    patterns = os.environ.get("RAYJOB_OPERATOR_NAMESPACES", "")
    return NamespaceScope(tuple(p for p in patterns.split(";") if p))


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = False  # our reconcilers post their own events
    settings.persistence.finalizer = "rayjob-operator.ray.io/kopf-unused"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="rayjob-operator.ray.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="rayjob-operator.ray.io")
    settings.watching.server_timeout = 300
    settings.watching.inactivity_timeout = 330
    for resource in (res.PODS, res.SERVICES, res.JOBS):
        settings.watching.label_selectors[resource.group, resource.plural] = (
            "app.kubernetes.io/created-by=kuberay-operator"
        )
    scope = _scope()
    # kopf watches namespaces (and CRDs) only to resolve namespace globs; without globs it needs neither.
    settings.scanning.disabled = bool(scope.specific) or not scope.patterns
    config = OperatorConfig.from_env(os.environ)
    controller = Controller(config, KubeClient(load_credentials), scope)
    await controller.start()
    memo[CONTROLLER_KEY] = controller


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    controller: Controller | None = memo.get(CONTROLLER_KEY)
    if controller is not None:
        await controller.stop()


def _feed(resource: res.Resource) -> Any:
    async def handler(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        controller: Controller | None = memo.get(CONTROLLER_KEY)
        if controller is not None:
            controller.on_event(resource, event)

    handler.__name__ = f"watch_{resource.plural}"
    return handler


for _resource in (res.RAYJOBS, res.RAYCLUSTERS, res.PODS, res.SERVICES, res.JOBS):
    kopf.on.event(_resource.group, _resource.version, _resource.plural, id=f"watch-{_resource.plural}")(
        _feed(_resource)
    )
