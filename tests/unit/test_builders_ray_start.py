"""rayStartParams completion, Kubernetes quantities and the rendered ``ray start`` command."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rayjob_operator import constants
from rayjob_operator.builders import ray_start

ADDRESS = "c-head-svc.ns.svc.cluster.local:6379"


def _limits(**limits: str) -> dict[str, Any]:
    return {"limits": dict(limits)}


def _worker(params: dict[str, str] | None = None, **kwargs: Any) -> dict[str, str]:
    kwargs.setdefault("container_resources", None)
    return ray_start.complete_start_params(params, head=False, address=ADDRESS, **kwargs)


def _head(params: dict[str, str] | None = None, **kwargs: Any) -> dict[str, str]:
    kwargs.setdefault("container_resources", None)
    return ray_start.complete_start_params(params, head=True, **kwargs)


# --- quantities --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("5Gi", Decimal(5 * 1024**3)),
        ("200Mi", Decimal(200 * 1024**2)),
        ("1Ki", Decimal(1024)),
        ("1G", Decimal(10**9)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("2E-3", Decimal("0.002")),
        ("250u", Decimal("0.00025")),
        ("1.5Gi", Decimal(1610612736)),
        (4, Decimal(4)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_quantity(text: str | int, expected: Decimal) -> None:
    assert ray_start.parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "5GB", "1.2.3", "Gi", "5 Gi", "--1"])
def test_parse_quantity_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        ray_start.parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("500m", 1), ("1", 1), ("1500m", 2), ("1.1", 2), ("5Gi", 5368709120), ("1m", 1)]
)
def test_quantity_to_int_rounds_up(text: str, expected: int) -> None:
    assert ray_start.quantity_to_int(text) == expected


# --- completion --------------------------------------------------------------------------------------------


def test_head_defaults() -> None:
    assert _head() == {
        "dashboard-host": "0.0.0.0",
        "metrics-export-port": "8080",
        "block": "true",
        "dashboard-agent-listen-port": "52365",
    }


def test_worker_defaults_include_the_head_address() -> None:
    params = _worker()
    assert params["address"] == ADDRESS
    assert "dashboard-host" not in params
    assert params["block"] == "true"


def test_user_values_win_except_block() -> None:
    user = {
        "dashboard-host": "127.0.0.1",
        "metrics-export-port": "9000",
        "dashboard-agent-listen-port": "1234",
        "block": "false",
        "num-cpus": "7",
    }
    params = _head(user, container_resources=_limits(cpu="2"))
    assert params == {**user, "block": "true"}
    assert _worker({"address": "elsewhere:1"})["address"] == "elsewhere:1"


def test_inputs_are_not_changed() -> None:
    user = {"num-cpus": "1"}
    resources = {"limits": {"cpu": "2"}}
    ray_start.complete_start_params(user, head=True, container_resources=resources, group_labels={"a": "b"})
    assert user == {"num-cpus": "1"}
    assert resources == {"limits": {"cpu": "2"}}


def test_cpu_from_limit_rounded_up() -> None:
    assert _head(container_resources=_limits(cpu="500m"))["num-cpus"] == "1"
    assert _head(container_resources=_limits(cpu="2500m"))["num-cpus"] == "3"


def test_cpu_falls_back_to_request() -> None:
    assert _head(container_resources={"requests": {"cpu": "1500m"}})["num-cpus"] == "2"
    assert _head(container_resources={"limits": {"cpu": "0"}, "requests": {"cpu": "2"}})["num-cpus"] == "2"


def test_memory_from_limit_only() -> None:
    assert _head(container_resources=_limits(memory="5Gi"))["memory"] == "5368709120"
    assert _head(container_resources=_limits(memory="1G"))["memory"] == "1000000000"
    assert "memory" not in _head(container_resources={"requests": {"memory": "2Gi"}})


def test_unparsable_container_quantities_are_ignored() -> None:
    params = _head(container_resources=_limits(cpu="lots", memory="much"))
    assert "num-cpus" not in params
    assert "memory" not in params


@pytest.mark.parametrize("key", ["nvidia.com/gpu", "amd.com/gpu", "nvidia.com/mig-2g.32gb"])
def test_gpus_from_a_gpu_limit(key: str) -> None:
    assert _worker(container_resources={"limits": {key: "2"}})["num-gpus"] == "2"


def test_gpus_not_from_requests_or_zero_limits() -> None:
    assert "num-gpus" not in _worker(container_resources={"requests": {"nvidia.com/gpu": "1"}})
    assert "num-gpus" not in _worker(container_resources=_limits(**{"nvidia.com/gpu": "0"}))
    assert _worker({"num-gpus": "0"}, container_resources=_limits(**{"nvidia.com/gpu": "4"}))["num-gpus"] == "0"


def test_tpu_goes_into_the_resources_json() -> None:
    params = _worker(container_resources=_limits(**{"google.com/tpu": "4"}))
    assert params["resources"] == """'{"TPU":4}'"""


def test_neuron_cores_merge_into_existing_resources() -> None:
    params = _worker(
        {"resources": """'{"custom": 1.5}'"""}, container_resources=_limits(**{"aws.amazon.com/neuroncore": "2"})
    )
    assert params["resources"] == """'{"custom":1.5,"neuron_cores":2}'"""


def test_first_accelerator_in_name_order_only() -> None:
    limits = _limits(**{"google.com/tpu": "4", "aws.amazon.com/neuroncore": "2"})
    assert _worker(container_resources=limits)["resources"] == """'{"neuron_cores":2}'"""


def test_declared_accelerator_is_kept() -> None:
    user = {"resources": """'{"TPU": 8}'"""}
    assert _worker(user, container_resources=_limits(**{"google.com/tpu": "4"}))["resources"] == user["resources"]


def test_escaped_resources_json_is_read_and_extended() -> None:
    user = {"resources": '"{\\"resource1\\": 2}"'}
    params = _worker(user, container_resources=_limits(**{"google.com/tpu": "4"}))
    assert params["resources"] == """'{"TPU":4,"resource1":2}'"""


def test_unreadable_resources_json_is_passed_through() -> None:
    user = {"resources": "not json"}
    assert _worker(user, container_resources=_limits(**{"google.com/tpu": "4"}))["resources"] == "not json"


def test_group_resources_override_flags() -> None:
    params = _worker(
        {"num-cpus": "1", "memory": "1", "num-gpus": "0", "resources": "'{}'"},
        container_resources=_limits(cpu="8", memory="8Gi"),
        group_resources={"CPU": "2500m", "memory": "1Gi", "nvidia.com/gpu": "1", "custom": "3", "bad": "x"},
    )
    assert params["num-cpus"] == "3"
    assert params["memory"] == str(1024**3)
    assert params["num-gpus"] == "1"
    assert params["resources"] == """'{"custom":3}'"""


def test_group_labels_become_the_labels_flag() -> None:
    params = _worker(group_labels={"zone": "a", "accelerator": "h100"})
    assert params["labels"] == "accelerator=h100,zone=a"
    assert "labels" not in _worker(group_labels={})


# --- rendering ---------------------------------------------------------------------------------------------


def test_render_sorts_and_formats_flags() -> None:
    params = {
        "num-cpus": "1",
        "block": "true",
        "disable-usage-stats": "TRUE",
        "include-dashboard": "false",
        "log-color": "false",
        "include-log-monitor": "False",
        "some-switch": "false",
        "address": "h:1",
    }
    assert ray_start.render_flags(params) == (
        " --address=h:1 --block --disable-usage-stats --include-dashboard=false"
        " --include-log-monitor=False --log-color=false --num-cpus=1"
    )


def test_head_command_for_the_resources_sample() -> None:
    # ray-job.resources.yaml: num-cpus 3, num-gpus 2, a quoted resources JSON, memory limit 5Gi.
    params = _head(
        {"num-cpus": "3", "num-gpus": "2", "resources": '"{\\"resource1\\": 2, \\"resource2\\": 3}"'},
        container_resources={"limits": {"cpu": "1", "memory": "5Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}},
    )
    assert ray_start.ray_start_command(params, head=True) == (
        "ray start --head --block --dashboard-agent-listen-port=52365 --dashboard-host=0.0.0.0"
        " --memory=5368709120 --metrics-export-port=8080 --num-cpus=3 --num-gpus=2"
        ' --resources="{\\"resource1\\": 2, \\"resource2\\": 3}"'
    )


def test_worker_command() -> None:
    params = _worker(container_resources={"limits": {"cpu": "500m", "memory": "200Mi"}})
    assert ray_start.ray_start_command(params, head=False) == (
        f"ray start --address={ADDRESS} --block --dashboard-agent-listen-port=52365"
        " --memory=209715200 --metrics-export-port=8080 --num-cpus=1"
    )


def test_container_command_without_user_command() -> None:
    command, args = ray_start.container_command(None, None, start_command="ray start --head --block")
    assert command == ["/bin/bash", "-c", "--"]
    assert args == ["ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; ray start --head --block"]


def test_container_command_runs_the_user_command_first() -> None:
    _, args = ray_start.container_command(["echo", "hi"], ["there"], start_command="ray start --block")
    assert args == ["echo hi there && ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; ray start --block"]


def test_wraps_ray_start() -> None:
    assert ray_start.wraps_ray_start(["/bin/bash", "-c"], ["ray start --head --block"])
    assert not ray_start.wraps_ray_start(["python", "x.py"], None)
    assert not ray_start.wraps_ray_start(None, None)


def test_metrics_default_matches_the_constant() -> None:
    assert _head()["metrics-export-port"] == str(constants.PORT_METRICS)
    assert _head()["dashboard-agent-listen-port"] == str(constants.PORT_DASHBOARD_AGENT)
