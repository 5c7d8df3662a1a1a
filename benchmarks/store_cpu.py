"""CPU of the delivery store per delivery: claim and finish, in-process, no HTTP.

    python -m benchmarks.store_cpu --dialect sqlite|postgres --deliveries 20000

Queues deliveries through the real `EventService` (as `benchmarks.engine_quick` does), then
claims them 100 at a time and records each batch as succeeded, until none is left. Prints the
process CPU per delivery (the SQLite hot-path thread included), split into claim and finish, and
the wall time per delivery (on PostgreSQL the server's share shows only there).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import uvloop

from benchmarks import databases, engine_quick
from hookyard import clock, models
from hookyard.store import Store
from hookyard.store.queue import ClaimRequest, Finished

HOSTS = [f"http://127.0.0.1:{9000 + i}/hook" for i in range(8)]


async def _drain(url: str, batch: int) -> tuple[int, float, float, float, float]:
    store = Store(url)
    try:
        claim = finish = 0.0
        count = 0
        started, began = time.process_time(), time.perf_counter()
        while True:
            before = time.process_time()
            jobs = await store.queue.claim(ClaimRequest(batch, 60))
            claim += time.process_time() - before
            if not jobs:
                break
            now = clock.utcnow()
            tries = [
                Finished(
                    j.id,
                    j.subscription_id,
                    j.attempt,
                    now,
                    1.0,
                    models.Outcome.SUCCESS,
                    200,
                    None,
                    "ok",
                    j.lease,
                )
                for j in jobs
            ]
            before = time.process_time()
            await store.queue.finish(tries, now=clock.utcnow())
            finish += time.process_time() - before
            count += len(jobs)
        cpu, wall = time.process_time() - started, time.perf_counter() - began
        return count, cpu, claim, finish, wall
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookyard-store-") as scratch:
        with databases.fresh(args.dialect, Path(scratch)) as url:
            asyncio.run(engine_quick.prepare(url, HOSTS, args.deliveries))
            count, cpu, claim, finish, wall = uvloop.run(_drain(url, args.batch))
        databases.finish_drops()
    per = 1e6 / count
    print(
        f"{args.dialect}: {count} claimed and finished; CPU per delivery {cpu * per:.1f} us"
        f" (claim {claim * per:.1f}, finish {finish * per:.1f}); wall {wall * per:.1f} us"
    )


if __name__ == "__main__":
    main()
