"""Failing callbacks: five tries then Stopped, on schedule; held deliveries recovered; isolation."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from hookyard import errors, models, retry
from hookyard.clock import utcnow
from hookyard.services.deliveries import DeliveryService
from hookyard.store import Store
from hookyard.store.queue import Claimed
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Behaviour, Receiver

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
POLICY = retry.Policy(base_seconds=0.1, factor=2.0, jitter=0.2)
SLACK_SECONDS = 2.0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _event(company_id: str, item: str = "x") -> dict[str, str]:
    return {
        "eventType": "EquipmentCreated",
        "companyId": company_id,
        "businessUnitId": BU,
        "id": item,
    }


async def test_five_failures_of_every_kind_stop_the_record(
    store: Store, receiver: Receiver
) -> None:
    kinds = {
        "/500": Behaviour(status=500),
        "/404": Behaviour(status=404),
        "/302": Behaviour(status=302, headers={"Location": "/elsewhere"}),
        "/timeout": Behaviour(blackhole=True),
        "/reset": Behaviour(reset=True),
    }
    urls = {path: receiver.url(path) for path in kinds}
    urls["refused"] = f"http://127.0.0.1:{_closed_port()}/hook"
    for path, behaviour in kinds.items():
        receiver.answer(path, behaviour)
    tenant = await tenancy.add_tenant(store, unit=BU)
    records = {
        kind: await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", url)
        for kind, url in urls.items()
    }
    service = DeliveryService(store)
    async with engine.running_worker(store, timeout=0.3, policy=POLICY):
        published = await engine.events(store).publish(
            "setups", _event(tenant.company_id), publisher_id="p"
        )
        assert published.deliveries == len(urls)

        async def all_stopped() -> bool:
            statuses = [await tenancy.subscription_status(store, r) for r in records.values()]
            return all(status == "Stopped" for status, _ in statuses)

        await engine.eventually(all_stopped, what="every record Stopped")
    for path in kinds:
        assert len(receiver.posts(path)) == 5, path
    assert receiver.received(path="/elsewhere") == []
    for record in await service.list(OPERATOR, event_id=published.event_id):
        assert record.delivery.state is models.DeliveryState.FAILED
        detail = await service.get(OPERATOR, record.delivery.id)
        assert [a.number for a in detail.attempts] == [1, 2, 3, 4, 5]
        assert all(a.outcome is not models.Outcome.SUCCESS for a in detail.attempts)
        _assert_schedule(detail.attempts)
        status, reason = await tenancy.subscription_status(
            store, records_by_url(records, urls, record.callback_url)
        )
        assert status == "Stopped"
        assert reason is not None
        assert reason.startswith("5 tries failed")


def records_by_url(records: dict[str, str], urls: dict[str, str], url: str) -> str:
    (kind,) = [k for k, u in urls.items() if u == url]
    return records[kind]


def _assert_schedule(attempts: tuple[models.Attempt, ...]) -> None:
    for before, after in itertools.pairwise(attempts):
        ended = before.started_at + timedelta(milliseconds=before.duration_ms)
        waited = (after.started_at - ended).total_seconds()
        nominal = POLICY.backoff(before.number)
        assert waited >= nominal * (1 - POLICY.jitter) - 0.01, (before.number, waited)
        assert waited <= nominal * (1 + POLICY.jitter) + SLACK_SECONDS, (before.number, waited)


async def test_reactivate_and_recover_delivers_the_held_ones(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    record = await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", receiver.url())
    receiver.answer("/hook", Behaviour(status=503, body="maintenance"))
    since = utcnow()
    publisher = engine.events(store)
    service = DeliveryService(store)
    async with engine.running_worker(store, policy=POLICY):
        await publisher.publish("setups", _event(tenant.company_id, "first"), publisher_id="p")
        await receiver.wait_for(lambda: len(receiver.posts()) >= 3, what="three failed tries")
        for item in ("a", "b", "c"):
            await publisher.publish("setups", _event(tenant.company_id, item), publisher_id="p")

        async def stopped() -> bool:
            return (await tenancy.subscription_status(store, record))[0] == "Stopped"

        await engine.eventually(stopped, what="the record Stopped")

        async def settled() -> bool:
            states = set((await tenancy.delivery_states(store)).values())
            return not states & {"pending", "in_flight"}

        # tries of a, b and c already in flight when the record stopped finish, then are held
        await engine.eventually(settled, what="the tries in flight to finish")
        states = sorted((await tenancy.delivery_states(store)).values())
        assert states == ["failed", "held", "held", "held"]
        assert await service.recover(integrator(tenant.client_id), receiver.url(), since) == 0
        await tenancy.reactivate(store, record)
        receiver.answer("/hook", Behaviour(status=200))
        tried = len(receiver.posts())
        assert await service.recover(integrator(tenant.client_id), receiver.url(), since) == 4

        async def all_delivered() -> bool:
            return set((await tenancy.delivery_states(store)).values()) == {"succeeded"}

        await engine.eventually(all_delivered, what="recovered deliveries delivered")
    after = receiver.posts()[tried:]
    ids = {r.headers["webhook-id"] for r in after}
    assert ids == set(await tenancy.delivery_states(store))
    items = sorted(r.body.decode().split('"id":"')[1].split('"')[0] for r in after)
    assert items == ["a", "b", "c", "first"]


async def test_recover_and_redeliver_refuse_what_they_cannot_do(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    other = await tenancy.add_tenant(store)
    record = await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", receiver.url())
    published = await engine.events(store).publish(
        "setups", _event(tenant.company_id), publisher_id="p"
    )
    service = DeliveryService(store)
    (delivery,) = await service.list(integrator(tenant.client_id), event_id=published.event_id)
    assert await service.list(integrator(other.client_id)) == []
    with pytest.raises(errors.NotFound):
        await service.get(integrator(other.client_id), delivery.delivery.id)
    with pytest.raises(errors.NotFound):
        await service.redeliver(integrator(other.client_id), delivery.delivery.id)
    with pytest.raises(errors.InvalidInput, match="state"):
        await service.list(OPERATOR, state="bogus")
    with pytest.raises(errors.InvalidInput, match="since"):
        await service.recover(OPERATOR, receiver.url(), since=utcnow().replace(tzinfo=None))
    await tenancy.set_status(store, record, "Stopped")
    with pytest.raises(errors.Conflict, match="reactivate"):
        await service.redeliver(integrator(tenant.client_id), delivery.delivery.id)


async def test_redeliver_sends_a_delivered_event_again(store: Store, receiver: Receiver) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", receiver.url())
    service = DeliveryService(store)
    async with engine.running_worker(store, policy=POLICY):
        published = await engine.events(store).publish(
            "setups", _event(tenant.company_id), publisher_id="p"
        )
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="first delivery")
        (record,) = await service.list(integrator(tenant.client_id), event_id=published.event_id)

        async def succeeded() -> bool:
            return (
                await service.get(OPERATOR, record.delivery.id)
            ).delivery.state.value == "succeeded"

        await engine.eventually(succeeded, what="success recorded")
        again = await service.redeliver(integrator(tenant.client_id), record.delivery.id)
        # Queued again: pending, unless the in-process worker (woken by the redeliver) has
        # already taken or even finished it by the time the record is read back.
        assert again.delivery.id == record.delivery.id
        assert again.delivery.state is not models.DeliveryState.FAILED
        await receiver.wait_for(lambda: len(receiver.posts()) == 2, what="the redelivery")

        async def tried_twice() -> bool:
            return len((await service.get(OPERATOR, record.delivery.id)).attempts) == 2

        await engine.eventually(tried_twice, what="the second try recorded")
    first, second = receiver.posts()
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == record.delivery.id


async def test_a_blackhole_host_does_not_hold_up_the_healthy_ones(store: Store) -> None:
    healthy = [await Receiver.start() for _ in range(20)]
    blackhole = await Receiver.start()
    blackhole.answer("/hook", Behaviour(blackhole=True))
    try:
        tenant = await tenancy.add_tenant(store, unit=BU)
        for target in [*healthy, blackhole]:
            await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", target.url())
        events = [_event(tenant.company_id, str(i)) for i in range(25)]
        async with engine.running_worker(
            store, timeout=10.0, global_concurrency=64, shutdown_grace_seconds=0.2
        ):
            await engine.events(store).publish_many("setups", events, publisher_id="p")
            await healthy[0].wait_for(
                lambda: all(len(r.posts()) == 25 for r in healthy), timeout=60, what="healthy hosts"
            )
            service = DeliveryService(store)

            async def healthy_recorded() -> bool:
                done = await service.list(OPERATOR, state="succeeded", limit=1000)
                return len(done) == 500

            await engine.eventually(healthy_recorded, what="healthy deliveries recorded")
            stuck = await service.list(OPERATOR, callback_url=blackhole.url(), limit=1000)
            assert len(stuck) == 25
            assert all(r.delivery.attempts == 0 for r in stuck)
            assert {r.delivery.state.value for r in stuck} <= {"pending", "in_flight"}
            assert 1 <= len(blackhole.posts()) <= 8
    finally:
        for target in [*healthy, blackhole]:
            await target.stop()


@asynccontextmanager
async def _blackhole_backlog(
    store: Store, count: int
) -> AsyncIterator[tuple[Receiver, list[dict[str, str]]]]:
    """A record whose callback never answers, and `count` events for it (not yet published)."""
    blackhole = await Receiver.start()
    blackhole.answer("/hook", Behaviour(blackhole=True))
    try:
        tenant = await tenancy.add_tenant(store, unit=BU)
        await tenancy.subscribe(store, tenant, "setups", "EquipmentCreated", blackhole.url())
        yield blackhole, [_event(tenant.company_id, str(i)) for i in range(count)]
    finally:
        await blackhole.stop()


async def _in_flight(store: Store, count: int) -> bool:
    return len(await DeliveryService(store).list(OPERATOR, state="in_flight", limit=100)) == count


async def test_a_host_gets_at_most_its_lanes_and_a_stop_returns_every_lease(store: Store) -> None:
    """Per-host concurrency 3, claims of 2: three tries in flight to a host that never answers,
    three more claimed behind them (twice the limit in hand), the rest left in the queue; a stop
    with a short grace returns all six leases at once, untried: none waits for its lease to expire.
    """
    async with _blackhole_backlog(store, 10) as (blackhole, events):
        async with engine.running_worker(
            store,
            timeout=30.0,
            per_host_concurrency=3,
            claim_batch=2,
            shutdown_grace_seconds=0.1,
        ):
            await engine.events(store).publish_many("setups", events, publisher_id="p")
            await blackhole.wait_for(lambda: len(blackhole.posts()) == 3, what="three tries")
            await engine.eventually(lambda: _in_flight(store, 6), what="six deliveries claimed")
        assert len(blackhole.posts()) == 3
        records = await DeliveryService(store).list(OPERATOR, limit=100)
        assert len(records) == 10
        assert {r.delivery.state.value for r in records} == {"pending"}
        assert all(r.delivery.attempts == 0 for r in records)


async def test_a_worker_whose_hosts_are_full_waits_instead_of_claiming_in_a_loop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries of a full host are due but not claimable: the worker must sleep until the host
    has room, not loop on empty claims (which, on SQLite, also take the write lock each time)."""
    claims: list[int] = []
    claim = store.queue.claim

    async def counted(*args: Any, **kwargs: Any) -> list[Claimed]:
        claims.append(1)
        return await claim(*args, **kwargs)

    monkeypatch.setattr(store.queue, "claim", counted)
    async with (
        _blackhole_backlog(store, 10) as (blackhole, events),
        engine.running_worker(
            store,
            timeout=30.0,
            per_host_concurrency=2,
            claim_batch=1,
            poll_interval_seconds=30.0,
            shutdown_grace_seconds=0.1,
        ),
    ):
        await engine.events(store).publish_many("setups", events, publisher_id="p")
        await blackhole.wait_for(lambda: len(blackhole.posts()) == 2, what="two tries")
        await engine.eventually(
            lambda: _in_flight(store, 4), what="the host full (twice its lanes)"
        )
        before = len(claims)
        # An observation window, not synchronisation: a claim loop would make hundreds.
        await asyncio.sleep(0.5)
        assert len(claims) - before <= 1
