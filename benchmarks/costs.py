"""Scenario "costs": what one publish and one delivery cost, the figures the capacity model in
docs/scaling.md is built on, and a check of the model against a bigger deployment.

On PostgreSQL, with the API (`hookyard api`, `--processes N`) and the workers (`hookyard worker`)
in processes of their own, 8 healthy receiver ports with one record each (so a publish makes 8
deliveries), single-event publishes at a steady rate. After a warm-up second, from the start to
the end of the measured publishes and their deliveries:

- CPU (user + system) of the API processes per publish, of the workers per delivery, and of the
  database's backends (`pg_stat_activity` of this database) per delivery;
- WAL bytes per delivery (`pg_current_wal_lsn`: the whole server's, so run it on a quiet one);
- bytes of table and index per event, per delivery and per attempt (`pg_total_relation_size`).

`costs` runs a small deployment (1 API process, 1 worker) to measure the costs, then `check`
runs a bigger one (2 API processes, 2 workers, twice the rate) and compares the CPU the model
predicts from the small run's costs with what the bigger one spent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import psutil
from sqlalchemy import text

from benchmarks import databases, procs
from benchmarks.bench import HOSTS, Bench
from benchmarks.hookyard_side import Deployment, Publisher, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run
from hookyard.store import Store

TABLES = ("events", "deliveries", "attempts")
BACKENDS = """
SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@dataclass
class Snapshot:
    wal: int
    sizes: dict[str, int]
    rows: dict[str, int]


async def _snapshot(url: str) -> tuple[Snapshot, list[int]]:
    store = Store(url)
    try:
        async with store.db.read() as connection:
            wal = await connection.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
            sizes, rows = {}, {}
            for table in TABLES:
                sizes[table] = await connection.scalar(
                    text(f"SELECT pg_total_relation_size('{table}')")
                )
                rows[table] = await connection.scalar(
                    text(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant)
                )
            backends = [pid for (pid,) in (await connection.execute(text(BACKENDS))).all()]
    finally:
        await store.close()
    return Snapshot(int(wal), sizes, rows), backends


def _family(pid: int) -> list[int]:
    """`pid` and its children (an API process started with `--processes N` forks them)."""
    try:
        process = psutil.Process(pid)
        return [pid, *(child.pid for child in process.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def measure(bench: Bench, api_processes: int, workers: int, rate: float) -> Run:
    """One deployment's costs at `rate` single publishes a second (see the module docstring)."""
    seconds = bench.sizes.costs_seconds
    count = int(rate * seconds)
    warm = max(1, int(rate))
    place = bench.place(f"costs-{api_processes}x{workers}")
    arguments = ["--processes", str(api_processes)] if api_processes > 1 else []
    with (
        databases.fresh("postgres", place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place, command="api", arguments=arguments) as deployment,
    ):
        for _ in range(workers):
            deployment.add_worker()
        provision(deployment, receiver.urls(), HOSTS)
        assert deployment.api is not None
        asyncio.run(Publisher(deployment).steady(warm, rate))
        deployment.wait_delivered(receiver, warm * HOSTS, bench.sizes.timeout(warm * HOSTS))
        before, backends = asyncio.run(_snapshot(url))
        api = procs.CpuMeter(_family(deployment.api.pid)).start()
        worker = procs.CpuMeter([w.pid for w in deployment.workers]).start()
        database = procs.CpuMeter(backends).start()
        asyncio.run(Publisher(deployment).steady(count, rate, first=warm))
        stats = deployment.wait_delivered(
            receiver, (warm + count) * HOSTS, bench.sizes.timeout(count * HOSTS)
        )
        api_s, worker_s, database_s = api.stop(), worker.stop(), database.stop()
        after, _ = asyncio.run(_snapshot(url))
    deliveries = count * HOSTS
    contender = f"{api_processes} API process(es), {workers} worker(s), {rate:,.0f}/s"
    run = Run(
        "costs",
        contender,
        "postgres",
        deliveries,
        stats["healthy_distinct"] - warm * HOSTS,
        stats["duplicates"],
    )
    grown = {table: after.sizes[table] - before.sizes[table] for table in TABLES}
    added = {table: after.rows[table] - before.rows[table] for table in TABLES}
    run.figures.update(
        {
            "api_cpu_ms_per_publish": api_s * 1000.0 / count,
            "worker_cpu_ms_per_delivery": worker_s * 1000.0 / deliveries,
            "postgres_cpu_ms_per_delivery": database_s * 1000.0 / deliveries,
            "wal_bytes_per_delivery": (after.wal - before.wal) / deliveries,
            "bytes_per_event": grown["events"] / max(added["events"], 1),
            "bytes_per_delivery": grown["deliveries"] / max(added["deliveries"], 1),
            "bytes_per_attempt": grown["attempts"] / max(added["attempts"], 1),
            "attempts_per_delivery": added["attempts"] / max(added["deliveries"], 1),
            "api_cpu_s": api_s,
            "worker_cpu_s": worker_s,
            "postgres_cpu_s": database_s,
        }
    )
    return bench.report.add(run)
