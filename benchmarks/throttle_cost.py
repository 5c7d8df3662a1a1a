"""What the token endpoint's shared failure throttle costs per request, in-process, no HTTP.

    python -m benchmarks.throttle_cost --dialect sqlite|postgres --requests 2000

Every token request pays one `check` (one indexed read of two keys); a failed one also pays one
`failed` (two upserts in their transactions). Prints the median and p99 wall time of each
against a fresh database (the argon2 verification every request also pays, about 10-50 ms, is
not included), and the rows left.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import uvloop
from sqlalchemy import func, select

from benchmarks import databases
from hookyard.services.throttle import FailureThrottle, Limit
from hookyard.store import Store, migrate, schema


def _quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"


async def _measure(url: str, requests: int) -> tuple[list[float], list[float], int]:
    store = Store(url)
    throttle = FailureThrottle(
        store.auth_failures, per_client=Limit(10, 300.0), per_address=Limit(30, 300.0)
    )
    checks: list[float] = []
    failures: list[float] = []
    try:
        for n in range(requests):
            client_id, address = f"hyc_{n % 200}", f"10.0.{n % 7}.{n % 250}"
            started = time.perf_counter()
            await throttle.check(client_id, address)
            checks.append(time.perf_counter() - started)
            started = time.perf_counter()
            await throttle.failed(client_id, address)
            failures.append(time.perf_counter() - started)
        async with store.db.read() as connection:
            rows = (
                await connection.execute(select(func.count()).select_from(schema.token_failures))
            ).scalar_one()
        return checks, failures, int(rows)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookyard-throttle-") as scratch:
        with databases.fresh(args.dialect, Path(scratch)) as url:
            migrate.upgrade_sync(url)
            checks, failures, rows = uvloop.run(_measure(url, args.requests))
        databases.finish_drops()
    print(
        f"{args.dialect}: {args.requests} requests; check {_quantiles(checks)}; "
        f"failed {_quantiles(failures)}; {rows} rows"
    )


if __name__ == "__main__":
    main()
