"""The last parse of each object, by resourceVersion: parsing and validating a RayJob is the costliest step of
a reconcile, and most reconciles (a pod became ready, the poller saw a change) find the RayJob unchanged.

A memo of a pure function of the body, nothing more: a new resourceVersion is parsed again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from rayjob_operator.model import bodies
from rayjob_operator.model.bodies import Body

T = TypeVar("T")


class ParseCache(Generic[T]):
    def __init__(self) -> None:
        self._last: dict[Hashable, tuple[tuple[str, int | None], T]] = {}

    def parse(self, key: Hashable, body: Body, parser: Callable[[Body], T]) -> T:
        version = (bodies.uid(body), bodies.resource_version(body))
        last = self._last.get(key)
        if last is not None and last[0] == version and version[1] is not None:
            return last[1]
        value = parser(body)
        self._last[key] = (version, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._last.pop(key, None)

    def __len__(self) -> int:
        return len(self._last)
