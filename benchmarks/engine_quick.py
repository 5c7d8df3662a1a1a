"""Quick delivery-engine throughput: queued deliveries drained by `hookyard worker` processes.

    python -m benchmarks.engine_quick --dialect sqlite --deliveries 20000
    python -m benchmarks.engine_quick --dialect postgres --deliveries 20000 --workers 2

Events are published in-process through the real `EventService` (1000 per batch, timed as
"ingest"), then `hookyard worker` drains them into the benchmark receiver (a separate process,
answers 200 at once, N ports = N callback hosts). The rate is distinct deliveries received per
second between the first and the last receipt; "recorded" is until every delivery is `succeeded`
in the database; "per CPU-second" divides by the worker processes' CPU time (start-up included),
which stays meaningful on a machine shared with other work. The full suite (`make bench`) belongs
to benchmarks/bench.py; this is the engine's own quick check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, insert, select

from benchmarks import databases
from benchmarks.receiver import ReceiverProcess
from hookyard import catalog, clock, ids, models, signing
from hookyard.services.events import EventService
from hookyard.store import Store, migrate, schema

HOOKYARD = str(Path(sys.executable).with_name("hookyard"))
BATCH = 1000


async def prepare(url: str, hooks: list[str], deliveries: int) -> float:
    await migrate.upgrade(url)
    store = Store(url)
    try:
        now = clock.utcnow()
        company = models.Company(ids.guid(), "Bench", now)
        await store.tenants.add_company(company)
        client = models.Client(
            ids.prefixed(ids.CLIENT),
            "bench",
            company.id,
            None,
            ("precon:read",),
            ("*",),
            "x",
            now,
            None,
        )
        await store.tenants.add_client(client)
        unit = ids.guid()
        # Publishing checks that the business unit exists in the company.
        await store.tenants.add_business_unit(
            models.BusinessUnit(unit, company.id, "BENCH", "Bench", ids.guid(), now)
        )
        rows = [
            {
                "id": ids.guid(),
                "product": "precon",
                "company_id": company.id,
                "client_id": client.id,
                "partition_value": unit,
                "filter_value": "",
                "event_type": "ProjectCreated",
                "callback_url": hook,
                "secret_key": signing.generate_secret(),
                "status": "Active",
                "date_created": now,
                "status_changed_at": now,
            }
            for hook in hooks
        ]
        async with store.db.write() as connection:
            await connection.execute(insert(schema.subscriptions), rows)
        service = EventService(store, catalog.load(), public_base_url="http://127.0.0.1")
        events = deliveries // len(hooks)
        started = time.perf_counter()
        for start in range(0, events, BATCH):
            batch = [
                {
                    "eventType": "ProjectCreated",
                    "companyId": company.id,
                    "businessUnitId": unit,
                    "projectId": str(i),
                }
                for i in range(start, min(start + BATCH, events))
            ]
            await service.publish_many("precon", batch, publisher_id="bench")
        return time.perf_counter() - started
    finally:
        await store.close()


async def _succeeded(url: str) -> int:
    store = Store(url)
    try:
        async with store.db.read() as connection:
            statement = (
                select(func.count())
                .select_from(schema.deliveries)
                .where(schema.deliveries.c.state == "succeeded")
            )
            return int((await connection.execute(statement)).scalar_one())
    finally:
        await store.close()


def run(args: argparse.Namespace, scratch: Path) -> None:
    receiver = ReceiverProcess(healthy=args.hosts)
    try:
        with databases.fresh(args.dialect, scratch) as url:
            total = (args.deliveries // args.hosts) * args.hosts
            ingest = asyncio.run(prepare(url, receiver.urls(), total))
            env = {
                **os.environ,
                "HOOKYARD_DATABASE_URL": url,
                "HOOKYARD_DATA_DIR": str(scratch),
                "HOOKYARD_ALLOW_PRIVATE_CALLBACKS": "true",
                "HOOKYARD_PER_HOST_CONCURRENCY": str(args.per_host),
                "HOOKYARD_GLOBAL_CONCURRENCY": str(args.global_concurrency),
                "HOOKYARD_CLAIM_BATCH": str(args.claim_batch),
            }
            workers = [
                subprocess.Popen(
                    [HOOKYARD, "worker"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(scratch / f"worker{i}.log").open("wb"),
                )
                for i in range(args.workers)
            ]
            try:
                stats = receiver.wait_distinct(total, timeout=args.timeout)
                deadline = time.monotonic() + args.timeout
                while asyncio.run(_succeeded(url)) < total and time.monotonic() < deadline:
                    time.sleep(0.05)
                recorded_at = time.time()
                receipts = receiver.first_receipts(scratch)
                cpu = sum(_cpu_seconds(worker.pid) for worker in workers)
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(timeout=30)
            times = sorted(at for at, _tag, _port in receipts.values())
            _report(args, total, ingest, stats, times, recorded_at)
            print(f"  worker CPU {cpu:.1f} s = {total / cpu:8.0f} deliveries per CPU-second")
    finally:
        receiver.process.terminate()
        receiver.process.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _report(
    args: argparse.Namespace,
    total: int,
    ingest: float,
    stats: dict[str, Any],
    times: list[float],
    recorded_at: float,
) -> None:
    span = times[-1] - times[0]
    print(
        f"{args.dialect}: {total} deliveries to {args.hosts} hosts, {args.workers} worker(s),"
        f" per-host {args.per_host}, global {args.global_concurrency}, claim {args.claim_batch}"
    )
    print(f"  ingest   {total / ingest:8.0f} deliveries/s ({ingest:.2f} s)")
    duplicates = stats.get("duplicates", 0)
    print(f"  received {stats['healthy_distinct']} distinct, {duplicates} duplicates")
    rate = len(times) / span
    print(f"  delivery {rate:8.0f} deliveries/s (first to last receipt, {span:.2f} s)")
    recorded = total / (recorded_at - times[0])
    print(f"  recorded {recorded:8.0f} deliveries/s (first receipt to all succeeded)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-host", type=int, default=64)
    parser.add_argument("--global-concurrency", type=int, default=256)
    parser.add_argument("--claim-batch", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookyard-engine-") as scratch:
        run(args, Path(scratch))


if __name__ == "__main__":
    main()
