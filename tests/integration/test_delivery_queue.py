"""The delivery queue in the store: claims bounded by their limit, leases, batched finishing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from hookyard import models
from hookyard.clock import utcnow
from hookyard.store import Store, schema
from hookyard.store.deliveries import Claimed, Finished
from hookyard.store.history import Query
from tests.support import engine, tenancy

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"


async def _queue(
    store: Store, count: int, urls: tuple[str, ...] = ("http://a.test/hook",)
) -> tenancy.Tenant:
    tenant = await tenancy.add_tenant(store, unit=BU)
    for url in urls:
        await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", url, partition=BU)
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "projectId": "p",
    }
    service = engine.events(store)
    for start in range(0, count, 500):
        await service.publish_many("precon", [event] * min(500, count - start), publisher_id="pub")
    return tenant


def _failure(job: Claimed, retry_in: float | None) -> Finished:
    now = utcnow()
    return Finished(
        delivery_id=job.id,
        subscription_id=job.subscription_id,
        attempt=job.attempt,
        started_at=now,
        duration_ms=3.0,
        outcome=models.Outcome.HTTP_ERROR,
        status_code=500,
        error="answered HTTP 500",
        response_body="oops",
        retry_at=None if retry_in is None else now + timedelta(seconds=retry_in),
    )


async def test_a_claim_never_returns_more_than_its_limit(store: Store) -> None:
    await _queue(store, 1000)
    seen: set[str] = set()
    for limit in (1, 7, 100, 250):
        claimed = await store.deliveries.claim(limit, now=utcnow(), lease_seconds=60)
        assert len(claimed) == limit
        seen.update(job.id for job in claimed)
    assert len(seen) == 358


async def test_concurrent_claims_never_overlap_or_exceed_their_limit(store: Store) -> None:
    await _queue(store, 600)

    async def claim_all() -> list[list[str]]:
        batches = []
        for _ in range(20):
            claimed = await store.deliveries.claim(50, now=utcnow(), lease_seconds=60)
            assert len(claimed) <= 50
            batches.append([job.id for job in claimed])
        return batches

    results = await asyncio.gather(*(claim_all() for _ in range(4)))
    ids = [i for batches in results for batch in batches for i in batch]
    assert len(ids) == len(set(ids)) == 600


async def test_a_claim_carries_everything_a_try_needs(store: Store) -> None:
    tenant = await _queue(store, 1)
    (job,) = await store.deliveries.claim(10, now=utcnow(), lease_seconds=60)
    assert job.url == "http://a.test/hook"
    assert job.host == "a.test:80"
    assert job.attempt == 1
    assert tenant.company_id.encode() in job.body
    assert len(job.secrets) == 1
    assert await store.deliveries.claim(10, now=utcnow(), lease_seconds=60) == []


async def test_excluded_hosts_are_left_in_the_queue(store: Store) -> None:
    await _queue(store, 5, urls=("http://busy.test/h", "http://free.test:8080/h"))
    claimed = await store.deliveries.claim(
        100, now=utcnow(), lease_seconds=60, exclude_hosts=["busy.test:80"]
    )
    assert {job.host for job in claimed} == {"free.test:8080"}
    assert len(claimed) == 5


async def test_an_expired_lease_makes_the_delivery_due_again(store: Store) -> None:
    await _queue(store, 3)
    claimed = await store.deliveries.claim(10, now=utcnow(), lease_seconds=60)
    assert len(claimed) == 3
    assert await store.deliveries.release_expired(now=utcnow()) == 0
    later = utcnow() + timedelta(seconds=61)
    assert await store.deliveries.release_expired(now=later) == 3
    again = await store.deliveries.claim(10, now=later, lease_seconds=60)
    assert {job.id for job in again} == {job.id for job in claimed}
    assert all(job.attempt == 1 for job in again)


async def test_a_renewed_lease_does_not_expire(store: Store) -> None:
    await _queue(store, 2)
    claimed = await store.deliveries.claim(10, now=utcnow(), lease_seconds=1)
    await store.deliveries.extend(
        [job.id for job in claimed], until=utcnow() + timedelta(seconds=120)
    )
    assert await store.deliveries.release_expired(now=utcnow() + timedelta(seconds=60)) == 0


async def test_a_retry_is_not_due_before_its_time(store: Store) -> None:
    await _queue(store, 1)
    (job,) = await store.deliveries.claim(10, now=utcnow(), lease_seconds=60)
    await store.deliveries.finish([_failure(job, retry_in=30)], now=utcnow())
    assert await store.deliveries.claim(10, now=utcnow(), lease_seconds=60) == []
    due = await store.deliveries.next_due()
    assert due is not None
    assert due > utcnow() + timedelta(seconds=20)
    (again,) = await store.deliveries.claim(
        10, now=utcnow() + timedelta(seconds=37), lease_seconds=60
    )
    assert (again.id, again.attempt) == (job.id, 2)


async def test_the_fifth_failure_stops_the_record_and_holds_its_queue(store: Store) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    url = "http://dead.test/hook"
    record = await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", url, partition=BU)
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "projectId": "p",
    }
    service = engine.events(store)
    first = await service.publish("precon", event, publisher_id="pub")
    queued = await service.publish_many("precon", [event, event], publisher_id="pub")
    (target,) = await store.history.list(Query(event_id=first.event_id))
    later = utcnow() + timedelta(days=1)
    for attempt in range(1, 6):
        claimed = await store.deliveries.claim(10, now=later, lease_seconds=60)
        (job,) = [c for c in claimed if c.id == target.delivery.id]
        assert job.attempt == attempt
        others = [c.id for c in claimed if c.id != job.id]
        await store.deliveries.release(others, now=later + timedelta(days=1))
        await store.deliveries.finish([_failure(job, None if attempt == 5 else 0)], now=utcnow())
    status, reason = await tenancy.subscription_status(store, record)
    assert status == "Stopped"
    assert reason is not None
    assert "5 tries failed" in reason
    assert "HTTP 500" in reason
    states = await tenancy.delivery_states(store)
    assert states[job.id] == "failed"
    assert sorted(states.values()) == ["failed", "held", "held"]
    assert len(queued) == 2
    assert first.deliveries == 1
    async with store.db.read() as connection:
        rows = (
            await connection.execute(
                select(schema.attempts.c.number).order_by(schema.attempts.c.number)
            )
        ).all()
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    assert await store.deliveries.claim(10, now=later, lease_seconds=60) == []


async def test_a_claimed_delivery_of_a_stopped_record_is_held_not_sent(store: Store) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", "http://x.test/")
    event = {
        "eventType": "EmployeeCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "id": "e",
    }
    await engine.events(store).publish("setups", event, publisher_id="pub")
    async with store.db.write() as connection:
        table = schema.subscriptions
        await connection.execute(
            table.update().where(table.c.id == record).values(status="Stopped")
        )
    assert await store.deliveries.claim(10, now=utcnow(), lease_seconds=60) == []
    assert list((await tenancy.delivery_states(store)).values()) == ["held"]
