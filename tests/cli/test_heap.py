"""`heap.settle()`: the start-up heap frozen out of the collector's passes, young passes rarer."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import gc, json
import hookyard.api.app  # a server's start-up heap
before = gc.get_freeze_count()
from hookyard.cli import heap
heap.settle()
print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))
"""


def test_settle_freezes_the_start_up_heap_in_a_fresh_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    before, after, threshold = json.loads(done.stdout)
    assert before == 0
    assert after > 10_000  # FastAPI, pydantic and SQLAlchemy alone are far more objects
    assert threshold[0] == 5000
