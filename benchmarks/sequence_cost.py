"""What per-(client, url) sequence numbers cost ingest: events/s with numbering on and off.

    python -m benchmarks.sequence_cost --dialect sqlite|postgres [--events 4000] [--rounds 3]
    python -m benchmarks.sequence_cost --smoke        # tiny, both switches once (for the test)

Publishes through the real `EventService` on a fresh database: `--tenants` companies, each with
one client and `--urls` callback urls (one delivery per url per event); `--concurrency`
publishers, publisher i for tenant i (mod tenants), each with one publish in flight (single
events, as the API takes them, or `--batch` per publish). With `--tenants 1` every publisher
shares the same urls: the worst case, where publishes to one url wait for each other's commit.
Rounds alternate numbering off and on (A/B/A/B...) on the same database, so drift of a shared
machine hits both; prints each round, the medians and the ratio, and the load average before
and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from benchmarks import databases
from hookyard import catalog, clock, ids, models, signing
from hookyard.services.events import EventService
from hookyard.store import Store, migrate, schema


async def _tenants(store: Store, tenants: int, urls: int) -> list[tuple[str, str]]:
    """`tenants` companies, each with one client and `urls` callback urls of its own; their
    (company, business unit)."""
    now = clock.utcnow()
    places, rows = [], []
    for number in range(tenants):
        company = models.Company(ids.guid(), f"Bench {number}", now)
        await store.tenants.add_company(company)
        client = models.Client(
            ids.prefixed(ids.CLIENT), f"c{number}", company.id, None, ("precon:read",),
            ("*",), "x", now, None,
        )  # fmt: skip
        await store.tenants.add_client(client)
        unit = ids.guid()
        # Publishing checks that the business unit exists in the company.
        await store.tenants.add_business_unit(
            models.BusinessUnit(unit, company.id, "BENCH", "Bench", ids.guid(), now)
        )
        rows += [_record(company.id, client.id, unit, n, now) for n in range(urls)]
        places.append((company.id, unit))
    async with store.db.write() as connection:
        await connection.execute(insert(schema.subscriptions), rows)
    return places


def _record(company: str, client: str, unit: str, n: int, now: object) -> dict[str, object]:
    return {
        "id": ids.guid(), "product": "precon", "company_id": company, "client_id": client,
        "partition_value": unit, "filter_value": "", "event_type": "ProjectCreated",
        "callback_url": f"http://127.0.0.1:{9000 + n}/hook",
        "secret_key": signing.generate_secret(), "status": "Active",
        "date_created": now, "status_changed_at": now,
    }  # fmt: skip


async def _round(
    service: EventService, places: list[tuple[str, str]], args: argparse.Namespace, tag: str
) -> float:
    """Publish `args.events` events, publisher i for tenant i (mod tenants); events/s."""
    events: int = args.events
    queue = list(range(events))

    def event(place: tuple[str, str], number: int) -> dict[str, str]:
        return {
            "eventType": "ProjectCreated", "companyId": place[0],
            "businessUnitId": place[1], "projectId": f"{tag}-{number}",
        }  # fmt: skip

    async def publisher(place: tuple[str, str]) -> None:
        while queue:
            chunk = [queue.pop() for _ in range(min(args.batch, len(queue)))]
            if args.batch == 1:
                await service.publish("precon", event(place, chunk[0]), publisher_id="bench")
            else:
                batch = [event(place, n) for n in chunk]
                await service.publish_many("precon", batch, publisher_id="bench")

    started = time.perf_counter()
    await asyncio.gather(*(publisher(places[i % len(places)]) for i in range(args.concurrency)))
    return events / (time.perf_counter() - started)


async def _measure(url: str, args: argparse.Namespace) -> dict[bool, list[float]]:
    await migrate.upgrade(url)
    store = Store(url)
    try:
        places = await _tenants(store, args.tenants, args.urls)
        service = EventService(store, catalog.load(), public_base_url="http://127.0.0.1")
        await _round(service, places, argparse.Namespace(**{**vars(args), "events": 50}), "warm")
        rates: dict[bool, list[float]] = {False: [], True: []}
        for number in range(args.rounds):
            for numbered in (False, True):
                store.queue.numbered = numbered
                rate = await _round(service, places, args, f"{number}-{numbered}")
                rates[numbered].append(rate)
                switch = "on " if numbered else "off"
                print(f"  round {number + 1} numbering {switch}: {rate:,.0f} events/s")
        return rates
    finally:
        await store.close()


def _report(dialect: str, rates: dict[bool, list[float]], load: tuple[float, ...]) -> float:
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    ratio = on / off
    print(
        f"{dialect}: median {off:,.0f} events/s without numbering, {on:,.0f} with:"
        f" {ratio:.1%} ({(ratio - 1):+.1%}); load average {load[0]:.2f} before,"
        f" {os.getloadavg()[0]:.2f} after"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--urls", type=int, default=4, help="callback urls per tenant")
    parser.add_argument(
        "--tenants", type=int, default=8, help="1: every publisher shares the same urls"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny run: 40 events, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.rounds = 40, 1
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hookyard-seq-") as scratch:
        with databases.fresh(args.dialect, Path(scratch)) as url:
            rates = asyncio.run(_measure(url, args))
        databases.finish_drops()
    _report(args.dialect, rates, load)


if __name__ == "__main__":
    main()
