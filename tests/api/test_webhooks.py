"""The Webhooks API's happy paths for every product, on both databases, through the real app and a
real receiver answering the challenge."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hookyard import ids, models
from hookyard.cli.runtime import Runtime
from tests.support.receiver import Receiver
from tests.support.webhooks import KEY, TYPES, caller, records, statuses

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ORDER = {
    "precon": ["companyId", "businessUnitId", "eventType", "callbackUrl", "dateCreated"],
    "setups": ["companyId", "eventType", "callbackUrl", "dateCreated"],
    "heavyjob": ["companyId", "eventType", "callbackUrl", "dateCreated"],
}
TAIL = ["clientId", "status", "secretKey", "id"]


@pytest.mark.parametrize("product", ["precon", "setups", "heavyjob"])
async def test_subscribe_list_update_delete(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, product: str
) -> None:
    me = await caller(api, runtime)
    path, url = me.path(product), receiver.url("/hook")
    created = await api.post(
        path, json={"url": url, "eventTypes": TYPES[product]}, headers=me.headers
    )
    assert created.status_code == 200, created.text
    key = created.json()["secretKey"]
    assert list(created.json()) == ["secretKey"]
    assert len(key) == 44
    assert len(base64.b64decode(key, validate=True)) == 32
    challenges = receiver.received("GET", "/hook")
    assert len(challenges) == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", challenges[0].query["challenge"])

    listed = (await api.get(path, headers=me.headers)).json()
    assert [r["eventType"] for r in listed] == sorted(TYPES[product])
    for item in listed:
        assert list(item) == ORDER[product] + TAIL
        assert ISO_Z.match(item["dateCreated"])
        assert item["companyId"] == me.tenant.company.id
        assert item["callbackUrl"] == url
        assert (item["clientId"], item["status"], item["secretKey"]) == (
            me.client_id,
            "Active",
            key,
        )
        assert ids.is_guid(item["id"])
    if product == "precon":
        assert {r["businessUnitId"] for r in listed} == {me.unit}
    if product == "heavyjob":
        assert all("jobId" not in r for r in listed)

    kept, dropped = TYPES[product][1], TYPES[product][0]
    updated = await api.put(path, json={"url": url, "eventTypes": [kept]}, headers=me.headers)
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"secretKey": key}
    assert [r["eventType"] for r in (await api.get(path, headers=me.headers)).json()] == [kept]
    assert statuses(await records(runtime, me.client_id)) == {
        (kept, None): "Active",
        (dropped, None): "Deleted",
    }

    deleted = await api.delete(path, params={"url": url}, headers=me.headers)
    assert deleted.status_code == 200
    assert deleted.content == b""
    assert (await api.get(path, headers=me.headers)).json() == []
    again = await api.delete(path, params={"url": url}, headers=me.headers)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"


async def test_post_adds_event_types_and_keeps_the_key(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    path, url = me.path("setups"), receiver.url()
    first = await api.post(
        path, json={"url": url, "eventTypes": ["EmployeeCreated"]}, headers=me.headers
    )
    second = await api.post(
        path,
        json={"url": url, "eventTypes": ["EmployeeCreated", "EquipmentUpdated"]},
        headers=me.headers,
    )
    assert first.json() == second.json()
    listed = (await api.get(path, headers=me.headers)).json()
    assert [r["eventType"] for r in listed] == ["EmployeeCreated", "EquipmentUpdated"]
    assert {r["secretKey"] for r in listed} == {first.json()["secretKey"]}
    assert len(receiver.received("GET")) == 2


async def test_a_supplied_key_replaces_the_url_key_and_the_old_one_overlaps(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    path, url = me.path("precon"), receiver.url()
    old = (
        await api.post(
            path, json={"url": url, "eventTypes": ["ProjectCreated"]}, headers=me.headers
        )
    ).json()["secretKey"]
    before = datetime.now(UTC)
    response = await api.post(
        path,
        json={"url": url, "eventTypes": ["SchemaChanged"], "secretKey": f"whsec_{KEY}"},
        headers=me.headers,
    )
    assert response.json() == {"secretKey": KEY}
    stored = await records(runtime, me.client_id)
    assert {r.secret_key for r in stored} == {KEY}
    assert {r.previous_secret_key for r in stored} == {old}
    for record in stored:
        assert record.previous_secret_until is not None
        overlap = record.previous_secret_until - before
        assert timedelta(hours=23, minutes=59) < overlap < timedelta(hours=24, minutes=1)
    same = await api.put(
        path, json={"url": url, "eventTypes": ["SchemaChanged"]}, headers=me.headers
    )
    assert same.json() == {"secretKey": KEY}


async def test_post_reactivates_stopped_and_named_deleted_records(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    path, url = me.path("precon"), receiver.url()
    types = ["ProjectCreated", "ProjectChanged", "ProjectDeleted"]
    await api.post(path, json={"url": url, "eventTypes": types}, headers=me.headers)
    by_type = {r.event_type: r for r in await records(runtime, me.client_id)}
    created, changed, deleted = (by_type[name] for name in types)
    later = datetime.now(UTC)
    await runtime.store.subscriptions.save(
        [],
        [
            dataclasses.replace(
                changed, status=models.SubscriptionStatus.STOPPED, stop_reason="5 tries failed"
            ),
            dataclasses.replace(deleted, status=models.SubscriptionStatus.DELETED),
        ],
        client_limit=100,
    )
    listed = (await api.get(path, headers=me.headers)).json()
    assert {r["eventType"]: r["status"] for r in listed} == {
        "ProjectCreated": "Active",
        "ProjectChanged": "Stopped",
    }

    response = await api.post(
        path, json={"url": url, "eventTypes": ["ProjectDeleted"]}, headers=me.headers
    )
    assert response.status_code == 200, response.text
    after = {r.event_type: r for r in await records(runtime, me.client_id)}
    assert {name: r.status.value for name, r in after.items()} == dict.fromkeys(types, "Active")
    assert after["ProjectChanged"].stop_reason is None
    assert after["ProjectChanged"].status_changed_at >= later
    assert after["ProjectCreated"].date_created == created.date_created


async def test_put_on_an_unknown_url_acts_as_post(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    response = await api.put(
        me.path("setups"),
        json={"url": receiver.url(), "eventTypes": ["LocationCreated"]},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    assert statuses(await records(runtime, me.client_id)) == {("LocationCreated", None): "Active"}


async def test_heavyjob_makes_one_record_per_event_type_and_job(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    path, url = me.path("heavyjob"), receiver.url()
    jobs = [ids.guid(), ids.guid().upper()]
    body = {"url": url, "eventTypes": ["CostCodeCreated", "CostCodeUpdated"], "jobIds": jobs}
    assert (await api.post(path, json=body, headers=me.headers)).status_code == 200
    listed = (await api.get(path, headers=me.headers)).json()
    lower = [job.lower() for job in jobs]
    assert sorted((r["eventType"], r["jobId"]) for r in listed) == sorted(
        (t, j) for t in body["eventTypes"] for j in lower
    )
    replaced = {"url": url, "eventTypes": ["CostCodeCreated"], "jobIds": [jobs[0]]}
    assert (await api.put(path, json=replaced, headers=me.headers)).status_code == 200
    listed = (await api.get(path, headers=me.headers)).json()
    assert [(r["eventType"], r["jobId"]) for r in listed] == [("CostCodeCreated", lower[0])]
    everything = {"url": url, "eventTypes": ["CostCodeDeleted"], "jobIds": None}
    assert (await api.post(path, json=everything, headers=me.headers)).status_code == 200
    listed = (await api.get(path, headers=me.headers)).json()
    assert ("CostCodeDeleted", None) in [(r["eventType"], r.get("jobId")) for r in listed]


async def test_the_challenge_keeps_the_url_query_and_is_new_each_time(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    url = receiver.url("/hook") + "?tenant=a%20b&x=1"
    value_holder: list[str] = []
    response = await api.post(
        me.path("setups"), json={"url": url, "eventTypes": ["EmployeeCreated"]}, headers=me.headers
    )
    assert response.status_code == 200, response.text
    first = receiver.received("GET", "/hook")[0]
    assert first.query["tenant"] == "a b"
    assert first.query["x"] == "1"
    value_holder.append(first.query["challenge"])
    await api.post(
        me.path("setups"), json={"url": url, "eventTypes": ["EmployeeCreated"]}, headers=me.headers
    )
    second = receiver.received("GET", "/hook")[1]
    assert second.query["challenge"] != value_holder[0]
    assert (await api.get(me.path("setups"), headers=me.headers)).json()[0]["callbackUrl"] == url


async def test_get_lists_only_the_callers_records_of_that_business_unit(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me, other = await caller(api, runtime), await caller(api, runtime, "Other Co")
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"]}
    assert (await api.post(me.path("precon"), json=body, headers=me.headers)).status_code == 200
    assert (
        await api.post(other.path("precon"), json=body, headers=other.headers)
    ).status_code == 200
    second_unit = me.tenant.units[1].id
    assert (await api.get(me.path("precon", second_unit), headers=me.headers)).json() == []
    mine = (await api.get(me.path("precon"), headers=me.headers)).json()
    assert [r["clientId"] for r in mine] == [me.client_id]
    assert (await api.get(me.path("setups"), headers=me.headers)).json() == []


async def test_openapi_carries_the_hcss_operation_ids_and_tags(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    found = {
        operation["operationId"]: (path, method, operation["tags"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/webhooks/")
    }
    expected = {}
    for prefix, tag, path in (
        ("PreCon", "HeavyBid Pre-Construction", "/webhooks/api/v1/precon/{businessUnitId}"),
        ("Setups", "Setups", "/webhooks/api/v1/setups"),
        ("HeavyJob", "HeavyJob", "/webhooks/api/v1/heavyjob"),
    ):
        for name, method in (
            ("GetWebhooks", "get"),
            ("CreateSubscription", "post"),
            ("UpdateSubscription", "put"),
            ("DeleteSubscription", "delete"),
        ):
            expected[f"{prefix}_{name}"] = (path, method, [tag])
    assert found == expected
    schemas = document["components"]["schemas"]
    body = schemas["HeavyJobSubscriptionRequest"]["properties"]
    # HCSS's fields, and Hookyard's one optional addition (autoReactivate, docs/stopped.md)
    assert [name for name in body if name != "autoReactivate"] == [
        "url",
        "eventTypes",
        "secretKey",
        "jobIds",
    ]
    assert "autoReactivate" not in schemas["HeavyJobSubscriptionRequest"].get("required", [])
    assert schemas["HeavyJobSubscriptionRequest"]["additionalProperties"] is False
    assert list(schemas["PreConSubscription"]["properties"]) == ORDER["precon"] + TAIL
