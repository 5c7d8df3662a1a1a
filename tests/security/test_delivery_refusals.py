"""Delivery time, end to end: the real worker and sender with the default guard refuse callbacks
on loopback in every notation, record each try as `address_not_allowed` with the reason, and send
nothing. (Loopback only: the other address classes are in the namespace matrix.)"""

from __future__ import annotations

import pytest

from hookyard import models, retry
from hookyard.delivery.netguard import Guard
from hookyard.services.deliveries import DeliveryService
from hookyard.store import Store
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR
from tests.support.receiver import Receiver

POLICY = retry.Policy(base_seconds=0.05, factor=2.0, jitter=0.0)
BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
HOSTS = {
    "localhost": "localhost resolves to 127.0.0.1, which is a loopback address",
    "2130706433": "2130706433 (127.0.0.1) is a loopback address",
    "0x7f.1": "0x7f.1 (127.0.0.1) is a loopback address",
    "[::1]": "::1 is a loopback address",
    "[::ffff:127.0.0.1]": "is an IPv4-mapped IPv6 address (of 127.0.0.1)",
}


@pytest.mark.parametrize(("host", "reason"), HOSTS.items(), ids=list(HOSTS))
async def test_refused_tries_are_recorded_with_the_reason_and_nothing_is_sent(
    store: Store, receiver: Receiver, host: str, reason: str
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    url = f"http://{host}:{receiver.port}/hook"
    record = await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", url)
    event = {"eventType": "EquipmentCreated", "companyId": tenant.company_id, "id": "x"}
    event["businessUnitId"] = BU
    async with engine.running_worker(store, timeout=2.0, policy=POLICY, guard=Guard()):
        published = await engine.events(store).publish("setups", event, publisher_id="p")

        async def stopped() -> bool:
            return (await tenancy.subscription_status(store, record))[0] == "Stopped"

        await engine.eventually(stopped, what="the record Stopped after refused tries")
    service = DeliveryService(store)
    (listed,) = await service.list(OPERATOR, event_id=published.event_id)
    detail = await service.get(OPERATOR, listed.delivery.id)
    assert len(detail.attempts) == 5
    for attempt in detail.attempts:
        assert attempt.outcome is models.Outcome.ADDRESS_NOT_ALLOWED
        assert attempt.error is not None
        assert attempt.error.startswith("address not allowed: ")
        assert reason in attempt.error
    assert receiver.requests == []
