"""How fast the console's pages answer with many deliveries in the store, and the query plans.

    python -m benchmarks.console_pages --dialect postgres|sqlite --deliveries 100000

Seeds a fresh database straight through the schema: a "big" integrator with most deliveries,
a "small" one with 1 % of them (interleaved in time, so its newest 50 sit among the big one's),
and an operator; 90 % succeeded, 5 % failed (one attempt each), 5 % pending. Then signs each in
through the real sign-in form and times each page in-process (httpx over ASGI, no network):
median and p95 of `--repeat` loads. On PostgreSQL it prints EXPLAIN ANALYZE of the delivery
stream's query for the small integrator, the case where a keyset scan could read the most rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

from benchmarks import databases
from hookyard import clock, ids, models, signing
from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.services import access
from hookyard.store import migrate, schema
from hookyard.store.history import Query, list_statement
from hookyard.store.queue import callback_host

BATCH = 5000


async def _tenant(wired: runtimes.Runtime, name: str, scopes: tuple[str, ...]) -> tuple[str, str]:
    company = await wired.credentials.create_company(name)
    await wired.credentials.create_business_unit(company.id, "BU1")
    issued = await wired.credentials.create_client(scopes=scopes, company_id=company.id)
    return issued.client.id, issued.secret


async def _records(wired: runtimes.Runtime, client_id: str, urls: int) -> list[tuple[str, str]]:
    client = await wired.credentials.client(client_id)
    assert client.company_id is not None
    now = clock.utcnow()
    rows = []
    for number in range(urls):
        url = f"https://{client_id[-6:]}-{number}.example/hook"
        record = models.Subscription(
            id=ids.guid(),
            product="setups",
            company_id=client.company_id,
            client_id=client_id,
            partition_value=None,
            filter_value=None,
            event_type="EmployeeCreated",
            callback_url=url,
            secret_key=signing.generate_secret(),
            status=models.SubscriptionStatus.ACTIVE,
            date_created=now,
            status_changed_at=now,
            stop_reason=None,
        )
        rows.append(record)
    await wired.store.subscriptions.save(rows, [], client_limit=10_000)
    return [(r.id, r.callback_url) for r in rows]


def _made_at(prefix: str, at: Any) -> str:
    """An id as one made at `at` would be (its time part, then random bits)."""
    return ids.floor(prefix, at)[:-16] + ids.ulid()[-16:]


def _state(number: int) -> str:
    if number % 20 == 0:
        return models.DeliveryState.FAILED.value
    if number % 20 == 1:
        return models.DeliveryState.PENDING.value
    return models.DeliveryState.SUCCEEDED.value


def _rows(
    number: int, record: tuple[str, str], company: str, at: Any
) -> tuple[dict[str, Any], ...]:
    event_id, delivery_id = _made_at(ids.EVENT, at), _made_at(ids.DELIVERY, at)
    state = _state(number)
    event = {
        "id": event_id,
        "product": "setups",
        "event_type": "EmployeeCreated",
        "company_id": company,
        "partition_value": "",
        "filter_value": "",
        "body": b"{}",
        "publisher_id": "bench",
        "idempotency_key": None,
        "created_at": at,
    }
    delivery = {
        "id": delivery_id,
        "event_id": event_id,
        "subscription_id": record[0],
        "host": callback_host(record[1]),
        "state": state,
        "attempts": 1 if state == "failed" else 0,
        "next_attempt_at": at,
        "locked_until": None,
        "created_at": at,
        "updated_at": at,
        "last_status": 500 if state == "failed" else None,
        "last_error": "answered HTTP 500" if state == "failed" else None,
    }
    attempt = {
        "id": ids.prefixed(ids.ATTEMPT),
        "delivery_id": delivery_id,
        "number": 1,
        "started_at": at,
        "duration_ms": 12.5,
        "outcome": "http_error",
        "status_code": 500,
        "error": "answered HTTP 500",
        "response_body": "down",
    }
    return event, delivery, attempt


async def _seed(
    wired: runtimes.Runtime, owners: dict[str, tuple[str, list[Any]]], count: int
) -> None:
    start = clock.utcnow() - timedelta(seconds=count)
    batch: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for number in range(count):
        company, records = owners["small" if number % 100 == 0 else "big"]
        event, delivery, attempt = _rows(
            number, records[number % len(records)], company, start + timedelta(seconds=number)
        )
        batch[0].append(event)
        batch[1].append(delivery)
        if delivery["state"] == "failed":
            batch[2].append(attempt)
        if len(batch[0]) >= BATCH or number == count - 1:
            async with wired.store.db.write() as connection:
                for table, values in zip(
                    (schema.events, schema.deliveries, schema.attempts), batch, strict=True
                ):
                    if values:
                        await connection.execute(insert(table), values)
            batch = ([], [], [])
    if wired.store.db.dialect == "postgresql":
        async with wired.store.db.write() as connection:
            await connection.execute(text("ANALYZE"))


async def _signed_in(app: Any, client_id: str, secret: str) -> httpx.AsyncClient:
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    form = await api.get("/console/login")
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = await api.post(
        "/console/login", data={"csrf": csrf, "client_id": client_id, "client_secret": secret}
    )
    assert answer.status_code == 303, answer.text
    return api


async def _time(api: httpx.AsyncClient, path: str, repeat: int) -> tuple[float, float, int]:
    took = []
    status = 0
    for _ in range(repeat):
        began = time.perf_counter()
        status = (await api.get(path)).status_code
        took.append((time.perf_counter() - began) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1 if len(took) > 1 else 0], status


async def _explain(wired: runtimes.Runtime, who: str, client_id: str) -> None:
    records = [r.id for r in await wired.store.subscriptions.of_client(client_id)]
    statement = list_statement(Query(client_id=client_id, limit=50), records)
    sql = str(
        statement.compile(
            dialect=wired.store.db.reader.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    async with wired.store.db.read() as connection:
        plan = (await connection.execute(text("EXPLAIN ANALYZE " + sql))).scalars().all()
    print(f"\nEXPLAIN ANALYZE, delivery stream of the {who}:")
    print("\n".join(plan))


async def run(url: str, data_dir: Path, count: int, repeat: int) -> None:
    settings = Settings(data_dir=data_dir, database_url=url)
    wired = runtimes.build(settings)
    try:
        admin = await _tenant(wired, "Operator", (access.OPERATOR,))
        big = await _tenant(wired, "Big Paving", ("dis:read",))
        small = await _tenant(wired, "Small Paving", ("dis:read",))
        new = await _tenant(wired, "New Paving", ("dis:read",))
        await _records(wired, new[0], 1)
        owners = {}
        for name, (client_id, _secret), urls in (("big", big, 8), ("small", small, 2)):
            client = await wired.credentials.client(client_id)
            owners[name] = (str(client.company_id), await _records(wired, client_id, urls))
        began = time.perf_counter()
        await _seed(wired, owners, count)
        print(f"seeded {count:,} deliveries in {time.perf_counter() - began:.1f} s")
        app = wired.app()
        clients = {
            name: await _signed_in(app, *pair)
            for name, pair in (("operator", admin), ("big", big), ("small", small), ("new", new))
        }
        some = await wired.store.history.list(Query(client_id=small[0], limit=60))
        pages = [
            ("small", "/console/deliveries"),
            ("small", f"/console/deliveries?before={some[-1].delivery.id}"),
            ("small", "/console/deliveries?state=failed"),
            ("small", f"/console/deliveries/{some[0].delivery.id}"),
            ("new", "/console/deliveries"),
            ("big", "/console/deliveries"),
            ("big", "/console/deliveries?state=failed&event_type=EmployeeCreated"),
            ("big", "/console/deliveries?since=2020-01-01T00:00&until=2020-01-02T00:00"),
            ("big", f"/console/deliveries?since={clock.isoformat(some[-1].delivery.created_at)}"),
            ("big", "/console/subscriptions"),
            ("operator", "/console/deliveries"),
            ("operator", "/console/queue"),
            ("operator", "/console/tenants"),
        ]
        print(f"\n{'who':<9} {'page':<70} {'median ms':>9} {'p95 ms':>7}")
        for who, path in pages:
            median, p95, status = await _time(clients[who], path, repeat)
            assert status == 200, (who, path, status)
            print(f"{who:<9} {path[:70]:<70} {median:>9.1f} {p95:>7.1f}")
        if wired.store.db.dialect == "postgresql":
            await _explain(wired, "small integrator", small[0])
            await _explain(wired, "integrator with no deliveries", new[0])
        for api in clients.values():
            await api.aclose()
    finally:
        await wired.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="postgres")
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as scratch,
        databases.fresh(args.dialect, Path(scratch)) as url,
    ):
        migrate.upgrade_sync(url)
        asyncio.run(run(url, Path(scratch) / "data", args.deliveries, args.repeat))
    databases.finish_drops()


if __name__ == "__main__":
    main()
