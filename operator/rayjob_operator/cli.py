"""Console script ``rayjob-operator``: runs the operator (``kopf run -m rayjob_operator.main``).

    rayjob-operator                       # every namespace, standalone (one replica)
    rayjob-operator -n team-a -n team-b   # only these namespaces (globs and !negations work as in kopf)
    rayjob-operator --log-format=json --liveness=http://0.0.0.0:8081/healthz

Options other than the namespace ones are passed to ``kopf run`` unchanged.
"""

from __future__ import annotations

import os
import sys

NAMESPACE_FLAGS = ("--namespace", "-n")


def split_namespaces(args: list[str]) -> tuple[list[str], list[str]]:
    """Separate the namespace patterns from the other arguments."""
    patterns: list[str] = []
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in NAMESPACE_FLAGS:
            patterns.append(next(it, ""))
        elif arg.startswith("--namespace="):
            patterns.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return [p for p in patterns if p], rest


def kopf_arguments(args: list[str]) -> tuple[list[str], list[str]]:
    """The ``kopf run`` argument list, and the namespace patterns it watches."""
    patterns, rest = split_namespaces(args)
    scope = [f"--namespace={p}" for p in patterns] or (
        [] if {"--all-namespaces", "-A"} & set(rest) else ["--all-namespaces"]
    )
    standalone = [] if any(a.startswith("--peering") for a in rest) else ["--standalone"]
    return ["run", *standalone, *scope, *rest, "-m", "rayjob_operator.main"], patterns


def main(argv: list[str] | None = None) -> None:
    import kopf.cli

    arguments, patterns = kopf_arguments(list(sys.argv[1:] if argv is None else argv))
    os.environ["RAYJOB_OPERATOR_NAMESPACES"] = ";".join(patterns)
    kopf.cli.main(args=arguments, prog_name="rayjob-operator")
