"""The portable submitter (:mod:`rayjob_submitter.portable`) as a command line: ``python -c <source>``.

The source is shipped without its docstrings (comments never survive ``ast.unparse``), so the pod spec
stays small; the code itself is unchanged.
"""

from __future__ import annotations

import ast
import functools
import inspect

from rayjob_submitter import portable

PYTHON = "python"
"""Every Ray image has it on its PATH."""


def _without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree) + "\n"


@functools.cache
def portable_source() -> str:
    """The script a submitter container runs with ``python -c``."""
    return _without_docstrings(inspect.getsource(portable))


def portable_command() -> list[str]:
    return [PYTHON, "-c", portable_source()]


def is_portable_command(command: list[str] | None) -> bool:
    return list(command or []) == portable_command()
