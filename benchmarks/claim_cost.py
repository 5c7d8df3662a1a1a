"""Claim cost beside a dead host's backlog: does a claim for healthy hosts read the backlog?

    python -m benchmarks.claim_cost --dialect postgres --backlog 200000 --deliveries 8000

Queues `--deliveries` for 8 healthy hosts through the real `EventService`, then inserts
`--backlog` pending deliveries of one more host ("dead", due an hour earlier than the rest, so
that a claim ordered by due time meets them first) straight into the table. It then claims the
healthy deliveries 100 at a time with the dead host full (as a worker that holds its limit of
them asks) and records each batch as succeeded, until none is left. Prints the claim's CPU and
wall time per delivery; run it with `--backlog 0` for the figure without the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text

from benchmarks import databases, engine_quick
from hookyard import clock, models
from hookyard.store import Store

HOSTS = [f"http://127.0.0.1:{9000 + i}/hook" for i in range(8)]
DEAD = "dead.test:80"


async def _backlog(url: str, count: int) -> None:
    store = Store(url)
    try:
        async with store.db.write() as connection:
            row = (
                await connection.execute(text("SELECT event_id, subscription_id FROM deliveries"))
            ).first()
            assert row is not None
            event_id, subscription_id = row
            due = clock.utcnow() - timedelta(hours=1)
            for start in range(0, count, 10_000):
                rows = [
                    {
                        "id": f"dlv_dead_{i:09d}",
                        "event_id": event_id,
                        "subscription_id": subscription_id,
                        "host": DEAD,
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": due,
                        "created_at": due,
                        "updated_at": due,
                    }
                    for i in range(start, min(start + 10_000, count))
                ]
                await connection.execute(_insert(), rows)
    finally:
        await store.close()


def _insert() -> Any:
    from sqlalchemy import insert

    from hookyard.store import schema

    return insert(schema.deliveries)


async def _claim(store: Store, batch: int) -> list[Any]:
    if hasattr(store, "queue"):
        from hookyard.store.queue import ClaimRequest

        request = ClaimRequest(batch, 60, in_hand={DEAD: 10**9})
        return await store.queue.claim(request)
    # The store of commits before `store.queue` (the benchmark compares them): gone today.
    return await store.deliveries.claim(  # type: ignore[attr-defined,no-any-return]
        batch, now=clock.utcnow(), lease_seconds=60, exclude_hosts=[DEAD]
    )


async def _finish(store: Store, jobs: list[Any]) -> None:
    now = clock.utcnow()
    if hasattr(store, "queue"):
        from hookyard.store.queue import Finished

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
        await store.queue.finish(tries, now=now)
        return
    # The store of commits before `store.queue`, as in `_claim`: gone today.
    from hookyard.store.deliveries import Finished as OldFinished  # type: ignore[import-not-found]

    old = [
        OldFinished(
            j.id, j.subscription_id, j.attempt, now, 1.0, models.Outcome.SUCCESS, 200, None, "ok"
        )
        for j in jobs
    ]
    await store.deliveries.finish(old, now=now)  # type: ignore[attr-defined]


async def _drain(url: str, batch: int) -> tuple[int, float, float]:
    store = Store(url)
    try:
        cpu = wall = 0.0
        count = 0
        while True:
            before, began = time.process_time(), time.perf_counter()
            jobs = await _claim(store, batch)
            cpu += time.process_time() - before
            wall += time.perf_counter() - began
            if not jobs:
                return count, cpu, wall
            await _finish(store, jobs)
            count += len(jobs)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--deliveries", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookyard-claim-") as scratch:
        with databases.fresh(args.dialect, Path(scratch)) as url:
            asyncio.run(engine_quick.prepare(url, HOSTS, args.deliveries))
            if args.backlog:
                asyncio.run(_backlog(url, args.backlog))
            count, cpu, wall = uvloop.run(_drain(url, args.batch))
        databases.finish_drops()
    per = 1e6 / max(count, 1)
    print(
        f"{args.dialect}: backlog {args.backlog:,}; {count} healthy deliveries claimed;"
        f" claim CPU {cpu * per:.1f} us, claim wall {wall * per:.1f} us per delivery"
    )


if __name__ == "__main__":
    main()
