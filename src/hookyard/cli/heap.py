"""The garbage collector, set for a long-running server process.

A delivery allocates thousands of short-lived objects (aiohttp requests, responses, futures), so
the cyclic collector runs constantly, and every full pass walks every object loaded at start
(FastAPI, pydantic, SQLAlchemy: most of the heap). `settle()`, called once the process is set
up, moves what exists into the permanent generation (`gc.freeze`), where passes skip it, and
collects the young generation less often. Measured with `benchmarks.engine_quick` on SQLite: about
10-20 % more deliveries per second (two A/B rounds, see docs/performance.md).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5000


def settle() -> None:
    """Freeze the start-up heap and collect the young generation every 5,000 allocations."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
