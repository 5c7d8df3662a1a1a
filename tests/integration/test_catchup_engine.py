"""The engine side of issue 11 on both databases, with a real worker and receiver: events
published while a record is Stopped are held and recovered in publish order; sequence numbers are
gap-free per (client, url) under concurrent ingest; a 410 Gone Stops the record at once."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import orjson
from sqlalchemy import select, update

from hookyard import catalog, models
from hookyard.clock import utcnow
from hookyard.services.approvals import Approvals
from hookyard.services.deliveries import DeliveryService
from hookyard.services.test_events import TestEvents
from hookyard.store import Store, schema
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Behaviour, Receiver

D, S, E = schema.deliveries, schema.subscriptions, schema.events
# Publishing needs a GUID business unit (setups events are not checked against the company's).
BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"


def _event(company_id: str, item: str, event_type: str = "EquipmentCreated") -> dict[str, str]:
    return {"eventType": event_type, "companyId": company_id, "businessUnitId": BU, "id": item}


def _item(body: bytes) -> str:
    return body.decode().split('"id":"')[1].split('"')[0]


async def _numbers(store: Store) -> dict[tuple[str, str], dict[str, int]]:
    """Each (client, url)'s sequence number of each event item."""
    statement = select(S.c.client_id, S.c.callback_url, D.c.sequence, E.c.body).select_from(
        D.join(S, S.c.id == D.c.subscription_id).join(E, E.c.id == D.c.event_id)
    )
    numbers: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    async with store.db.read() as connection:
        for client, url, sequence, body in (await connection.execute(statement)).all():
            numbers[(client, url)][_item(bytes(body))] = sequence
    return numbers


async def test_events_published_while_stopped_are_held_then_replayed_in_publish_order(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store)
    stopped = models.SubscriptionStatus.STOPPED
    record = await tenancy.subscribe(
        store, tenant, "setups", "EquipmentCreated", receiver.url(), status=stopped
    )
    since = utcnow()
    publisher = engine.events(store)
    items = [f"e{n}" for n in range(6)]
    for item in items:
        published = await publisher.publish(
            "setups", _event(tenant.company_id, item), publisher_id="p"
        )
        assert published.deliveries == 1
    assert set((await tenancy.delivery_states(store)).values()) == {"held"}

    async with engine.running_worker(store, per_host_concurrency=1) as _:
        await tenancy.reactivate(store, record)
        assert (
            await DeliveryService(store).recover(
                integrator(tenant.client_id), receiver.url(), since
            )
            == 6
        )
        await receiver.wait_for(lambda: len(receiver.posts()) == 6, what="the held six")
    posts = receiver.posts()
    assert [_item(p.body) for p in posts] == items
    assert [p.headers["webhook-sequence"] for p in posts] == ["1", "2", "3", "4", "5", "6"]


async def test_sequence_numbers_are_gap_free_per_client_and_url_under_concurrent_ingest(
    store: Store,
) -> None:
    first, second = await tenancy.add_tenant(store), await tenancy.add_tenant(store)
    urls = ["https://a.example/hook", "https://b.example/hook"]
    for tenant in (first, second):
        for url in urls:
            for event_type in ("EquipmentCreated", "EquipmentUpdated"):
                await tenancy.subscribe(store, tenant, "setups", event_type, url)
    publisher = engine.events(store)

    def order(tag: str) -> list[str]:
        return [f"{tag}{n}" for n in range(6)] + [f"{tag}b{n}" for n in range(5)]

    async def stream(tenant: tenancy.Tenant, tag: str) -> None:
        for n in range(6):
            kind = "EquipmentCreated" if n % 2 else "EquipmentUpdated"
            await publisher.publish(
                "setups", _event(tenant.company_id, f"{tag}{n}", kind), publisher_id="p"
            )
        batch = [_event(tenant.company_id, f"{tag}b{n}") for n in range(5)]
        await publisher.publish_many("setups", batch, publisher_id="p")

    streams = list(enumerate([first, second] * 3))
    await asyncio.gather(*(stream(t, f"{i}-") for i, t in streams))

    numbers = await _numbers(store)
    assert set(numbers) == {(t.client_id, url) for t in (first, second) for url in urls}
    for (client, url), found in numbers.items():
        assert sorted(found.values()) == list(range(1, 34)), url  # 3 streams x 11 events
        for i, tenant in streams:
            if tenant.client_id == client:
                mine = [found[item] for item in order(f"{i}-")]
                assert mine == sorted(mine), (url, i)  # one publisher's order is kept


async def test_a_410_gone_stops_the_record_at_once_without_more_tries(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store)
    record = await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", receiver.url())
    receiver.answer("/hook", Behaviour(status=410, body="gone"))
    publisher = engine.events(store)
    async with engine.running_worker(store):
        await publisher.publish("setups", _event(tenant.company_id, "a"), publisher_id="p")

        async def stopped() -> bool:
            return (await tenancy.subscription_status(store, record))[0] == "Stopped"

        await engine.eventually(stopped, what="the record Stopped")
        await publisher.publish("setups", _event(tenant.company_id, "b"), publisher_id="p")
    assert await tenancy.subscription_status(store, record) == ("Stopped", "410 Gone")
    assert len(receiver.posts()) == 1
    assert sorted((await tenancy.delivery_states(store)).values()) == ["failed", "held"]


async def test_a_partner_record_stopped_by_a_disconnect_holds_nothing_and_is_not_probed(
    store: Store,
) -> None:
    tenant = await tenancy.add_tenant(store)
    stopped = models.SubscriptionStatus.STOPPED
    url = "https://partner.example/hook"
    record = await tenancy.subscribe(
        store, tenant, "setups", "EquipmentCreated", url, status=stopped
    )
    async with store.db.write() as connection:
        await connection.execute(
            update(S)
            .where(S.c.id == record)
            .values(stop_reason="disconnected", auto_reactivate=True)
        )
    published = await engine.events(store).publish(
        "setups", _event(tenant.company_id, "private"), publisher_id="p"
    )
    assert published.deliveries == 0
    assert await tenancy.delivery_states(store) == {}
    assert await store.stopped.urls() == []


async def test_a_test_event_takes_the_next_sequence_number_of_its_url(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store)
    record = await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", receiver.url())
    publisher = engine.events(store)
    for item in ("e0", "e1"):
        await publisher.publish("setups", _event(tenant.company_id, item), publisher_id="p")
    approvals = Approvals(store, [])
    test_events = TestEvents(
        store, catalog.load(), public_base_url=engine.BASE_URL, approvals=approvals
    )
    sent = await test_events.send(OPERATOR, record_id=record, event_type="EquipmentUpdated")
    assert sent.deliveries == 1
    await publisher.publish("setups", _event(tenant.company_id, "e2"), publisher_id="p")

    numbers = (await _numbers(store))[(tenant.client_id, receiver.url())]
    assert sorted(numbers.values()) == [1, 2, 3, 4]
    assert [numbers["e0"], numbers["e1"], numbers["e2"]] == [1, 2, 4]
    async with engine.running_worker(store, per_host_concurrency=1) as _:
        await receiver.wait_for(lambda: len(receiver.posts()) == 4, what="four deliveries")
    by_type = {
        orjson.loads(p.body)["eventType"]: p.headers["webhook-sequence"]
        for p in receiver.posts()
        if orjson.loads(p.body)["eventType"] == "EquipmentUpdated"
    }
    assert by_type == {"EquipmentUpdated": "3"}
