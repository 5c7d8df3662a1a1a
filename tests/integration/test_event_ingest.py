"""Publishing: validation against the catalog, matching, idempotency, all-or-nothing ingest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hookyard import errors, models
from hookyard.store import Store, schema
from hookyard.store.queue import NewEvent
from tests.support import engine, tenancy

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
OTHER_BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0002"
JOB = "a5f3c0de-1111-4a4a-8b8b-000000000001"
OTHER_JOB = "a5f3c0de-1111-4a4a-8b8b-000000000002"
URL = "https://callback.example/hook"


async def _count(store: Store, table: Any) -> int:
    async with store.db.read() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def _deliveries_by_subscription(store: Store) -> dict[str, int]:
    table = schema.deliveries
    async with store.db.read() as connection:
        statement = select(table.c.subscription_id, func.count()).group_by(table.c.subscription_id)
        return {row[0]: row[1] for row in await connection.execute(statement)}


def precon(company: str, bu: str = BU, event_type: str = "ProjectCreated") -> dict[str, str]:
    return {"eventType": event_type, "companyId": company, "businessUnitId": bu, "projectId": "p-1"}


def heavyjob(company: str, job: str) -> dict[str, str]:
    return {"eventType": "CostCodeCreated", "companyId": company, "jobId": job, "costCodeId": "c-1"}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"companyId": "c", "businessUnitId": BU, "projectId": "p"}, "eventType"),
        (
            {"eventType": "Nope", "companyId": "c", "businessUnitId": BU, "projectId": "p"},
            "eventType",
        ),
        ({"eventType": "ProjectCreated", "businessUnitId": BU, "projectId": "p"}, "companyId"),
        ({"eventType": "ProjectCreated", "companyId": "c", "projectId": "p"}, "businessUnitId"),
        ({"eventType": "ProjectCreated", "companyId": "c", "businessUnitId": BU}, "projectId"),
        (
            {
                "eventType": "SchemaChanged",
                "companyId": "c",
                "businessUnitId": BU,
                "projectId": "p",
            },
            "schemaId",
        ),
        ({**precon("c"), "projectId": 5}, "projectId"),
        ({**precon("c"), "projectId": " "}, "projectId"),
        ({**precon("c"), "extra": "x"}, "extra"),
        ({**precon("c"), "businessUnitId": "b" * 65}, "businessUnitId"),
        ({**precon("c"), "companyId": "c" * 37}, "companyId"),
    ],
)
async def test_a_bad_event_is_refused_and_changes_nothing(
    store: Store, event: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        await engine.events(store).publish("precon", event, publisher_id="pub")
    assert field in caught.value.errors
    assert await _count(store, schema.events) == 0


async def test_an_unknown_product_is_not_found(store: Store) -> None:
    with pytest.raises(errors.NotFound, match="use one of"):
        await engine.events(store).publish("nope", precon("c"), publisher_id="pub")


async def test_a_batch_with_one_bad_event_stores_none(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    batch = [precon(tenant.company_id), {**precon(tenant.company_id), "projectId": None}]
    with pytest.raises(errors.InvalidInput) as caught:
        await engine.events(store).publish_many("precon", batch, publisher_id="pub")
    assert list(caught.value.errors) == ["[1].projectId"]
    assert await _count(store, schema.events) == 0
    assert await _count(store, schema.deliveries) == 0


async def test_batch_limits(store: Store) -> None:
    service = engine.events(store)
    with pytest.raises(errors.InvalidInput, match="non-empty"):
        await service.publish_many("precon", [], publisher_id="pub")
    with pytest.raises(errors.InvalidInput, match="at most 1000"):
        await service.publish_many("precon", [precon("c")] * 1001, publisher_id="pub")


async def test_an_ingest_that_fails_halfway_leaves_nothing(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    good = NewEvent("precon", "ProjectCreated", tenant.company_id, BU, "", b"{}", "pub")
    # A body of None on purpose: the NOT NULL column fails the ingest at its second row.
    broken = NewEvent("precon", "ProjectCreated", tenant.company_id, BU, "", None, "pub")  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"(?i)null"):
        await store.queue.ingest([good, broken], engine.utcnow())
    assert await _count(store, schema.events) == 0
    assert await _count(store, schema.deliveries) == 0


async def test_the_same_idempotency_key_makes_one_event(store: Store) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    service = engine.events(store)
    first = await service.publish(
        "precon", precon(tenant.company_id), publisher_id="pub", idempotency_key="k1"
    )
    again = await service.publish(
        "precon", precon(tenant.company_id), publisher_id="pub", idempotency_key="k1"
    )
    other_publisher = await service.publish(
        "precon", precon(tenant.company_id), publisher_id="pub2", idempotency_key="k1"
    )
    assert (first.deliveries, first.duplicate) == (1, False)
    assert (again.event_id, again.deliveries, again.duplicate) == (first.event_id, 0, True)
    assert other_publisher.event_id != first.event_id
    assert await _count(store, schema.events) == 2
    assert await _count(store, schema.deliveries) == 2


async def test_a_batch_repeated_with_its_key_makes_no_new_events(store: Store) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    service = engine.events(store)
    batch = [precon(tenant.company_id), precon(tenant.company_id, event_type="ProjectChanged")]
    first = await service.publish_many("precon", batch, publisher_id="pub", idempotency_key="b")
    again = await service.publish_many("precon", batch, publisher_id="pub", idempotency_key="b")
    assert [p.event_id for p in again] == [p.event_id for p in first]
    assert all(p.duplicate for p in again)
    assert await _count(store, schema.events) == 2


async def test_precon_matches_company_business_unit_and_event_type(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    other = await tenancy.add_tenant(store)
    await tenancy.add_unit(store, tenant, BU)
    sub = tenancy.subscribe
    wanted = await sub(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    await sub(store, tenant, "precon", "ProjectCreated", URL, partition=OTHER_BU)
    await sub(store, tenant, "precon", "ProjectChanged", URL, partition=BU)
    await sub(store, other, "precon", "ProjectCreated", URL, partition=BU)
    await sub(store, tenant, "setups", "ProjectCreated", URL)
    stopped = models.SubscriptionStatus.STOPPED
    deleted = models.SubscriptionStatus.DELETED
    held = await sub(
        store, tenant, "precon", "ProjectCreated", URL + "/s", partition=BU, status=stopped
    )
    await sub(store, tenant, "precon", "ProjectCreated", URL + "/d", partition=BU, status=deleted)
    published = await engine.events(store).publish(
        "precon", precon(tenant.company_id), publisher_id="pub"
    )
    assert published.deliveries == 2
    assert await _deliveries_by_subscription(store) == {wanted: 1, held: 1}
    states = set((await tenancy.delivery_states(store)).values())
    assert states == {"pending", "held"}


async def test_setups_matches_company_and_event_type(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    other = await tenancy.add_tenant(store)
    wanted = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", URL)
    await tenancy.subscribe(store, tenant, "setups", "EmployeeUpdated", URL)
    await tenancy.subscribe(store, other, "setups", "EmployeeCreated", URL)
    event = {
        "eventType": "EmployeeCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "id": "e1",
    }
    published = await engine.events(store).publish("setups", event, publisher_id="pub")
    assert published.deliveries == 1
    assert await _deliveries_by_subscription(store) == {wanted: 1}


async def test_heavyjob_matches_all_jobs_or_the_events_job(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    all_jobs = await tenancy.subscribe(store, tenant, "heavyjob", "CostCodeCreated", URL)
    this_job = await tenancy.subscribe(
        store, tenant, "heavyjob", "CostCodeCreated", URL + "/j", filter_value=JOB
    )
    await tenancy.subscribe(
        store, tenant, "heavyjob", "CostCodeCreated", URL + "/o", filter_value=OTHER_JOB
    )
    await tenancy.subscribe(store, tenant, "heavyjob", "CostCodeDeleted", URL)
    published = await engine.events(store).publish(
        "heavyjob", heavyjob(tenant.company_id, JOB), publisher_id="pub"
    )
    assert published.deliveries == 2
    assert await _deliveries_by_subscription(store) == {all_jobs: 1, this_job: 1}
