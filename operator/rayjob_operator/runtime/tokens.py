"""Ray auth tokens of the clusters the RayJobs use, so a running job's reconciles do not read its Secret again.

One entry per RayJob: the token of its current attempt's cluster (None: that cluster has no token auth).
An entry goes when the attempt ends or the RayJob goes (``forget``), and when the dashboard refused the
token (a rotated Secret is then read again), so what decides is always what the API says now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable


@dataclasses.dataclass(frozen=True)
class _Entry:
    cluster: str
    token: str | None


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Hashable, cluster: str) -> tuple[bool, str | None]:
        """(known, token) for this RayJob's attempt on ``cluster``; an entry for another cluster is not known."""
        entry = self._entries.get(key)
        if entry is None or entry.cluster != cluster:
            return False, None
        return True, entry.token

    def remember(self, key: Hashable, cluster: str, token: str | None) -> None:
        self._entries[key] = _Entry(cluster, token)

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)
