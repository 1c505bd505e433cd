"""Exactly-once, judged from the load-generator dashboard's counters. Pure.

One attempt of a RayJob is one RayCluster (``status.rayClusterName``); its head Service is
``<cluster>-head-svc.<ns>.svc.<domain>:8265``, the Host header every submission to it carries (the operator's
HTTPMode POST and the K8sJobMode stand-in submitter's both go through the dashboard as an HTTP proxy). A
duplicate is an attempt whose head accepted more than one distinct submission id, an accepted id on a head
no attempt owns, or one id sent to the heads of two attempts. Repeated POSTs of one id are not duplicates:
after a timeout or a reset the sender cannot know whether the POST got through, and the second one is
answered "already exists".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from rayjob_chaos.observations import Key

HEAD_HOST = re.compile(r"^(?P<cluster>[^.]+)-head-svc\.(?P<namespace>[^.]+)\.svc(\.|:|$)")


@dataclasses.dataclass(frozen=True)
class SubmissionCheck:
    accepted: int
    """Distinct submission ids the dashboard accepted."""
    duplicates: list[str]
    repeated_ids: int
    """Ids POSTed more than once (informational)."""
    repeated_posts: int
    """POSTs beyond the first of each id (informational)."""


def head_of(host: str) -> Key | None:
    """(namespace, cluster) of a head Service's Host header, or None for any other host."""
    match = HEAD_HOST.match(host)
    return (match["namespace"], match["cluster"]) if match else None


def check_submissions(jobs: Mapping[str, Mapping[str, Any]], attempts: Mapping[Key, set[str]]) -> SubmissionCheck:
    """``jobs``: the dashboard's per-id counters (``stats()["jobs"]``); ``attempts``: cluster names per RayJob."""
    owner = {(ns, cluster): name for (ns, name), clusters in attempts.items() for cluster in clusters}
    per_attempt: dict[Key, list[str]] = {}
    duplicates: list[str] = []
    for job_id, entry in sorted(jobs.items()):
        host = entry.get("host")
        if host is None:
            continue  # never accepted (every POST of it failed, or it was only asked about)
        head = head_of(str(host))
        if head is None or head not in owner:
            duplicates.append(f"submission id {job_id} accepted on {host}, a head no RayJob attempt owns")
        else:
            per_attempt.setdefault(head, []).append(job_id)
        hosts = list(entry.get("hosts") or [])
        if len(hosts) > 1:
            duplicates.append(f"submission id {job_id} sent to {len(hosts)} heads: {', '.join(hosts)}")
    for (ns, cluster), ids in sorted(per_attempt.items()):
        if len(ids) > 1:
            rayjob = owner[(ns, cluster)]
            duplicates.append(f"RayJob {ns}/{rayjob}, attempt {cluster}: {len(ids)} ids accepted: {', '.join(ids)}")
    repeated = [int(e.get("submissions") or 0) for e in jobs.values() if int(e.get("submissions") or 0) > 1]
    accepted = sum(1 for e in jobs.values() if e.get("host") is not None)
    return SubmissionCheck(accepted, duplicates, len(repeated), sum(r - 1 for r in repeated))
