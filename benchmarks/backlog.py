"""Scenario "backlog": a dead host's backlog must not slow the healthy hosts, nor make claims dear.

Eight healthy hosts and one blackholed host (accepts, never answers) each have a subscription
record. `rows` pending deliveries for the blackholed host are inserted straight into the database
(copies of one real delivery, made server-side), then `backlog_deliveries` are published to the
healthy hosts as in the throughput scenario. The same run with no backlog rows is the baseline:
the healthy hosts' rate with the backlog should be at least 0.67 of it, and the CPU per delivery
of `hookyard serve` plus its PostgreSQL backends (where the claims run) should not grow.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from benchmarks import databases, procs
from benchmarks.bench import HOSTS, Bench
from benchmarks.hookyard_side import Deployment, Publisher, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run, rate
from hookyard.store import Store

CHUNK = 100_000
COPY = """
WITH RECURSIVE n(i) AS (
    SELECT CAST(:first AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < CAST(:last AS INTEGER)
)
INSERT INTO deliveries (id, event_id, subscription_id, host, state, attempts, next_attempt_at,
    locked_until, created_at, updated_at, last_status, last_error)
SELECT 'dlv_backlog_' || CAST(n.i AS TEXT), t.event_id, t.subscription_id, t.host, 'pending', 0,
    t.next_attempt_at, NULL, t.created_at, t.updated_at, NULL, NULL
FROM n, deliveries AS t WHERE t.id = :template
"""
TEMPLATE = """
SELECT d.id FROM deliveries AS d JOIN subscriptions AS s ON s.id = d.subscription_id
WHERE s.callback_url LIKE :url LIMIT 1
"""
BACKENDS = """
SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


async def _fill(url: str, blackhole_url: str, rows: int) -> list[int]:
    """`rows` pending copies of the blackholed host's one delivery; the PostgreSQL backend pids
    of the deployment's database (empty on SQLite)."""
    store = Store(url)
    try:
        async with store.db.read() as connection:
            found = await connection.execute(text(TEMPLATE), {"url": f"{blackhole_url}%"})
            template = found.scalar_one()
        for first in range(1, rows + 1, CHUNK):
            last = min(rows, first + CHUNK - 1)
            async with store.db.write() as connection:
                values = {"first": first, "last": last, "template": template}
                await connection.execute(text(COPY), values)
        if store.db.is_sqlite:
            return []
        async with store.db.read() as connection:
            return [pid for (pid,) in (await connection.execute(text(BACKENDS))).all()]
    finally:
        await store.close()


def backlog(bench: Bench, dialect: str, rows: int) -> Run:
    """The healthy hosts' rate and CPU per delivery beside a blackholed host with `rows`
    pending deliveries (0: the baseline)."""
    count = bench.sizes.backlog_deliveries
    place = bench.place(f"backlog-{dialect}-{rows}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS, blackhole=1) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        dead = receiver.blackhole_urls()[0]
        provision(deployment, [*receiver.urls(), dead], HOSTS + 1)
        publisher = Publisher(deployment)
        asyncio.run(publisher.batches(range(1), 1))
        deployment.wait_delivered(receiver, HOSTS, 60)
        filled = time.monotonic()
        backends = asyncio.run(_fill(url, dead, rows))
        fill_s = time.monotonic() - filled
        meter = procs.CpuMeter([*deployment.worker_pids, *backends]).start()
        events = count // HOSTS
        publisher = Publisher(deployment)
        asyncio.run(publisher.batches(range(1, events + 1), bench.sizes.batch_events))
        stats = deployment.wait_delivered(
            receiver, (events + 1) * HOSTS, bench.sizes.timeout(count)
        )
        cpu_s = meter.stop()
    expected = events * HOSTS
    received = stats["healthy_distinct"] - HOSTS
    contender = f"hookyard, {rows:,} dead rows"
    run = Run("backlog", contender, dialect, expected, received, stats["duplicates"])
    run.figures["deliveries_per_s"] = rate(
        expected, min(publisher.published.values()), stats["last_new_at"]
    )
    run.figures["cpu_ms_per_delivery"] = cpu_s * 1000.0 / max(received, 1)
    run.figures["fill_s"] = fill_s
    return bench.report.add(run)
