"""benchmarks.console_pages at a tiny size: it seeds, signs in and loads every page (200 OK).

No timing is asserted; the figures come from the full run (docs/performance.md#console)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from benchmarks.procs import ROOT

pytestmark = pytest.mark.slow


def test_the_console_benchmark_runs_at_a_tiny_size() -> None:
    command = [sys.executable, "-m", "benchmarks.console_pages", "--dialect", "sqlite"]
    done = subprocess.run(
        [*command, "--deliveries", "300", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "seeded 300 deliveries" in done.stdout
    assert "/console/queue" in done.stdout
