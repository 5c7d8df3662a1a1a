"""A redelivered or recovered delivery continues its attempt numbers: its first try of the new
round is attempt N+1, so a delivery's attempt rows stay unique and in order, while the retry
policy still counts the tries of the round (a new round gets all its tries). What the receiver
sees does not change: the same `webhook-id` and body on every try, and no attempt number (HCSS
sends none)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hookyard import retry
from hookyard.clock import utcnow
from hookyard.services.deliveries import DeliveryService
from hookyard.store import Store
from hookyard.store.history import Query
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR
from tests.support.receiver import Behaviour, Receiver

TWO_TRIES = retry.Policy(max_attempts=2, base_seconds=0.05, factor=2.0)


async def _numbers(store: Store, delivery_id: str) -> list[int]:
    found = await store.history.get(delivery_id)
    assert found is not None
    return [attempt.number for attempt in found.attempts]


async def _settled(store: Store, delivery_id: str, tries: int) -> None:
    async def done() -> bool:
        found = await store.history.get(delivery_id)
        assert found is not None
        return found.delivery.state.value == "failed" and len(found.attempts) == tries

    await engine.eventually(done, what=f"{tries} recorded tries and the delivery failed")


async def test_a_redelivered_and_a_recovered_delivery_continue_their_attempt_numbers(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store)
    unit = await tenancy.add_unit(store, tenant)
    url = receiver.url("/flaky")
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", url)
    receiver.answer("/flaky", Behaviour(status=500))
    event = {"eventType": "EmployeeCreated", "companyId": tenant.company_id}
    event.update(businessUnitId=unit, id="e-1")
    published = await engine.events(store).publish("setups", event, publisher_id="pub")
    (listed,) = await store.history.list(Query(event_id=published.event_id))
    delivery_id = listed.delivery.id
    service = DeliveryService(store)

    async with engine.running_worker(store, policy=TWO_TRIES):
        await _settled(store, delivery_id, 2)
        assert await _numbers(store, delivery_id) == [1, 2]
        await tenancy.reactivate(store, record)  # the second failure Stopped it

        await service.redeliver(OPERATOR, delivery_id)  # a new round: two more tries
        await _settled(store, delivery_id, 4)
        assert await _numbers(store, delivery_id) == [1, 2, 3, 4]
        await tenancy.reactivate(store, record)

        since = utcnow() - timedelta(hours=1)
        receiver.answer("/flaky", Behaviour())
        assert await service.recover(OPERATOR, url, since) == 1

        async def succeeded() -> bool:
            found = await store.history.get(delivery_id)
            return found is not None and found.delivery.state.value == "succeeded"

        await engine.eventually(succeeded, what="the recovered delivery to succeed")

    assert await _numbers(store, delivery_id) == [1, 2, 3, 4, 5]
    found = await store.history.get(delivery_id)
    assert found is not None
    assert (found.delivery.attempts, found.delivery.earlier_attempts) == (1, 4)  # round, before
    posts = receiver.posts("/flaky")
    assert len(posts) == 5
    assert Counter(post.headers["webhook-id"] for post in posts) == {
        posts[0].headers["webhook-id"]: 5
    }
    assert {post.body for post in posts} == {posts[0].body}
    assert not [name for post in posts for name in post.headers if "attempt" in name.lower()]
