"""Nothing halts the queue: a delivery that cannot be prepared, or whose try raises inside the
worker, fails alone as a recorded try with its reason, and every other delivery keeps flowing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import update

from hookyard import models, retry
from hookyard.delivery import sender as sending
from hookyard.services.deliveries import DeliveryService
from hookyard.store import Store, schema
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR
from tests.support.receiver import Receiver

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
ONE_TRY = retry.Policy(max_attempts=1)
FAILED = models.DeliveryState.FAILED
HELD = models.DeliveryState.HELD


def _event(company_id: str, item: str) -> dict[str, str]:
    return {
        "eventType": "EquipmentCreated",
        "companyId": company_id,
        "businessUnitId": BU,
        "id": item,
    }


async def _two_records(store: Store, receiver: Receiver) -> tuple[tenancy.Tenant, str, str]:
    tenant = await tenancy.add_tenant(store)
    healthy = await tenancy.subscribe(
        store, tenant, "setups", "EquipmentCreated", receiver.url("/healthy")
    )
    poisoned = await tenancy.subscribe(
        store, tenant, "setups", "EquipmentCreated", receiver.url("/poisoned")
    )
    return tenant, healthy, poisoned


async def test_a_secret_that_does_not_unseal_fails_its_try_alone(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, healthy, poisoned = await _two_records(store, receiver)
    # As after a restore with the wrong key: sealed with a key this deployment does not have.
    async with store.db.write() as connection:
        table = schema.subscriptions
        await connection.execute(
            update(table).where(table.c.id == poisoned).values(secret_key="hy1:gone:AAAA")
        )
    events = [_event(tenant.company_id, str(i)) for i in range(20)]
    service = DeliveryService(store)
    with caplog.at_level(logging.INFO, logger="hookyard.delivery"):
        async with engine.running_worker(store, policy=ONE_TRY):
            await engine.events(store).publish_many("setups", events, publisher_id="p")
            await receiver.wait_for(
                lambda: len(receiver.posts("/healthy")) == 20, what="the healthy deliveries"
            )

            async def poisoned_settled() -> bool:
                records = await service.list(OPERATOR, limit=100)
                poisoned_states = {
                    r.delivery.state for r in records if r.delivery.subscription_id == poisoned
                }
                # The first failure Stops the record: tries already claimed fail too, the rest
                # are held.
                return FAILED in poisoned_states and poisoned_states <= {FAILED, HELD}

            await engine.eventually(poisoned_settled, what="the poisoned record Stopped")
    assert receiver.posts("/poisoned") == []
    for record in await service.list(OPERATOR, limit=100):
        detail = await service.get(OPERATOR, record.delivery.id)
        if record.delivery.subscription_id == healthy:
            assert [a.outcome for a in detail.attempts] == [models.Outcome.SUCCESS]
        elif record.delivery.state is FAILED:
            (attempt,) = detail.attempts
            assert attempt.outcome is models.Outcome.NOT_SENT
            assert attempt.error is not None
            assert "HOOKYARD_SECRET_KEY" in attempt.error
    status, reason = await tenancy.subscription_status(store, poisoned)
    assert status == "Stopped"
    assert reason is not None
    assert "not_sent" in reason
    prepare_lines = [r for r in caplog.records if "could not be prepared" in r.getMessage()]
    assert len(prepare_lines) == 1


class _RaisingFor(sending.Sender):
    """The real sender, except that a try to `path` raises inside the worker (a bug's stand-in)."""

    def __init__(self, inner: sending.Sender, path: str) -> None:
        self._inner = inner
        self._path = path

    async def send(self, request: sending.Request) -> sending.Result:
        if request.url.endswith(self._path):
            raise RuntimeError("a bug in the try")
        return await self._inner.send(request)


async def test_a_try_that_raises_is_recorded_and_gives_its_lease_back(
    store: Store, receiver: Receiver
) -> None:
    tenant, healthy, broken = await _two_records(store, receiver)
    service = DeliveryService(store)
    events = [_event(tenant.company_id, str(i)) for i in range(5)]
    async with engine.running_worker(store, policy=ONE_TRY) as worker:
        worker._sender = _RaisingFor(worker._sender, "/poisoned")
        await engine.events(store).publish_many("setups", events, publisher_id="p")

        async def all_done() -> bool:
            records = await service.list(OPERATOR, limit=100)
            return len(records) == 10 and all(
                r.delivery.state in {models.DeliveryState.SUCCEEDED, FAILED, HELD} for r in records
            )

        await engine.eventually(all_done, what="every try ended")
    records = await service.list(OPERATOR, limit=100)
    states = {(r.delivery.subscription_id, r.delivery.state) for r in records}
    assert states == {
        (healthy, models.DeliveryState.SUCCEEDED),
        (broken, models.DeliveryState.FAILED),
    }
    detail = await service.get(
        OPERATOR, next(r for r in records if r.delivery.subscription_id == broken).delivery.id
    )
    assert detail.attempts[0].error is not None
    assert "a bug in the try" in detail.attempts[0].error
