"""The delivery queue in the store: claims bounded by their limit, leases, batched finishing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from hookyard import models
from hookyard.clock import utcnow
from hookyard.store import Store, schema
from hookyard.store.history import Query
from hookyard.store.queue import Claimed, ClaimRequest
from tests.support import engine, tenancy
from tests.support.tries import tried

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


async def _claim(store: Store, limit: int, lease: float = 60) -> list[Claimed]:
    return await store.queue.claim(ClaimRequest(limit, lease, holder="test"))


async def test_a_claim_never_returns_more_than_its_limit(store: Store) -> None:
    await _queue(store, 1000)
    seen: set[str] = set()
    for limit in (1, 7, 100, 250):
        claimed = await _claim(store, limit)
        assert len(claimed) == limit
        seen.update(job.id for job in claimed)
    assert len(seen) == 358


async def test_concurrent_claims_never_overlap_or_exceed_their_limit(store: Store) -> None:
    await _queue(store, 600)

    async def claim_all() -> list[list[str]]:
        batches = []
        for _ in range(20):
            claimed = await _claim(store, 50)
            assert len(claimed) <= 50
            batches.append([job.id for job in claimed])
        return batches

    results = await asyncio.gather(*(claim_all() for _ in range(4)))
    ids = [i for batches in results for batch in batches for i in batch]
    assert len(ids) == len(set(ids)) == 600


async def test_a_claim_carries_everything_a_try_needs(store: Store) -> None:
    tenant = await _queue(store, 1)
    (job,) = await _claim(store, 10)
    assert job.url == "http://a.test/hook"
    assert job.host == "a.test:80"
    assert job.attempt == 1
    assert tenant.company_id.encode() in job.body
    assert job.secret_key
    assert job.previous_secret_key is None
    assert job.lease.startswith("test/")
    assert await _claim(store, 10) == []


async def test_a_host_without_room_is_left_in_the_queue(store: Store) -> None:
    await _queue(store, 5, urls=("http://busy.test/h", "http://free.test:8080/h"))
    request = ClaimRequest(100, 60, per_host=16, in_hand={"busy.test:80": 16})
    claimed = await store.queue.claim(request)
    assert {job.host for job in claimed} == {"free.test:8080"}
    assert len(claimed) == 5


async def test_a_claim_takes_no_more_of_a_host_than_its_room(store: Store) -> None:
    await _queue(store, 30, urls=("http://a.test/h", "http://b.test/h", "http://c.test/h"))
    request = ClaimRequest(100, 60, per_host=16, in_hand={"a.test:80": 10})
    claimed = await store.queue.claim(request)
    hosts = Counter(job.host for job in claimed)
    assert hosts == {"a.test:80": 6, "b.test:80": 16, "c.test:80": 16}


async def test_an_expired_lease_makes_the_delivery_due_again(store: Store) -> None:
    await _queue(store, 3)
    claimed = await _claim(store, 10)
    assert len(claimed) == 3
    assert await store.queue.release_expired() == 0
    # Renewed to end now: the leases run out by the database's clock.
    await store.queue.extend({job.id: job.lease for job in claimed}, lease_seconds=0)
    released = 0

    async def all_returned() -> bool:
        nonlocal released
        released += await store.queue.release_expired()
        return released >= 3

    await engine.eventually(all_returned, what="the three leases expired")
    assert released == 3
    again = await _claim(store, 10)
    assert {job.id for job in again} == {job.id for job in claimed}
    assert all(job.attempt == 1 for job in again)


async def test_a_retry_is_not_due_before_its_time(store: Store) -> None:
    await _queue(store, 1)
    (job,) = await _claim(store, 10)
    await store.queue.finish([tried(job, retry_in=30)], now=utcnow())
    assert await _claim(store, 10) == []
    due_in = await store.queue.due_in()
    assert due_in is not None
    assert 20 < due_in <= 30
    await _move_due(store, job.id, timedelta(seconds=-37))
    (again,) = await _claim(store, 10)
    assert (again.id, again.attempt) == (job.id, 2)


async def test_the_next_due_time_leaves_out_the_hosts_asked_to(store: Store) -> None:
    await _queue(store, 1, urls=("http://dead.test/hook", "http://a.test/hook"))
    jobs = await _claim(store, 10)
    (retried,) = [job for job in jobs if job.host == "a.test:80"]
    (dead,) = [job for job in jobs if job.host == "dead.test:80"]
    await store.queue.finish([tried(retried, retry_in=30)], now=utcnow())
    await store.queue.release({dead.id: dead.lease})
    # The dead host's delivery is due now; left out, the next due is a.test's retry.
    due_now = await store.queue.due_in()
    assert due_now is not None
    assert due_now <= 0
    due_later = await store.queue.due_in(["dead.test:80"])
    assert due_later is not None
    assert 20 < due_later <= 30
    assert await store.queue.due_in(["dead.test:80", "a.test:80"]) is None


async def _move_due(store: Store, delivery_id: str, by: timedelta) -> None:
    """Move a delivery's due time, as if `-by` had passed."""
    table = schema.deliveries
    async with store.db.write() as connection:
        due = (
            await connection.execute(
                select(table.c.next_attempt_at).where(table.c.id == delivery_id)
            )
        ).scalar_one()
        await connection.execute(
            table.update().where(table.c.id == delivery_id).values(next_attempt_at=due + by)
        )


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
    for attempt in range(1, 6):
        claimed = await _claim(store, 10)
        (job,) = [c for c in claimed if c.id == target.delivery.id]
        assert job.attempt == attempt
        await store.queue.release({c.id: c.lease for c in claimed if c.id != job.id})
        await store.queue.finish(
            [tried(job, stop=attempt == 5, retry_in=None if attempt == 5 else 0)], now=utcnow()
        )
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
    assert await _claim(store, 10) == []


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
    assert await _claim(store, 10) == []
    assert list((await tenancy.delivery_states(store)).values()) == ["held"]


async def test_a_claim_hands_a_hosts_deliveries_over_in_due_order(store: Store) -> None:
    """The worker sends a host's claimed deliveries in the order the claim returns them, so a
    replay reaches the receiver in publish order only if the claim keeps due order (here the
    reverse of the insert order, which a scan would follow)."""
    await _queue(store, 40)
    table = schema.deliveries
    async with store.db.read() as connection:
        ids = (await connection.execute(select(table.c.id).order_by(table.c.id))).scalars().all()
    start = utcnow() - timedelta(minutes=1)
    due = {
        delivery_id: start + timedelta(microseconds=len(ids) - n)
        for n, delivery_id in enumerate(ids)
    }
    async with store.db.write() as connection:
        for delivery_id, at in due.items():
            await connection.execute(
                update(table).where(table.c.id == delivery_id).values(next_attempt_at=at)
            )
    claimed = await _claim(store, 100)
    assert len(claimed) == 40
    assert [job.id for job in claimed] == sorted(due, key=due.__getitem__)


async def test_a_requeue_keeps_the_order_given_and_leaves_a_claimed_delivery_alone(
    store: Store,
) -> None:
    await _queue(store, 3)
    taken = (await _claim(store, 1))[0]
    others = sorted(set(await tenancy.delivery_states(store)) - {taken.id})
    order = [others[1], taken.id, others[0]]
    not_in_flight = [s for s in models.DeliveryState if s is not models.DeliveryState.IN_FLIGHT]

    assert await store.queue.requeue(order, now=utcnow(), states=not_in_flight) == 2

    states = await tenancy.delivery_states(store)
    assert states == {taken.id: "in_flight", others[0]: "pending", others[1]: "pending"}
    assert [job.id for job in await _claim(store, 10)] == [others[1], others[0]]


async def test_dropping_held_deliveries_drops_their_attempts_and_counts_them(
    store: Store,
) -> None:
    await _queue(store, 3)
    first = (await _claim(store, 1))[0]
    await store.queue.finish([tried(first, stop=True)], now=utcnow())
    states = await tenancy.delivery_states(store)
    assert sorted(states.values()) == ["failed", "held", "held"]
    async with store.db.write() as connection:
        await connection.execute(update(schema.deliveries).values(state="held"))

    long_ago = utcnow() - timedelta(days=1)
    assert await store.queue.drop_held(0, long_ago) == {first.subscription_id: 3}

    async with store.db.read() as connection:
        kept = (await connection.execute(select(schema.deliveries.c.sequence))).scalars().all()
        attempts = (await connection.execute(select(schema.attempts.c.id))).all()
        held_dropped = (
            await connection.execute(select(schema.subscriptions.c.held_dropped))
        ).scalar_one()
    assert (kept, attempts, held_dropped) == ([], [], 3)
