"""The worker end to end: real receivers, real databases, signed HCSS payloads, retries, Stop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import standardwebhooks
import svix.webhooks

from hookyard import catalog, config, signing
from hookyard.services.deliveries import DeliveryService
from hookyard.store import Store
from tests.support import engine, tenancy
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Behaviour, Receiver

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
JOB = "a5f3c0de-1111-4a4a-8b8b-000000000001"


def _verify(secret: str, received: bytes, headers: dict[str, str]) -> None:
    standardwebhooks.Webhook(secret).verify(received, headers)
    svix.webhooks.Webhook("whsec_" + secret).verify(received, headers)


async def _publish_and_receive(
    store: Store,
    receiver: Receiver,
    product: str,
    event_type: str,
    fields: dict[str, str],
    *,
    partition: str = "",
    filter_value: str = "",
) -> tuple[bytes, str]:
    tenant = await tenancy.add_tenant(store, unit=BU)
    secret = signing.generate_secret()
    await tenancy.subscribe(
        store,
        tenant,
        product,
        event_type,
        receiver.url(),
        secret=secret,
        partition=partition,
        filter_value=filter_value,
    )
    event = {"eventType": event_type, "companyId": tenant.company_id, **fields}
    async with engine.running_worker(store):
        await engine.events(store).publish(product, event, publisher_id="pub")
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="one delivery")
    (got,) = receiver.posts()
    _verify(secret, got.body, got.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.generate_secret()).verify(got.body, got.headers)
    assert got.headers["Content-Type"] == "application/json"
    return got.body, tenant.company_id


async def test_precon_payload_is_exact_and_verifies(store: Store, receiver: Receiver) -> None:
    fields = {"businessUnitId": BU, "projectId": "9d0b3f7e-0000-4000-8000-00000000abcd"}
    body, company = await _publish_and_receive(
        store, receiver, "precon", "ProjectChanged", fields, partition=BU
    )
    date = json.loads(body)["date"]
    assert date.endswith("Z")
    expected = (
        '{"eventSource":"HeavyBid Pre-Construction","eventType":"ProjectChanged",'
        f'"entityUrl":"{engine.BASE_URL}/precon/api/v1/businessUnits/{BU}/Projects/'
        '9d0b3f7e-0000-4000-8000-00000000abcd","version":"1",'
        f'"date":"{date}","data":{{"companyId":"{company}","businessUnitId":"{BU}",'
        '"projectId":"9d0b3f7e-0000-4000-8000-00000000abcd"}}'
    )
    assert body == expected.encode()


async def test_precon_schema_payload_points_at_the_schema(store: Store, receiver: Receiver) -> None:
    fields = {"businessUnitId": BU, "schemaId": "s-1"}
    body, company = await _publish_and_receive(
        store, receiver, "precon", "SchemaChanged", fields, partition=BU
    )
    payload = json.loads(body)
    assert payload["entityUrl"] == f"{engine.BASE_URL}/precon/api/v1/businessUnits/{BU}/Schemas/s-1"
    assert payload["data"] == {"companyId": company, "businessUnitId": BU, "schemaId": "s-1"}


async def test_setups_payload_is_exact_and_verifies(store: Store, receiver: Receiver) -> None:
    fields = {"businessUnitId": BU, "id": "e-42"}
    body, company = await _publish_and_receive(store, receiver, "setups", "EmployeeUpdated", fields)
    expected = (
        f'{{"companyId":"{company}","eventType":"EmployeeUpdated",'
        f'"businessUnitId":"{BU}","id":"e-42"}}'
    )
    assert body == expected.encode()


async def test_heavyjob_payload_is_exact_and_verifies(store: Store, receiver: Receiver) -> None:
    fields = {"jobId": JOB, "costCodeId": "cc-7"}
    body, company = await _publish_and_receive(
        store, receiver, "heavyjob", "CostCodeDeleted", fields, filter_value=JOB
    )
    expected = (
        f'{{"companyId":"{company}","eventType":"CostCodeDeleted",'
        f'"jobId":"{JOB}","costCodeId":"cc-7"}}'
    )
    assert body == expected.encode()


async def test_a_fourth_product_from_a_catalog_file_alone(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    extra = {
        "products": [
            {
                "key": "telematics",
                "name": "Telematics",
                "operation_prefix": "Telematics",
                "route": "telematics",
                "scope": "telematics:read",
                "partition": None,
                "filter": {
                    "body_field": "equipmentIds",
                    "record_field": "equipmentId",
                    "event_field": "equipmentId",
                },
                "payload": "flat",
                "event_types": {"ReadingCreated": {"fields": ["equipmentId", "readingId"]}},
            }
        ]
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(extra))
    settings = config.Settings(catalog_file=path, data_dir=tmp_path)
    products = catalog.load(settings.catalog_file)
    tenant = await tenancy.add_tenant(store, unit=BU)
    secret = signing.generate_secret()
    await tenancy.subscribe(
        store,
        tenant,
        "telematics",
        "ReadingCreated",
        receiver.url(),
        filter_value="eq-1",
        secret=secret,
    )
    service = engine.events(store, products)
    async with engine.running_worker(store):
        for equipment in ("eq-2", "eq-1"):
            event = {
                "eventType": "ReadingCreated",
                "companyId": tenant.company_id,
                "equipmentId": equipment,
                "readingId": "r",
            }
            await service.publish("telematics", event, publisher_id="pub")
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the matching reading")
    (got,) = receiver.posts()
    _verify(secret, got.body, got.headers)
    expected = (
        f'{{"companyId":"{tenant.company_id}","eventType":"ReadingCreated",'
        '"equipmentId":"eq-1","readingId":"r"}'
    )
    assert got.body == expected.encode()


async def test_500_then_200_is_one_delivery_with_two_attempts(
    store: Store, receiver: Receiver
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "setups", "LocationCreated", receiver.url())
    receiver.answer("/hook", Behaviour(status=500, body="down"), Behaviour(status=200, body="ok"))
    event = {
        "eventType": "LocationCreated",
        "companyId": tenant.company_id,
        "businessUnitId": BU,
        "id": "l",
    }
    async with engine.running_worker(store):
        published = await engine.events(store).publish("setups", event, publisher_id="pub")
        await receiver.wait_for(lambda: len(receiver.posts()) == 2, what="two tries")
        service = DeliveryService(store)
        await engine.eventually(
            lambda: _state_is(service, published.event_id, "succeeded"), what="success recorded"
        )
    (record,) = await service.list(OPERATOR, event_id=published.event_id)
    detail = await service.get(integrator(tenant.client_id), record.delivery.id)
    assert detail.delivery.attempts == 2
    assert [(a.number, a.status_code, a.response_body) for a in detail.attempts] == [
        (1, 500, "down"),
        (2, 200, "ok"),
    ]
    assert {r.headers["webhook-id"] for r in receiver.posts()} == {record.delivery.id}
    assert all(a.duration_ms > 0 for a in detail.attempts)


async def _state_is(service: DeliveryService, event_id: str, state: str) -> bool:
    records = await service.list(OPERATOR, event_id=event_id)
    return bool(records) and all(r.delivery.state.value == state for r in records)
