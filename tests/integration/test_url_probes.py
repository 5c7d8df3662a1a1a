"""Self-healing urls: a Stopped record's url is probed with a real challenge on its schedule;
when it passes, `subscription.recovered` is logged and (with autoReactivate) the record is Active
again with its held deliveries released in publish order. The probe obeys the address guard."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hookyard.clock import utcnow
from hookyard.delivery import netguard
from hookyard.delivery.prober import Prober
from hookyard.probe_schedule import ProbeSchedule
from hookyard.services.probes import HeldBounds, UrlProbes
from hookyard.store import Store, schema
from tests.support import engine, tenancy
from tests.support.receiver import Behaviour, Receiver

S, D = schema.subscriptions, schema.deliveries
# Publishing needs a GUID business unit (setups events are not checked against the company's).
BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"


def _event(company: str, item: str) -> dict[str, str]:
    return {"eventType": "EmployeeCreated", "companyId": company, "businessUnitId": BU, "id": item}


async def _stopped_with_held(
    store: Store, receiver: Receiver, *, auto: bool, items: int = 3
) -> tuple[str, list[str]]:
    """A Stopped record of the receiver's url with `items` held deliveries; (record, ids in
    publish order)."""
    tenant = await tenancy.add_tenant(store)
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url())
    publisher = engine.events(store)
    published = [
        await publisher.publish("setups", _event(tenant.company_id, str(n)), publisher_id="p")
        for n in range(items)
    ]
    async with store.db.write() as connection:
        await connection.execute(
            update(S)
            .where(S.c.id == record)
            .values(status="Stopped", stop_reason="5 tries failed", auto_reactivate=auto)
        )
        await connection.execute(update(D).values(state="held"))
        rows = await connection.execute(
            select(D.c.id, D.c.event_id).where(D.c.subscription_id == record)
        )
        by_event = {event_id: delivery_id for delivery_id, event_id in rows.all()}
    return record, [by_event[p.event_id] for p in published]


def _probes(
    store: Store, guard: netguard.Guard, hours: float, held: HeldBounds = HeldBounds()
) -> UrlProbes:
    moment = utcnow() + timedelta(hours=hours)
    return UrlProbes(
        store,
        Prober(guard, timeout=5),
        ProbeSchedule(),
        held=held,
        now=lambda: moment,
    )


LOOPBACK = netguard.Guard.build(allow_private=True)


async def _deliveries(store: Store, record: str) -> list[tuple[str, str, object]]:
    async with store.db.read() as connection:
        rows = await connection.execute(
            select(D.c.id, D.c.state, D.c.next_attempt_at)
            .where(D.c.subscription_id == record)
            .order_by(D.c.next_attempt_at, D.c.id)
        )
        return [tuple(row) for row in rows.all()]


async def test_a_passing_probe_reactivates_and_releases_held_in_publish_order(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    record, held = await _stopped_with_held(store, receiver, auto=True)

    assert (await _probes(store, LOOPBACK, 0.5).run_once()).probed == 0  # not due yet
    with caplog.at_level(logging.INFO, "hookyard.probes"):
        report = await _probes(store, LOOPBACK, 1.5).run_once()

    assert report.recovered == [receiver.url()]
    assert report.released == 3
    (probe,) = receiver.received("GET")
    assert "challenge" in probe.query
    assert await tenancy.subscription_status(store, record) == ("Active", None)
    rows = await _deliveries(store, record)
    assert [r[0] for r in rows] == held
    assert {r[1] for r in rows} == {"pending"}
    assert "subscription.recovered" in caplog.text


async def test_without_auto_reactivate_a_passing_probe_only_tells(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    record, _ = await _stopped_with_held(store, receiver, auto=False)
    with caplog.at_level(logging.INFO, "hookyard.probes"):
        report = await _probes(store, LOOPBACK, 1.5).run_once()
    assert report.recovered == [receiver.url()]
    assert report.reactivated == []
    assert (await tenancy.subscription_status(store, record))[0] == "Stopped"
    assert {r[1] for r in await _deliveries(store, record)} == {"held"}
    assert "subscription.recovered" in caplog.text


async def test_a_failing_probe_waits_for_its_next_slot(store: Store, receiver: Receiver) -> None:
    record, _ = await _stopped_with_held(store, receiver, auto=True)
    receiver.answer("/hook", Behaviour(status=500))

    first = await _probes(store, LOOPBACK, 1.5).run_once()
    again = await _probes(store, LOOPBACK, 1.6).run_once()
    later = await _probes(store, LOOPBACK, 2.6).run_once()

    assert (first.probed, first.recovered) == (1, [])
    assert again.probed == 0
    assert later.probed == 1
    assert len(receiver.received("GET")) == 2
    assert (await tenancy.subscription_status(store, record))[0] == "Stopped"


async def test_the_probe_obeys_the_address_guard(store: Store, receiver: Receiver) -> None:
    record, _ = await _stopped_with_held(store, receiver, auto=True)
    strict = netguard.Guard.build(allow_private=False)
    report = await _probes(store, strict, 1.5).run_once()
    assert (report.probed, report.recovered) == (1, [])
    assert receiver.requests == [r for r in receiver.requests if r.method == "POST"]
    assert (await tenancy.subscription_status(store, record))[0] == "Stopped"


async def test_held_deliveries_past_the_cap_drop_the_oldest_and_count_them(
    store: Store, receiver: Receiver
) -> None:
    record, held = await _stopped_with_held(store, receiver, auto=False, items=5)
    report = await _probes(store, LOOPBACK, 0.1, HeldBounds(cap=2)).run_once()
    assert report.dropped == {record: 3}
    assert [r[0] for r in await _deliveries(store, record)] == held[3:]
    async with store.db.read() as connection:
        dropped = (
            await connection.execute(select(S.c.held_dropped).where(S.c.id == record))
        ).scalar_one()
    assert dropped == 3
    expired = await _probes(store, LOOPBACK, 100, HeldBounds(cap=10)).run_once()
    assert expired.dropped == {record: 2}
