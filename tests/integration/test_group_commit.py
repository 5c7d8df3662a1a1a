"""Group commit on both databases: ingests that arrive while the queue's ingests are in flight
share the next transaction, each caller gets its own results once that transaction committed,
numbering stays gap-free in arrival order, and a caller whose events the database refuses fails
alone. The queue's writes are held up deterministically (a write transaction that updates the
url's sequence counter: SQLite's write lock, PostgreSQL's row lock) until every ingest waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from hookyard.store import Store, schema
from hookyard.store.queue import Ingested, NewEvent
from hookyard.store.queue.group import GroupCommit
from tests.support import tenancy

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
URL = "https://callback.example/hook"
NOW = datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC)
CALLERS = 12


def _event(company_id: str, n: int, body: bytes | None = b"{}") -> NewEvent:
    return NewEvent("precon", "ProjectCreated", company_id, BU, "", body, f"pub-{n}")  # type: ignore[arg-type]


def _grouped(store: Store) -> GroupCommit:
    grouped = getattr(store.queue, "grouped", None)
    assert isinstance(grouped, GroupCommit)
    return grouped


async def _until(condition: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


@asynccontextmanager
async def _writes_held(store: Store) -> AsyncIterator[None]:
    """A write transaction holding the url's sequence counter until the block ends."""
    table = schema.callback_sequences
    async with store.db.write() as connection:
        await connection.execute(
            update(table)
            .where(table.c.callback_url == URL)
            .values(last_sequence=table.c.last_sequence)
        )
        yield


async def _held_ingests(
    store: Store, batches: list[list[NewEvent]]
) -> tuple[list[list[Ingested] | BaseException], int]:
    """`batches` ingested concurrently while the queue's writes are held: their outcomes, and
    how many transactions wrote them."""
    grouped = _grouped(store)
    before = grouped.groups
    async with _writes_held(store):
        tasks = []
        for n, batch in enumerate(batches):
            tasks.append(asyncio.ensure_future(store.queue.ingest(batch, NOW)))
            if n < grouped.flushes:
                # Taken into a transaction of its own, which now waits for the held write.
                taken = before + n + 1
                await _until(lambda: grouped.groups == taken, "the ingest to be taken")  # noqa: B023
        waits = len(batches) - grouped.flushes
        await _until(lambda: grouped.waiting == waits, f"{waits} ingests to wait")
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    return outcomes, grouped.groups - before


@pytest.fixture
async def tenant(store: Store) -> tenancy.Tenant:
    made = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, made, "precon", "ProjectCreated", URL, partition=BU)
    # The url's counter exists, so that the held transaction can hold it.
    await store.queue.ingest([_event(made.company_id, 0)], NOW)
    return made


async def test_ingests_that_arrive_together_share_a_transaction(
    store: Store, tenant: tenancy.Tenant
) -> None:
    batches = [[_event(tenant.company_id, n)] for n in range(1, CALLERS + 1)]
    outcomes, groups = await _held_ingests(store, batches)
    flushes = _grouped(store).flushes
    # The ingests already in flight when the writes were held, then one for all the others.
    assert groups == flushes + 1
    ids = []
    for outcome in outcomes:
        assert isinstance(outcome, list), outcome
        (ingested,) = outcome
        assert ingested.deliveries == 1
        ids.append(ingested.event_id)
    assert len(set(ids)) == CALLERS
    table = schema.deliveries
    async with store.db.read() as connection:
        rows = (
            await connection.execute(
                select(table.c.event_id, table.c.sequence).order_by(table.c.sequence)
            )
        ).all()
    assert [sequence for _, sequence in rows] == list(range(1, CALLERS + 2))
    by_event = dict(rows)
    # In arrival order within the shared transaction: the in-flight ones first, any order.
    waited = ids[flushes:]
    assert [by_event[i] for i in waited] == sorted(by_event[i] for i in waited)


async def test_a_refused_caller_fails_alone(store: Store, tenant: tenancy.Tenant) -> None:
    batches = [[_event(tenant.company_id, n)] for n in range(1, CALLERS + 1)]
    broken = len(batches) - 2
    batches[broken] = [_event(tenant.company_id, 99), _event(tenant.company_id, 98, None)]
    outcomes, _ = await _held_ingests(store, batches)
    for n, outcome in enumerate(outcomes):
        if n == broken:
            assert isinstance(outcome, Exception)
            assert "null" in str(outcome).lower()
        else:
            assert isinstance(outcome, list), outcome
    async with store.db.read() as connection:
        publishers = set((await connection.execute(select(schema.events.c.publisher_id))).scalars())
    assert "pub-99" not in publishers
    assert publishers == {f"pub-{n}" for n in range(CALLERS + 1)} - {f"pub-{broken + 1}"}
