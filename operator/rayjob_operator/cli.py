"""Console script ``rayjob-operator``: runs the operator (kopf) with ``rayjob_operator.main``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import kopf.cli

    args = list(sys.argv[1:] if argv is None else argv)
    defaults = (
        []
        if any(a.startswith("--namespace") or a.startswith("-n") or a == "--all-namespaces" for a in args)
        else ["--all-namespaces"]
    )
    standalone = [] if "--peering" in " ".join(args) else ["--standalone"]
    sys.argv = ["rayjob-operator", "run", *standalone, *defaults, "-m", "rayjob_operator.main", *args]
    kopf.cli.main()
    return 0
