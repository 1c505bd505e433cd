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


SUMMARY_KINDS = ("kueue", "kueue timing")
"""``user_properties`` of test reports that are printed in a section of the session summary."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A "Kueue" section: the version each started Kueue reported, and the timings the Kueue tests measured.

    Here, not in tests/integration/: with pytest-xdist only this conftest is loaded by the controller.
    """
    lines: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            for kind, value in getattr(report, "user_properties", ()):
                if kind in SUMMARY_KINDS:
                    lines.add(f"[{kind}] {value}")
    if lines:
        terminalreporter.write_sep("-", "Kueue")
        for line in sorted(lines):
            terminalreporter.write_line(line)
