"""Which namespaces the operator serves: kopf's ``--namespace`` patterns (globs, ``!`` negations)."""

from __future__ import annotations

import dataclasses
import fnmatch


@dataclasses.dataclass(frozen=True)
class NamespaceScope:
    patterns: tuple[str, ...] = ()
    """Empty: every namespace. Each pattern is comma-separated globs; a leading ``!`` excludes."""

    @property
    def specific(self) -> list[str] | None:
        """The exact namespaces to list, or None when cluster-wide listing (then filtering) is needed."""
        if not self.patterns or any(ch in p for p in self.patterns for ch in "*?!,["):
            return None
        return list(self.patterns)

    def matches(self, namespace: str) -> bool:
        return not self.patterns or any(_match(namespace, p) for p in self.patterns)


def _match(namespace: str, pattern: str) -> bool:
    globs = [g.strip() for g in pattern.split(",") if g.strip()]
    matched = not globs or globs[0].startswith("!")
    for glob in globs:
        if glob.startswith("!"):
            matched = matched and not fnmatch.fnmatchcase(namespace, glob[1:])
        else:
            matched = matched or fnmatch.fnmatchcase(namespace, glob)
    return matched
