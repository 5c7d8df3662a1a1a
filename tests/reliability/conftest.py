"""The reliability suite's table: every scenario's report, printed at the end of the run."""

from __future__ import annotations

import pytest

from tests.reliability import harness


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.REPORTS:
        return
    terminalreporter.section("reliability")
    terminalreporter.write_line(harness.HEADER)
    for report in harness.REPORTS:
        terminalreporter.write_line(report.row())
        for note in report.notes:
            terminalreporter.write_line(f"  {report.scenario} ({report.database}): {note}")
