"""An idle worker wakes when deliveries are published, long before its poll interval."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hookyard.store import Store
from tests.support import databases, engine, processes, tenancy
from tests.support.receiver import Receiver, wait_until

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
