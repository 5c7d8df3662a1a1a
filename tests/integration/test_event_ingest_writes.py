"""How an ingest reaches the database, on both databases: what the queue backend stores (SQLite
in its writer thread on a plain `sqlite3` connection, PostgreSQL on asyncpg) reads back exactly
through SQLAlchemy, publishes interleave with the store's other writes, and a failed ingest
leaves nothing behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hookyard import ids, models
from hookyard.store import Store, schema
from hookyard.store.queue import NewEvent, callback_host
from tests.support import tenancy

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
URL = "https://callback.example:8443/hook"
BODY = b'{"x":"\xc3\xa9"}\x00\xff'
NOW = datetime(2026, 11, 29, 7, 48, 1, 123456, tzinfo=UTC)


def _event(company_id: str, key: str | None = None) -> NewEvent:
    return NewEvent("precon", "ProjectCreated", company_id, BU, "", BODY, "pub", key)


async def test_what_an_ingest_stores_reads_back_exactly(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    record = await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    (ingested,) = await store.queue.ingest([_event(tenant.company_id, "k")], NOW)
    event = await store.events.get(ingested.event_id)
    assert (event.body, event.created_at, event.idempotency_key) == (BODY, NOW, "k")
    assert (event.partition_value, event.filter_value) == (BU, None)
    table = schema.deliveries
    async with store.db.read() as connection:
        (row,) = (await connection.execute(select(table))).mappings().all()
    assert row["event_id"] == ingested.event_id
    assert row["subscription_id"] == record
    assert row["host"] == callback_host(URL) == "callback.example:8443"
    assert (row["state"], row["attempts"]) == (models.DeliveryState.PENDING.value, 0)
    assert row["next_attempt_at"] == row["created_at"] == row["updated_at"] == NOW
    assert (row["locked_until"], row["last_status"], row["last_error"]) == (None, None, None)


async def test_publishes_interleave_with_other_writes(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    companies = [models.Company(ids.guid(), f"Co {i}", NOW) for i in range(30)]
    await asyncio.gather(
        *(store.queue.ingest([_event(tenant.company_id)], NOW) for _ in range(30)),
        *(store.tenants.add_company(company) for company in companies),
    )
    async with store.db.read() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (schema.events, schema.deliveries, schema.companies)
        ]
    assert counts == [30, 30, 31]


async def test_a_failed_ingest_stores_nothing_and_the_next_one_succeeds(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    # A body of None on purpose: the NOT NULL column fails the ingest at its second row.
    broken = NewEvent("precon", "ProjectCreated", tenant.company_id, BU, "", None, "pub")  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"(?i)null"):
        await store.queue.ingest([_event(tenant.company_id), broken], NOW)
    (ingested,) = await store.queue.ingest([_event(tenant.company_id)], NOW)
    assert ingested.deliveries == 1
    async with store.db.read() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (schema.events, schema.deliveries)
        ]
    assert counts == [1, 1]
