"""The Store over an in-memory API: write-through caches, idempotent create/delete, re-lists that find ghosts."""

from __future__ import annotations

from typing import Any

from rayjob_operator import constants
from rayjob_operator.k8s import resources as res
from rayjob_operator.model.bodies import Body
from rayjob_operator.runtime.namespaces import NamespaceScope
from rayjob_operator.runtime.store import Store, owned_by, pods_of_cluster, selected_cluster
from tests.unit.fakes import FakeKube

LABELS = {constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE}


def pod(name: str, *, cluster: str = "c", owner: str = "uid-c") -> Body:
    labels = {**LABELS, constants.LABEL_CLUSTER: cluster}
    refs = [{"kind": "RayCluster", "name": cluster, "uid": owner, "controller": True}]
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels, "ownerReferences": refs}}


def changes(store: Store) -> list[tuple[str, str, bool]]:
    seen: list[tuple[str, str, bool]] = []
    store.listeners.append(
        lambda resource, body, deleted: seen.append((resource.kind, body["metadata"]["name"], deleted))
    )
    return seen


async def test_writes_reach_the_cache_at_once_and_indexes_follow() -> None:
    kube = FakeKube()
    store = Store(kube, NamespaceScope())
    created, new = await store.create(res.PODS, "ns", pod("p1"))
    assert new and store.get(res.PODS, "ns", "p1") == created
    assert [p["metadata"]["name"] for p in store.by_index(res.PODS, "owner", owned_by("ns", "uid-c"))] == ["p1"]
    assert [p["metadata"]["name"] for p in store.by_index(res.PODS, "group", pods_of_cluster("ns", "c"))] == ["p1"]


async def test_create_of_what_exists_returns_it_and_delete_of_what_is_gone_succeeds() -> None:
    kube = FakeKube()
    existing = kube.put(res.PODS, pod("p1"))
    store = Store(kube, NamespaceScope())
    body, new = await store.create(res.PODS, "ns", pod("p1"))
    assert (new, body["metadata"]["uid"]) == (False, existing["metadata"]["uid"])
    assert await store.delete(res.PODS, "ns", "p1") is False  # deleted now
    deleting = store.get(res.PODS, "ns", "p1")
    assert deleting is not None and deleting["metadata"]["deletionTimestamp"]  # kept until the watch says gone
    assert await store.delete(res.PODS, "ns", "p1") is True  # already gone


async def test_a_relist_drops_the_ghosts_a_watch_gap_hid_and_says_so() -> None:
    kube = FakeKube()
    kube.put(res.PODS, pod("p1"))
    kube.put(res.PODS, pod("p2"))
    store = Store(kube, NamespaceScope())
    await store.prime()
    seen = changes(store)
    del kube.objects[(res.PODS.plural, "ns", "p1")]  # deleted while no watch event reached us
    await store.resync()
    assert store.get(res.PODS, "ns", "p1") is None
    assert ("Pod", "p1", True) in seen
    assert store.count(res.PODS) == 1


async def test_a_relist_passes_on_what_a_watch_gap_created_or_changed_and_nothing_else() -> None:
    kube = FakeKube()
    kube.put(res.PODS, pod("p1"))
    kube.put(res.PODS, pod("p2"))
    store = Store(kube, NamespaceScope())
    seen = changes(store)
    await store.prime()
    assert seen == []  # priming fills the caches; the controller starts its reconciles from them
    kube.put(res.PODS, pod("p3"))  # created and changed while no watch event reached us
    await kube.patch(res.PODS, "ns", "p2", {"metadata": {"labels": {"x": "y"}}})
    await store.resync()
    assert sorted(seen) == [("Pod", "p2", False), ("Pod", "p3", False)]
    assert store.by_index(res.PODS, "owner", owned_by("ns", "uid-c"))[1]["metadata"]["labels"]["x"] == "y"


async def test_refresh_reads_the_api_and_removes_what_is_gone() -> None:
    kube = FakeKube()
    kube.put(res.RAYJOBS, {"metadata": {"name": "j", "namespace": "ns"}, "spec": {}})
    store = Store(kube, NamespaceScope())
    await store.prime()
    newer = await kube.patch(res.RAYJOBS, "ns", "j", {"metadata": {"labels": {"a": "b"}}})
    refreshed = await store.refresh(res.RAYJOBS, "ns", "j")
    assert refreshed is not None and refreshed["metadata"]["resourceVersion"] == newer["metadata"]["resourceVersion"]
    del kube.objects[(res.RAYJOBS.plural, "ns", "j")]
    seen = changes(store)
    assert await store.refresh(res.RAYJOBS, "ns", "j") is None
    assert seen == [("RayJob", "j", True)]


async def test_unwatched_kinds_go_straight_to_the_api() -> None:
    kube = FakeKube()
    store = Store(kube, NamespaceScope())
    config_map: dict[str, Any] = {"metadata": {"name": "log", "namespace": "ns"}, "data": {"driver.log": "1"}}
    assert await store.read(res.CONFIGMAPS, "ns", "log") is None
    await store.put(res.CONFIGMAPS, "ns", config_map)
    await store.put(res.CONFIGMAPS, "ns", {**config_map, "data": {"driver.log": "2"}})  # replaced
    read = await store.read(res.CONFIGMAPS, "ns", "log")
    assert read is not None and read["data"] == {"driver.log": "2"}
    secret = {"metadata": {"name": "token", "namespace": "ns"}, "data": {"auth_token": "x"}}
    assert await store.create_once(res.SECRETS, "ns", secret) is True
    assert await store.create_once(res.SECRETS, "ns", {**secret, "data": {"auth_token": "y"}}) is False
    kept = await store.read(res.SECRETS, "ns", "token")
    assert kept is not None and kept["data"] == {"auth_token": "x"}  # a token is never changed


async def test_rayjobs_are_indexed_by_the_cluster_their_selector_names() -> None:
    kube = FakeKube()
    selecting = {"metadata": {"name": "j1", "namespace": "ns"}, "spec": {"clusterSelector": {"ray.io/cluster": "c"}}}
    owning = {"metadata": {"name": "j2", "namespace": "ns"}, "spec": {"rayClusterSpec": {}}}
    kube.put(res.RAYJOBS, selecting)
    kube.put(res.RAYJOBS, owning)
    store = Store(kube, NamespaceScope())
    await store.prime()
    assert [j["metadata"]["name"] for j in store.by_index(res.RAYJOBS, "selects", selected_cluster("ns", "c"))] == [
        "j1"
    ]
    assert store.by_index(res.RAYJOBS, "selects", selected_cluster("other", "c")) == []
