"""Leases on the database's clock and held by one claim: a worker whose clock is skewed neither
takes over live leases nor moves retries by its skew, and a try finished after its lease was
taken over is recorded but changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hookyard import catalog
from hookyard.clock import utcnow
from hookyard.services.events import EventService
from hookyard.store import Store, schema
from hookyard.store.queue import Claimed, ClaimRequest
from tests.support import engine, tenancy
from tests.support.receiver import Behaviour, Receiver
from tests.support.tries import tried

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
AHEAD = timedelta(seconds=120)
D = schema.deliveries


async def _tenant(store: Store, url: str) -> tuple[tenancy.Tenant, str]:
    tenant = await tenancy.add_tenant(store, unit=BU)
    record = await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", url, partition=BU)
    return tenant, record


async def _publish(store: Store, tenant: tenancy.Tenant, count: int) -> None:
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "projectId": "p",
    }
    await engine.events(store).publish_many("precon", [event] * count, publisher_id="pub")


async def _claim(store: Store, holder: str, lease: float = 60) -> list[Claimed]:
    return await store.queue.claim(ClaimRequest(10, lease, holder=holder))


async def _expire(store: Store, count: int) -> None:
    """Wait (by the database's clock) until `count` short leases have run out and are returned."""
    released = 0

    async def returned() -> bool:
        nonlocal released
        released += await store.queue.release_expired()
        return released >= count

    await engine.eventually(returned, what=f"{count} leases expired")
    assert released == count


async def _row(store: Store, delivery_id: str) -> Any:
    async with store.db.read() as connection:
        found = await connection.execute(select(D).where(D.c.id == delivery_id))
        return found.mappings().one()


async def _attempts(store: Store, delivery_id: str) -> list[int]:
    query = select(schema.attempts.c.number).where(schema.attempts.c.delivery_id == delivery_id)
    async with store.db.read() as connection:
        return sorted(row[0] for row in await connection.execute(query))


async def test_a_worker_whose_clock_runs_ahead_leaves_live_leases_alone(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker holds three deliveries for 60 s; a worker whose clock is 120 s ahead
    sweeps expired leases and delivers what is due, but does not take those three over."""
    tenant, _ = await _tenant(store, receiver.url())
    await _publish(store, tenant, 3)
    held = await _claim(store, "the-other-worker", lease=60)
    assert len(held) == 3
    sweeps: list[int] = []
    sweep = store.queue.release_expired

    async def counted() -> int:
        released = await sweep()
        sweeps.append(released)
        return released

    monkeypatch.setattr(store.queue, "release_expired", counted)

    async def swept() -> bool:
        return bool(sweeps)

    async with engine.running_worker(store, now=lambda: utcnow() + AHEAD):
        await engine.eventually(swept, what="the skewed worker's first sweep")
        for job in held:
            row = await _row(store, job.id)
            assert (row["state"], row["lease_owner"]) == ("in_flight", job.lease)
        await _publish(store, tenant, 1)
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the new delivery")
    assert sweeps[0] == 0
    sent = {post.headers["webhook-id"] for post in receiver.posts()}
    assert not sent & {job.id for job in held}, "a live lease was taken over"


@pytest.mark.parametrize("skew", [AHEAD, -AHEAD], ids=["ahead", "behind"])
async def test_a_retry_is_due_after_its_delay_by_the_database_clock(
    store: Store, skew: timedelta
) -> None:
    """A worker whose clock is 120 s off schedules a retry in 30 s: it is due in 30 s, neither
    at once (a clock behind) nor 150 s later (a clock ahead)."""
    tenant, _ = await _tenant(store, "http://a.test/hook")
    await _publish(store, tenant, 1)
    (job,) = await _claim(store, "skewed")
    skewed_now = utcnow() + skew
    retry = replace(tried(job, retry_in=30), retry_at=skewed_now + timedelta(seconds=30))
    await store.queue.finish([retry], now=skewed_now)
    assert await _claim(store, "another") == []
    due_in = await store.queue.due_in()
    assert due_in is not None
    assert 20 < due_in <= 30


async def test_a_renewal_runs_from_the_database_clock(store: Store) -> None:
    tenant, _ = await _tenant(store, "http://a.test/hook")
    await _publish(store, tenant, 2)
    claimed = await _claim(store, "w", lease=1)
    await store.queue.extend({job.id: job.lease for job in claimed}, lease_seconds=120)
    assert await store.queue.release_expired() == 0
    for job in claimed:
        until = (await _row(store, job.id))["locked_until"]
        assert utcnow() + timedelta(seconds=100) < until <= utcnow() + timedelta(seconds=121)


async def test_a_late_try_is_recorded_but_leaves_the_new_holders_delivery_alone(
    store: Store,
) -> None:
    tenant, _ = await _tenant(store, "http://a.test/hook")
    await _publish(store, tenant, 1)
    (first,) = await _claim(store, "first", lease=0.05)
    await _expire(store, 1)
    (second,) = await _claim(store, "second", lease=60)
    assert (second.id, second.attempt) == (first.id, 1)
    assert second.lease != first.lease
    assert second.lease.startswith("second/")

    await store.queue.extend({first.id: first.lease}, lease_seconds=600)
    await store.queue.release({first.id: first.lease})
    await store.queue.finish([tried(first)], now=utcnow())
    row = await _row(store, first.id)
    assert (row["state"], row["attempts"], row["lease_owner"]) == ("in_flight", 0, second.lease)
    assert row["locked_until"] < utcnow() + timedelta(seconds=120), "the old holder renewed it"
    assert await _attempts(store, first.id) == [1], "the late try happened: it is recorded"

    await store.queue.finish([tried(second, retry_in=0)], now=utcnow())
    row = await _row(store, second.id)
    assert (row["state"], row["attempts"], row["lease_owner"]) == ("pending", 1, None)
    assert await _attempts(store, first.id) == [1, 1]


async def test_a_late_last_try_does_not_stop_the_record(store: Store) -> None:
    tenant, record = await _tenant(store, "http://a.test/hook")
    await _publish(store, tenant, 1)
    (first,) = await _claim(store, "first", lease=0.05)
    await _expire(store, 1)
    (second,) = await _claim(store, "second", lease=60)
    await store.queue.finish([tried(first, stop=True)], now=utcnow())
    assert await tenancy.subscription_status(store, record) == ("Active", None)
    assert (await _row(store, second.id))["state"] == "in_flight"
    await store.queue.finish([tried(second)], now=utcnow())
    assert (await _row(store, second.id))["state"] == "succeeded"


async def test_an_expired_lease_is_returned_without_its_holder(store: Store) -> None:
    tenant, _ = await _tenant(store, "http://a.test/hook")
    await _publish(store, tenant, 2)
    claimed = await _claim(store, "w", lease=0.05)
    await _expire(store, 2)
    for job in claimed:
        row = await _row(store, job.id)
        assert (row["state"], row["lease_owner"], row["locked_until"]) == ("pending", None, None)


async def test_a_worker_that_takes_back_its_own_expired_delivery_keeps_count(
    store: Store,
) -> None:
    """A try outlives its lease (the lease is returned while the callback is still answering) and
    the same worker claims the delivery again: two tries of one delivery in hand at once. Once
    both are done the worker must hold nothing for the host: a count that leaked one per such
    stall would, after a few, keep the host out of claims for good."""
    receiver = await Receiver.start()
    try:
        tenant, _ = await _tenant(store, receiver.url())
        async with engine.running_worker(
            store, timeout=30.0, per_host_concurrency=1, lease_seconds=60.0
        ) as worker:
            receiver.answer("/hook", Behaviour(delay=1.5))
            await _publish(store, tenant, 1)
            await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the first try")
            async with store.db.write() as connection:
                await connection.execute(
                    D.update()
                    .where(D.c.state == "in_flight")
                    .values(locked_until=utcnow() - timedelta(seconds=1))
                )
            await store.queue.release_expired()  # or the worker's own sweep returns it
            receiver.answer("/hook", Behaviour())
            await receiver.wait_for(lambda: len(receiver.posts()) == 2, what="the second try")
            await _publish(store, tenant, 1)
            await receiver.wait_for(lambda: len(receiver.posts()) == 3, what="a later delivery")

            async def settled() -> bool:
                return not worker.in_hand() and await _in_flight(store) == 0

            await engine.eventually(settled, what="nothing in hand")
            assert worker.in_hand() == {}
    finally:
        await receiver.stop()


async def _in_flight(store: Store) -> int:
    async with store.db.read() as connection:
        found = await connection.execute(select(D.c.id).where(D.c.state == "in_flight"))
        return len(found.all())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_an_api_host_whose_clock_runs_ahead_queues_deliveries_due_now(store: Store) -> None:
    """Many hosts, one database: a publish from a host whose clock is two minutes ahead must not
    make its deliveries wait two minutes; they are due by the database's clock."""
    tenant, _ = await _tenant(store, "http://a.test/hook")
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "projectId": "p",
    }
    ahead = EventService(
        store, catalog.load(), public_base_url=engine.BASE_URL, now=lambda: utcnow() + AHEAD
    )
    published = await ahead.publish("precon", event, publisher_id="pub")
    assert published.deliveries == 1
    (job,) = await _claim(store, "w")
    assert (await _row(store, job.id))["next_attempt_at"] <= utcnow()
