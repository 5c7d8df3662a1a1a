"""An idle worker wakes when deliveries are published, when a retry it recorded is due, and when
a delivery of a host with room is due beside a host that is full: long before its poll interval."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from hookyard.clock import utcnow
from hookyard.store import Store, schema
from tests.support import databases, engine, processes, tenancy
from tests.support.receiver import Behaviour, Receiver, wait_until

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
LONG_POLL = 300.0


async def test_a_publish_in_this_process_wakes_the_worker(
    store: Store, database_url: str, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url())
    event = {
        "eventType": "EmployeeCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "id": "1",
    }
    async with engine.running_worker(store, poll_interval_seconds=LONG_POLL) as worker:
        await asyncio.wait_for(worker.listening.wait(), 10)
        other = Store(database_url)
        try:
            await engine.events(other).publish("setups", event, publisher_id="p")
        finally:
            await other.close()
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, timeout=30, what="the delivery")


@pytest.mark.postgres
async def test_a_publish_from_another_process_wakes_the_worker_by_notify(
    postgres_database: str, receiver: Receiver, tmp_path: Path
) -> None:
    """PostgreSQL only: SQLite runs in one process, where the in-process wake-up applies."""
    await asyncio.to_thread(databases.truncate_postgres, postgres_database)
    database_url = postgres_database
    store = Store(database_url)
    try:
        tenant = await tenancy.add_tenant(store, unit=BU)
        await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url())
        args = processes.publish_employee_created(tenant.company_id, BU)
        env = {"HOOKYARD_DATABASE_URL": database_url, "HOOKYARD_DATA_DIR": str(tmp_path)}
        async with engine.running_worker(store, poll_interval_seconds=LONG_POLL) as worker:
            await asyncio.wait_for(worker.listening.wait(), 10)
            with processes.running(args, tmp_path, env) as publisher:
                await wait_until(lambda: publisher.popen.poll() is not None, 60, "publish")
                assert publisher.popen.returncode == 0, publisher.errors
            await receiver.wait_for(
                lambda: len(receiver.posts()) == 1, timeout=60, what="the delivery"
            )
    finally:
        await store.close()


def _employee(tenant: tenancy.Tenant, event_type: str = "EmployeeCreated") -> dict[str, str]:
    return {
        "eventType": event_type,
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "id": "1",
    }


async def _a_retry_is_tried_when_due(store: Store, receiver: Receiver) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url("/flaky"))
    receiver.answer("/flaky", Behaviour(status=503), Behaviour(status=503), Behaviour(status=200))
    async with engine.running_worker(store, poll_interval_seconds=LONG_POLL) as worker:
        await asyncio.wait_for(worker.listening.wait(), 10)
        await engine.events(store).publish("setups", _employee(tenant), publisher_id="p")
        # Each retry is due 0.05-0.1 s after its 503 (engine.FAST_RETRIES); the poll is 300 s
        # away.
        await receiver.wait_for(lambda: len(receiver.posts()) == 3, timeout=30, what="retries")


async def test_a_retry_this_worker_recorded_is_tried_when_due_not_at_the_next_poll(
    store: Store, receiver: Receiver
) -> None:
    await _a_retry_is_tried_when_due(store, receiver)


async def test_a_due_delivery_beside_a_full_dead_host_is_claimed_when_due(
    store: Store, receiver: Receiver
) -> None:
    """A host that never answers holds all it may (per-host concurrency 1: two in hand); a
    healthy host's delivery falls due later, with no publish or retry to wake the worker."""
    dead = await Receiver.start()
    try:
        dead.default = Behaviour(blackhole=True)
        tenant = await tenancy.add_tenant(store, unit=BU)
        await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", dead.url())
        await tenancy.subscribe(store, tenant, "setups", "EmployeeUpdated", receiver.url("/later"))
        service = engine.events(store)
        for _ in range(3):
            await service.publish("setups", _employee(tenant), publisher_id="p")
        later = await service.publish(
            "setups", _employee(tenant, "EmployeeUpdated"), publisher_id="p"
        )
        await _due_in_a_second(store, later.event_id)
        async with engine.running_worker(
            store, poll_interval_seconds=LONG_POLL, per_host_concurrency=1, timeout=60
        ) as worker:
            await asyncio.wait_for(worker.listening.wait(), 10)
            await receiver.wait_for(
                lambda: len(receiver.posts("/later")) == 1, timeout=30, what="the due delivery"
            )
            assert worker.in_hand().get(f"127.0.0.1:{dead.port}") == 2
    finally:
        await dead.stop()


async def _due_in_a_second(store: Store, event_id: str) -> None:
    table = schema.deliveries
    async with store.db.write() as connection:
        await connection.execute(
            update(table)
            .where(table.c.event_id == event_id)
            .values(next_attempt_at=utcnow() + timedelta(seconds=1))
        )
