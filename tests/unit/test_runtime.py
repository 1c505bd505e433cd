"""Work queue, cache, namespace scope, configuration: the operator's runtime without any cluster."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rayjob_operator.config import ConfigurationError, OperatorConfig
from rayjob_operator.k8s import errors
from rayjob_operator.runtime.cache import KindCache
from rayjob_operator.runtime.namespaces import NamespaceScope
from rayjob_operator.runtime.workqueue import WorkQueue


def body(name: str, rv: str, ns: str = "ns", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv, "labels": labels}}


async def _drain(queue: WorkQueue[str], handler: Any, *, until: Any, timeout: float = 2.0) -> None:
    runner = asyncio.create_task(queue.run(handler, workers=2))
    try:
        async with asyncio.timeout(timeout):
            while not until():
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_queue_deduplicates_and_never_runs_a_key_twice_at_once() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    running: set[str] = set()
    overlaps: list[str] = []
    calls: list[str] = []

    async def handler(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        await asyncio.sleep(0.02)
        running.discard(key)

    for _ in range(5):
        queue.add("a")
    queue.add("b")
    await _drain(queue, handler, until=lambda: sorted(calls) == ["a", "b"])
    assert overlaps == []


async def test_key_added_while_processing_runs_again_afterwards() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    calls: list[int] = []

    async def handler(key: str) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            queue.add(key)  # a change arrives while we work

    queue.add("a")
    await _drain(queue, handler, until=lambda: len(calls) == 2)


async def test_requeue_after_and_error_backoff() -> None:
    queue: WorkQueue[str] = WorkQueue("t", min_backoff=0.01)
    calls: list[str] = []

    async def handler(key: str) -> float | None:
        calls.append(key)
        if len(calls) == 1:
            raise RuntimeError("boom")  # retried with backoff
        return 0.01 if len(calls) == 2 else None  # asks to run once more

    queue.add("a")
    await _drain(queue, handler, until=lambda: len(calls) == 3)


async def test_a_failure_of_the_api_server_is_logged_in_a_line_and_others_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue: WorkQueue[str] = WorkQueue("t", min_backoff=0.01)
    calls: list[str] = []

    async def handler(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise errors.Unavailable(0, "ClientConnectorError", "GET /api: connection refused")
        if len(calls) == 2:
            raise RuntimeError("a bug")

    queue.add("a")
    await _drain(queue, handler, until=lambda: len(calls) == 3)
    failures = [r for r in caplog.records if "reconciling a failed" in r.getMessage()]
    assert [(r.levelname, r.exc_info is not None) for r in failures] == [("WARNING", False), ("ERROR", True)]
    assert "connection refused" in failures[0].getMessage()


async def test_earliest_delay_wins_and_forget_cancels() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    calls: list[str] = []

    async def handler(key: str) -> None:
        calls.append(key)

    queue.add_after("a", 10)
    queue.add_after("a", 0.01)
    queue.add_after("b", 0.01)
    queue.forget("b")
    await _drain(queue, handler, until=lambda: calls == ["a"])


def test_cache_keeps_the_newest_version_and_indexes() -> None:
    cache = KindCache({"app": lambda b: [b["metadata"]["labels"].get("app", "")]})
    assert cache.upsert(body("x", "5", app="one"))
    assert not cache.upsert(body("x", "4", app="stale"))  # an older event never wins
    assert cache.get("ns", "x")["metadata"]["labels"]["app"] == "one"  # type: ignore[index]
    cache.upsert(body("x", "6", app="two"))
    assert cache.by_index("app", "one") == []
    assert [b["metadata"]["name"] for b in cache.by_index("app", "two")] == ["x"]


def test_cache_resync_drops_ghosts_but_keeps_newer_objects() -> None:
    cache = KindCache()
    cache.upsert(body("ghost", "3"))
    cache.upsert(body("fresh", "12"))  # written after the list was taken
    changed, ghosts = cache.resync([body("kept", "8")], "10")
    assert [g["metadata"]["name"] for g in ghosts] == ["ghost"]
    assert [c["metadata"]["name"] for c in changed] == ["kept"]
    assert cache.resync([body("kept", "8")], "10")[0] == []  # the same version again changes nothing
    assert sorted(b["metadata"]["name"] for b in cache.all()) == ["fresh", "kept"]


def test_cache_resync_of_one_namespace_leaves_others_alone() -> None:
    cache = KindCache()
    cache.upsert(body("other", "3", ns="b"))
    assert cache.resync([], "10", namespace="a") == ([], [])
    assert cache.get("b", "other") is not None


def test_mark_deleting() -> None:
    cache = KindCache()
    cache.upsert(body("x", "1"))
    cache.mark_deleting("ns", "x")
    assert cache.get("ns", "x")["metadata"]["deletionTimestamp"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("patterns", "namespace", "expected"),
    [
        ((), "any", True),
        (("team-a",), "team-a", True),
        (("team-a",), "team-b", False),
        (("rt-*",), "rt-1", True),
        (("!rs-*",), "rs-1", False),
        (("!rs-*",), "default", True),
        (("*,!kube-*",), "kube-system", False),
    ],
)
def test_namespace_scope(patterns: tuple[str, ...], namespace: str, expected: bool) -> None:
    assert NamespaceScope(patterns).matches(namespace) is expected


def test_namespace_scope_lists_exact_names_only() -> None:
    assert NamespaceScope(("a", "b")).specific == ["a", "b"]
    assert NamespaceScope(("a-*",)).specific is None
    assert NamespaceScope().specific is None


def test_config_reads_prefixed_and_kuberay_names() -> None:
    config = OperatorConfig.from_env(
        {
            "RAYJOB_OPERATOR_POLL_INTERVAL_SECONDS": "0.5",
            "RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS": "120",
            "CLUSTER_DOMAIN": "example.local",
            "RAYJOB_OPERATOR_CLUSTER_DOMAIN": "wins.local",
            "DELETE_RAYJOB_CR_AFTER_JOB_FINISHES": "true",
        }
    )
    assert config.poll_interval_seconds == 0.5
    assert config.status_check_timeout_seconds == 120
    assert config.cluster_domain == "wins.local"
    assert config.delete_rayjob_after_finish is True
    assert OperatorConfig.from_env({}) == OperatorConfig()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RAYJOB_OPERATOR_RECONCILE_WORKERS", "many"),
        ("RAYJOB_OPERATOR_INJECT_PROBES", "perhaps"),
        ("RAYJOB_OPERATOR_POLL_INTERVAL_SECONDS", "-1"),
    ],
)
def test_config_errors_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        OperatorConfig.from_env({name: value})


async def test_urgent_keys_go_first_and_run_once() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    calls: list[str] = []

    async def handler(key: str) -> None:
        calls.append(key)

    for key in ("a", "b", "c"):
        queue.add(key)
    queue.add("c", urgent=True)  # c was waiting at the back: it moves ahead, and runs only once
    queue.add("d", urgent=True)
    assert len(queue) == 4
    runner = asyncio.create_task(queue.run(handler, workers=1))
    try:
        async with asyncio.timeout(2):
            while len(calls) < 4:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # a second run of c would show here
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert calls == ["c", "d", "a", "b"]


async def test_urgent_add_while_processing_runs_the_key_next() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    calls: list[str] = []

    async def handler(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            queue.add("b")
            queue.add("a", urgent=True)  # arrives while a is being processed

    queue.add("a")
    runner = asyncio.create_task(queue.run(handler, workers=1))
    try:
        async with asyncio.timeout(2):
            while len(calls) < 3:
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert calls == ["a", "a", "b"]


async def test_an_urgent_key_starts_while_every_ordinary_worker_is_busy() -> None:
    queue: WorkQueue[str] = WorkQueue("t")
    release = asyncio.Event()
    calls: list[str] = []

    async def handler(key: str) -> None:
        calls.append(key)
        if key.startswith("slow"):
            await release.wait()  # the ordinary workers are all held up (by an API server under load, say)

    for key in ("slow-1", "slow-2", "slow-3"):
        queue.add(key)
    runner = asyncio.create_task(queue.run(handler, workers=2, urgent_workers=1))
    try:
        async with asyncio.timeout(2):
            while len(calls) < 2:
                await asyncio.sleep(0.005)
            queue.add("ended", urgent=True)
            while "ended" not in calls:
                await asyncio.sleep(0.005)
            assert calls == ["slow-1", "slow-2", "ended"]  # slow-3 still waits: the urgent worker took only "ended"
            release.set()
            while len(calls) < 4:
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert calls[-1] == "slow-3"
