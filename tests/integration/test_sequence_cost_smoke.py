"""`benchmarks.sequence_cost --smoke` runs both switches and prints the ratio (no timing is
asserted: speed is measured by running the benchmark, see docs/catch-up.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sequence_cost_benchmark_measures_both_ways() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sequence_cost", "--smoke", "--dialect", "sqlite"],
        cwd=ROOT, capture_output=True, text=True, timeout=110, check=True,
    )  # fmt: skip
    assert re.search(r"round 1 numbering off: [\d,]+ events/s", done.stdout), done.stdout
    assert re.search(r"round 1 numbering on : [\d,]+ events/s", done.stdout), done.stdout
    assert re.search(r"sqlite: median .* with: [\d.]+%", done.stdout), done.stdout
    assert "load average" in done.stdout
