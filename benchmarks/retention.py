"""Scenario "retention": continuous load with a retention of a few seconds.

`hookyard serve` delivers to the 8 receiver ports while events come in at `retention_rate`
deliveries a second for `retention_seconds`, once with its pruner on (every second, keeping
`retention_keep_seconds` of settled deliveries) and once with it off. The database's size is
taken at half time and at the end (SQLite: the file and its WAL; PostgreSQL:
`pg_database_size`): with pruning it should stay flat (within 20 % over the second half), and the
delivery rate with pruning should be within 10 % of the rate without.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from benchmarks import databases
from benchmarks.bench import HOSTS, Bench
from benchmarks.hookyard_side import Deployment, Publisher, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run, rate
from hookyard.store import Store

SECONDS_PER_DAY = 86_400.0


def pruning(keep_seconds: float) -> dict[str, str]:
    days = f"{keep_seconds / SECONDS_PER_DAY:.9f}"
    return {
        "HOOKYARD_RETENTION_DAYS": days,
        "HOOKYARD_RETENTION_FAILED_DAYS": days,
        "HOOKYARD_PRUNE_INTERVAL_SECONDS": "1",
    }


NO_PRUNING = {"HOOKYARD_PRUNE_INTERVAL_SECONDS": "0"}


async def _postgres_size(url: str) -> int:
    store = Store(url)
    try:
        async with store.db.read() as connection:
            found = await connection.execute(text("SELECT pg_database_size(current_database())"))
            return int(found.scalar_one())
    finally:
        await store.close()


def database_bytes(url: str) -> int:
    """The bytes the database takes on disk now."""
    if url.startswith("sqlite"):
        path = Path(str(make_url(url).database))
        files = (path, path.with_name(path.name + "-wal"))
        return sum(f.stat().st_size for f in files if f.exists())
    return asyncio.run(_postgres_size(url))


def _load(bench: Bench, publisher: Publisher, first: int, seconds: float) -> int:
    """One batch of `retention_rate / HOSTS` events a second for `seconds`, from event number
    `first`; the next event number."""
    per_second = max(1, int(bench.sizes.retention_rate / HOSTS))
    started = time.monotonic()
    seq = first
    for second in range(int(seconds)):
        asyncio.run(publisher.batches(range(seq, seq + per_second), per_second))
        seq += per_second
        pause = started + second + 1 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return seq


def retention(bench: Bench, dialect: str, prune: bool) -> Run:
    """Delivery rate and database size under continuous load, with or without pruning."""
    seconds = bench.sizes.retention_seconds
    extra = pruning(bench.sizes.retention_keep_seconds) if prune else NO_PRUNING
    place = bench.place(f"retention-{dialect}-{int(prune)}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place, extra=extra) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        publisher = Publisher(deployment)
        half = _load(bench, publisher, 0, seconds / 2)
        middle = database_bytes(url)
        events = _load(bench, publisher, half, seconds / 2)
        stats = deployment.wait_delivered(receiver, events * HOSTS, bench.sizes.timeout(events))
        end = database_bytes(url)
    contender = "hookyard, pruning" if prune else "hookyard, no pruning"
    run = Run("retention", contender, dialect, events * HOSTS, stats["healthy_distinct"], 0)
    run.duplicates = stats["duplicates"]
    first = min(publisher.published.values())
    run.figures["deliveries_per_s"] = rate(events * HOSTS, first, stats["last_new_at"])
    run.figures["drain_s"] = stats["last_new_at"] - max(publisher.published.values())
    run.figures["size_mid_mb"] = middle / 2**20
    run.figures["size_end_mb"] = end / 2**20
    run.figures["size_growth_pct"] = (end / middle - 1) * 100 if middle else 0.0
    return bench.report.add(run)
