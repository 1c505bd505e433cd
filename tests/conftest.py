"""Shared test helpers: paths of the vendored data."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tier markers come from the folder: tests/integration/* are integration tests."""
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.timeout(20))


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
