"""Shared test helpers: paths of the vendored data."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


UNIT_TIMEOUT = 10
"""Seconds a unit test may take: pure logic, no processes, no sockets, no cluster."""
TOOLS_TIMEOUT = 300
"""Seconds a tools test may take: it runs real programs (helm, hadolint, shellcheck, scripts), maybe on a busy box."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tier markers and timeouts come from the folder (integration tests get the global timeout)."""
    for item in items:
        path = str(item.path).replace("\\", "/")
        if "tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "tests/tools/" in path:
            item.add_marker(pytest.mark.tools)
            item.add_marker(pytest.mark.timeout(TOOLS_TIMEOUT))
        else:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT))
