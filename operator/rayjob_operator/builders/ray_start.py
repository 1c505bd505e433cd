"""``rayStartParams`` completion and the ``ray start`` command line (KubeRay's rules, spec §4.4). Pure.

Completion order follows KubeRay: the group's ``resources`` and ``labels`` fields override their flags,
then the missing defaults are filled in, then the Ray container's resources fill ``num-cpus``,
``memory``, ``num-gpus`` and well-known accelerators when the user has not set them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rayjob_operator import constants

# --- Kubernetes quantities ---------------------------------------------------------------------------------

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$")


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a Kubernetes quantity (``500m``, ``2``, ``1.5``, ``5Gi``, ``1G``, ``1e3``).

    Raises ``ValueError`` for anything the API server would not accept as a quantity.
    """
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Decimal(number)
    except InvalidOperation as err:  # pragma: no cover - the regex only lets numbers through
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from err
    if suffix in _BINARY:
        return amount * (Decimal(1024) ** _BINARY[suffix])
    if suffix[:1] in ("e", "E"):
        return amount.scaleb(int(suffix[1:]))
    return amount.scaleb(_DECIMAL[suffix])


def quantity_to_int(value: str | int | float) -> int:
    """A quantity rounded up to an integer, as Kubernetes' ``Quantity.Value()`` (``500m`` → 1)."""
    return math.ceil(parse_quantity(value))


def _quantity_or_none(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except ValueError:
        return None


def _format_number(value: Decimal) -> str:
    """A JSON number as Go's encoder writes a float64: ``2`` rather than ``2.0``."""
    as_float = float(value)
    if as_float.is_integer() and abs(as_float) < 1e21:
        return str(int(as_float))
    return repr(as_float)


def _resources_json(resources: Mapping[str, Decimal]) -> str:
    """The ``resources`` flag value: compact JSON, keys sorted, single-quoted for the shell."""
    body = ",".join(f"{json.dumps(k)}:{_format_number(v)}" for k, v in sorted(resources.items()))
    return "'{" + body + "}'"


def _parse_resources_flag(text: str) -> dict[str, Decimal] | None:
    """The user's ``resources`` flag as a map, or ``None`` when it is not JSON we can read.

    The flag is usually shell-quoted (``'{"a": 1}'`` or ``"{\\"a\\": 1}"``); both forms are read.
    """
    stripped = text.strip().strip("'\"` ")
    for candidate in (stripped, stripped.replace('\\"', '"')):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict) and all(isinstance(v, int | float) for v in parsed.values()):
            return {str(k): Decimal(str(v)) for k, v in parsed.items()}
    return None


# --- GPU and accelerator resources ------------------------------------------------------------------

_MIG = re.compile(r"nvidia\.com/mig-\d+g\.\d+gb$")
ACCELERATOR_RESOURCES = {"aws.amazon.com/neuroncore": "neuron_cores", "google.com/tpu": "TPU"}
"""Container resources that become Ray custom resources (the first one found, in name order)."""


def is_gpu_resource(name: str) -> bool:
    """``nvidia.com/gpu``, ``amd.com/gpu``, ... and NVIDIA MIG slices such as ``nvidia.com/mig-2g.32gb``."""
    return name.endswith("gpu") or _MIG.search(name) is not None


def _apply_group_resources(params: dict[str, str], group_resources: Mapping[str, str]) -> None:
    """The group's ``resources`` field overrides num-cpus/memory/num-gpus and replaces the resources JSON."""
    custom: dict[str, Decimal] = {}
    for name, raw in group_resources.items():
        quantity = _quantity_or_none(raw)
        if quantity is None:
            continue  # KubeRay skips what it cannot parse
        lowered = name.lower()
        if lowered == "cpu":
            params["num-cpus"] = str(math.ceil(quantity))
        elif lowered == "memory":
            params["memory"] = str(math.ceil(quantity))
        elif is_gpu_resource(lowered):
            params["num-gpus"] = str(math.ceil(quantity))
        else:
            custom[name] = quantity
    if custom:
        params["resources"] = _resources_json(custom)


def _apply_group_labels(params: dict[str, str], group_labels: Mapping[str, str]) -> None:
    if group_labels:
        params["labels"] = ",".join(f"{k}={v}" for k, v in sorted(group_labels.items()))


def _fill_defaults(params: dict[str, str], *, head: bool, address: str | None) -> None:
    if head:
        params.setdefault("dashboard-host", "0.0.0.0")  # reachable through the head Service
    elif address is not None:
        params.setdefault("address", address)
    params.setdefault("metrics-export-port", str(constants.PORT_METRICS))
    params["block"] = "true"
    params.setdefault("dashboard-agent-listen-port", str(constants.PORT_DASHBOARD_AGENT))


def _positive(resources: Mapping[str, Any], name: str) -> Decimal | None:
    quantity = _quantity_or_none(resources.get(name))
    return quantity if quantity is not None and quantity != 0 else None


def _fill_from_container(params: dict[str, str], container_resources: Mapping[str, Any]) -> None:
    limits: Mapping[str, Any] = container_resources.get("limits") or {}
    requests: Mapping[str, Any] = container_resources.get("requests") or {}
    if "num-cpus" not in params:
        cpu = _positive(limits, "cpu") or _positive(requests, "cpu")
        if cpu is not None:
            params["num-cpus"] = str(math.ceil(cpu))
    if "memory" not in params:
        memory = _positive(limits, "memory")
        if memory is not None:
            params["memory"] = str(math.ceil(memory))
    if "num-gpus" not in params:
        gpu = next((q for n in sorted(limits) if is_gpu_resource(n) and (q := _positive(limits, n))), None)
        if gpu is not None:
            params["num-gpus"] = str(math.ceil(gpu))
    _add_accelerator(params, limits)


def _add_accelerator(params: dict[str, str], limits: Mapping[str, Any]) -> None:
    """Add the first well-known accelerator of the limits to the resources JSON, unless one is there."""
    found = next(((n, q) for n in sorted(limits) if n in ACCELERATOR_RESOURCES and (q := _positive(limits, n))), None)
    if found is None:
        return
    current = _parse_resources_flag(params["resources"]) if "resources" in params else {}
    if current is None or any(name in current for name in ACCELERATOR_RESOURCES.values()):
        return  # unreadable JSON is passed through untouched; an accelerator already declared wins
    current[ACCELERATOR_RESOURCES[found[0]]] = found[1]
    params["resources"] = _resources_json(current)


def complete_start_params(
    params: Mapping[str, str] | None,
    *,
    head: bool,
    container_resources: Mapping[str, Any] | None,
    group_resources: Mapping[str, str] | None = None,
    group_labels: Mapping[str, str] | None = None,
    address: str | None = None,
) -> dict[str, str]:
    """The ``rayStartParams`` KubeRay would run with; ``address`` (workers) is ``<head FQDN>:<gcs port>``.

    Returns a new dict; the inputs are not changed.
    """
    completed = dict(params or {})
    _apply_group_resources(completed, group_resources or {})
    _apply_group_labels(completed, group_labels or {})
    _fill_defaults(completed, head=head, address=address)
    _fill_from_container(completed, container_resources or {})
    return completed


# --- Rendering ---------------------------------------------------------------------------------------

KEEP_FALSE_FLAGS = frozenset({"log-color", "include-dashboard", "include-log-monitor"})
"""Flags whose ``false`` is a value of its own (``--include-dashboard=false``), not an absent switch."""
ULIMIT = "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}"
SHELL_COMMAND = ["/bin/bash", "-c", "--"]


def render_flags(params: Mapping[str, str]) -> str:
    """`` --key=value`` per flag, keys sorted; ``true`` is a bare ``--key``, ``false`` is dropped."""
    parts: list[str] = []
    for key in sorted(params):
        value = params[key]
        lowered = value.lower()
        if lowered in ("true", "false") and key not in KEEP_FALSE_FLAGS:
            if lowered == "true":
                parts.append(f" --{key}")
            continue
        parts.append(f" --{key}={value}")
    return "".join(parts)


def ray_start_command(params: Mapping[str, str], *, head: bool) -> str:
    """``ray start --head <flags>`` or ``ray start <flags>``."""
    return ("ray start --head" if head else "ray start") + render_flags(params)


def user_command_line(command: Sequence[str] | None, args: Sequence[str] | None) -> str:
    """The container's own command and args joined by spaces (how KubeRay reads them)."""
    return " ".join([*(command or []), *(args or [])])


def wraps_ray_start(command: Sequence[str] | None, args: Sequence[str] | None) -> bool:
    """Whether the user's command already runs ``ray start`` (then KubeRay leaves it alone)."""
    return "ray start" in user_command_line(command, args)


def container_command(
    command: Sequence[str] | None, args: Sequence[str] | None, *, start_command: str
) -> tuple[list[str], list[str]]:
    """Command and args of the Ray container: the user's command runs first, then ``ray start``."""
    generated = f"{ULIMIT}; {start_command}"
    user = user_command_line(command, args)
    return list(SHELL_COMMAND), [f"{user} && {generated}" if user else generated]
