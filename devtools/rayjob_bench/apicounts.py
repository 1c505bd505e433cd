"""What the API server and etcd did during a run: request counters, the audit log, etcd's revision.

Parsers are pure; :func:`etcd_revision` makes one request to etcd's JSON gateway.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
READ_VERBS = frozenset({"get", "list"})
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def request_totals(metrics_text: str) -> Counter[tuple[str, str]]:
    """``apiserver_request_total`` summed per (verb, resource[/subresource]) from a /metrics page."""
    totals: Counter[tuple[str, str]] = Counter()
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        totals[(labels.get("verb", ""), resource)] += int(float(match["value"]))
    return totals


def counter_delta(before: Counter[tuple[str, str]], after: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    delta = Counter(after)
    delta.subtract(before)
    return +delta


@dataclasses.dataclass
class AuditCounts:
    """One user's requests in an audit log (each request once, by its auditID)."""

    by_verb_resource: Counter[str] = dataclasses.field(default_factory=Counter)
    codes: Counter[int] = dataclasses.field(default_factory=Counter)
    total: int = 0
    writes: int = 0
    reads: int = 0
    watches: int = 0
    event_writes: int = 0
    """Writes of Events (core or events.k8s.io): reported apart, not in ``writes``."""

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], user: str, *, since: float | None = None, until: float | None = None
    ) -> AuditCounts:
        """Count ``user``'s requests received in [``since``, ``until``] (epoch seconds; None: unbounded)."""
        requests: dict[str, dict[str, Any]] = {}
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            if (event.get("user") or {}).get("username") != user:
                continue
            received = _epoch(event.get("requestReceivedTimestamp", ""))
            if (since is not None and received < since) or (until is not None and received > until):
                continue
            requests[event["auditID"]] = event  # a later stage replaces an earlier one
        counts = cls()
        for event in requests.values():
            counts.add(event)
        return counts

    def add(self, event: dict[str, Any]) -> None:
        verb = str(event.get("verb", ""))
        ref = event.get("objectRef") or {}
        resource = str(ref.get("resource", "")) + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        self.total += 1
        self.by_verb_resource[f"{verb} {resource}"] += 1
        code = (event.get("responseStatus") or {}).get("code")
        if isinstance(code, int):
            self.codes[code] += 1
        if verb == "watch":
            self.watches += 1
        elif verb in READ_VERBS:
            self.reads += 1
        elif verb in WRITE_VERBS and ref.get("resource") == "events":
            self.event_writes += 1
        elif verb in WRITE_VERBS:
            self.writes += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "writes": self.writes,
            "reads": self.reads,
            "watches": self.watches,
            "event_writes": self.event_writes,
            "conflicts_409": self.codes.get(409, 0),
            "throttled_429": self.codes.get(429, 0),
            "by_verb_resource": dict(self.by_verb_resource.most_common()),
        }


def _epoch(timestamp: str) -> float:
    """RFC 3339 with microseconds (``2026-12-02T18:03:00.123456Z``) → epoch seconds; 0 if unparsable."""
    try:
        return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def audit_policy(user: str) -> dict[str, Any]:
    """An audit policy logging ``user``'s requests at Metadata level, nobody else's."""
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "users": [user]}, {"level": "None"}],
    }


def etcd_revision(host: str, port: int, timeout: float = 10.0) -> int:
    """etcd's current revision (every write transaction raises it by one)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", "/v3/kv/range", body=json.dumps({"key": "AA==", "limit": 1}))
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return int(answer["header"]["revision"])
