"""Sums of Kubernetes resource quantities, written as Kubernetes writes them. Pure.

A RayCluster's ``status.desiredCPU/Memory/GPU/TPU`` are KubeRay's ``CalculateDesiredResources``: the head
pod's resources plus, for each worker group that is not suspended, one pod's resources times ``replicas`` times
``numOfHosts``. A pod's resources are the sum over its template's containers of each container's requests
(its limits where it has no request). The sums are written in the canonical form of Kubernetes' ``Quantity``
(``1500m``, ``3``, ``6Gi``), in the format of the first non-zero summand.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from rayjob_operator.builders.ray_start import is_gpu_resource, parse_quantity
from rayjob_operator.model.raycluster import PodTemplate, RayCluster

Format = Literal["DecimalSI", "BinarySI", "DecimalExponent"]
TPU = "google.com/tpu"
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BINARY_SUFFIX = re.compile(r"[KMGTPE]i$")
_EXPONENT = re.compile(r"\d[eE][+-]?\d+$")
NANO = Decimal("1e-9")


@dataclasses.dataclass(frozen=True)
class Quantity:
    value: Decimal = Decimal(0)
    format: Format = "DecimalSI"

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        raw = str(text).strip()
        fmt: Format = (
            "BinarySI" if _BINARY_SUFFIX.search(raw) else "DecimalExponent" if _EXPONENT.search(raw) else "DecimalSI"
        )
        # Kubernetes keeps nano precision and rounds up what is finer.
        return cls(parse_quantity(raw).quantize(NANO, rounding=ROUND_CEILING), fmt)

    def __add__(self, other: Quantity) -> Quantity:
        fmt = self.format if self.value != 0 else other.format
        return Quantity(self.value + other.value, fmt)

    def __mul__(self, times: int) -> Quantity:
        return Quantity(self.value * times, self.format)

    def __str__(self) -> str:
        return canonical(self.value, self.format)


def _decimal_form(value: Decimal) -> tuple[int, int]:
    """Integer mantissa and an exponent that is a multiple of 3, the exponent as large as it can be."""
    exponent = -9
    mantissa = int((value / NANO).to_integral_value())
    while exponent < 18 and mantissa != 0 and mantissa % 1000 == 0:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent


def canonical(value: Decimal, fmt: Format) -> str:
    """``Quantity.String()``: binary suffixes only for whole values of at least 1024, else SI suffixes."""
    if value == 0:
        return "0"
    if fmt == "BinarySI" and abs(value) >= 1024 and value == value.to_integral_value():
        number, power = int(value), 0
        while power < len(_BINARY_SUFFIXES) - 1 and number % 1024 == 0:
            number //= 1024
            power += 1
        return f"{number}{_BINARY_SUFFIXES[power]}"
    mantissa, exponent = _decimal_form(value)
    if fmt == "DecimalExponent":
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    return f"{mantissa}{_DECIMAL_SUFFIXES[exponent]}"


def total(quantities: Iterable[Quantity]) -> Quantity:
    result = Quantity()
    for quantity in quantities:
        result = result + quantity
    return result


def _container_resources(container: Mapping[str, Any]) -> dict[str, Quantity]:
    resources = container.get("resources") or {}
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}  # requests win
    out: dict[str, Quantity] = {}
    for name, raw in merged.items():
        try:
            out[str(name)] = Quantity.parse(raw)
        except ValueError:
            continue  # the API server would have refused it; nothing to count
    return out


def pod_resources(template: PodTemplate) -> dict[str, Quantity]:
    """The resources one pod of ``template`` asks for, summed over its containers."""
    summed: dict[str, Quantity] = {}
    for container in template.containers():
        for name, quantity in _container_resources(container).items():
            summed[name] = summed[name] + quantity if name in summed else quantity
    return summed


def desired_resources(cluster: RayCluster) -> dict[str, Quantity]:
    """Everything the cluster's pods ask for: the head, and each group's pod times replicas times hosts."""
    parts = [pod_resources(cluster.spec.head_group_spec.template)]
    for group in cluster.spec.worker_groups():
        if group.suspend:
            continue
        pod = pod_resources(group.template)
        parts.append({name: q * (group.replicas * group.num_of_hosts) for name, q in pod.items()})
    summed: dict[str, Quantity] = {}
    for part in parts:
        for name, quantity in part.items():
            summed[name] = summed.get(name, Quantity()) + quantity
    return summed


def desired_summary(cluster: RayCluster) -> dict[str, str]:
    """``desiredCPU``, ``desiredMemory``, ``desiredGPU`` (every GPU resource) and ``desiredTPU``."""
    summed = desired_resources(cluster)
    gpus = total(q for name, q in sorted(summed.items()) if is_gpu_resource(name.lower()) and q.value != 0)
    return {
        "desiredCPU": str(summed.get("cpu", Quantity())),
        "desiredMemory": str(summed.get("memory", Quantity())),
        "desiredGPU": str(gpus),
        "desiredTPU": str(summed.get(TPU, Quantity())),
    }
