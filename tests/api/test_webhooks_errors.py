"""Bad input to the Webhooks API: each is a clear problem+json, nothing is stored and no challenge
is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hookyard import ids
from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, make_tenant, token
from tests.support.webhooks import Caller, app_with, caller, records

PROBLEM = "application/problem+json"
SHORT_KEY = "c2hvcnQ="  # 5 bytes
LONG_KEY = "QUFB" * 30  # 90 bytes
KEY_JOB = "8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f"


def _bad(receiver: Receiver) -> list[tuple[str, dict[str, Any], str, str]]:
    url = receiver.url()
    good = {"url": url, "eventTypes": ["ProjectCreated"]}
    return [
        ("precon", {"eventTypes": ["ProjectCreated"]}, "url", "is required"),
        ("precon", {"url": url}, "eventTypes", "is required"),
        ("precon", {**good, "callbackUrl": url}, "callbackUrl", "not a known field"),
        ("precon", {**good, "jobIds": [ids.guid()]}, "jobIds", "not a known field"),
        ("precon", {**good, "url": 5}, "url", "string"),
        ("precon", {**good, "eventTypes": "ProjectCreated"}, "eventTypes", "list"),
        ("precon", {**good, "eventTypes": [1]}, "eventTypes.0", "string"),
        ("precon", {**good, "secretKey": 7}, "secretKey", "string"),
        ("precon", {**good, "eventTypes": []}, "eventTypes", "at least one"),
        ("precon", {**good, "eventTypes": ["CostCodeCreated"]}, "eventTypes", "'CostCodeCreated'"),
        (
            "precon",
            {**good, "eventTypes": ["ProjectCreated", "ProjectCreated"]},
            "eventTypes",
            "more than once: ProjectCreated",
        ),
        ("setups", {**good, "eventTypes": ["ProjectCreated"]}, "eventTypes", "not Setups"),
        ("precon", {**good, "url": "ftp://example.com/x"}, "url", "http"),
        ("precon", {**good, "url": "/relative/path"}, "url", "absolute"),
        ("precon", {**good, "url": "http://user:pw@127.0.0.1/x"}, "url", "user-info"),
        ("precon", {**good, "url": "http://127.0.0.1/a b"}, "url", "spaces"),
        ("precon", {**good, "url": "https://e.com/" + "a" * 2040}, "url", "2048"),
        ("precon", {**good, "secretKey": "not base64!"}, "secretKey", "base64"),
        ("precon", {**good, "secretKey": SHORT_KEY}, "secretKey", "not 5"),
        ("precon", {**good, "secretKey": LONG_KEY}, "secretKey", "not 90"),
        ("precon", {**good, "secretKey": ""}, "secretKey", "must not be empty"),
        ("precon", {**good, "autoReactivate": "yes"}, "autoReactivate", "boolean"),
        ("precon", {**good, "autoReactivate": 1}, "autoReactivate", "boolean"),
        (
            "heavyjob",
            {"url": url, "eventTypes": ["CostCodeCreated"], "jobIds": ["job-1"]},
            "jobIds",
            "not GUIDs: 'job-1'",
        ),
        (
            "heavyjob",
            {"url": url, "eventTypes": ["CostCodeCreated"], "jobIds": []},
            "jobIds",
            "at least one",
        ),
        (
            "heavyjob",
            {"url": url, "eventTypes": ["CostCodeCreated"], "jobIds": [KEY_JOB, KEY_JOB.upper()]},
            "jobIds",
            "more than once",
        ),
    ]


async def _assert_refused(
    response: httpx.Response, status: int, field: str | None, words: str
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert words in body["detail"]
    if field is not None:
        assert any(words in message for message in body["errors"][field]), body
    assert "Traceback" not in response.text


@pytest.mark.parametrize("index", range(26))
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_bad_bodies_are_refused_and_change_nothing(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver, index: int, method: str
) -> None:
    me = await caller(api, runtime)
    product, body, field, words = _bad(receiver)[index]
    response = await api.request(method, me.path(product), json=body, headers=me.headers)
    await _assert_refused(response, 400, field, words)
    assert await records(runtime, me.client_id) == []
    assert receiver.requests == []


async def test_a_body_that_is_not_json_is_refused(
    api: httpx.AsyncClient, runtime: runtimes.Runtime
) -> None:
    me = await caller(api, runtime)
    headers = {**me.headers, "Content-Type": "application/json"}
    response = await api.post(me.path("setups"), content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_an_oversize_body_is_refused(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    body = {"url": receiver.url(), "eventTypes": ["EmployeeCreated"] * 200_000}
    response = await api.post(me.path("setups"), json=body, headers=me.headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await records(runtime, me.client_id) == []


async def test_business_units_of_other_companies_are_indistinguishable_from_unknown_ones(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    me, other = await caller(api, runtime), await caller(api, runtime, "Other Co")
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"]}
    answers = []
    for unit in (other.unit, ids.guid()):
        for method in ("GET", "POST", "PUT", "DELETE"):
            response = await api.request(
                method,
                me.path("precon", unit),
                json=body if method in ("POST", "PUT") else None,
                params={"url": body["url"]} if method == "DELETE" else None,
                headers=me.headers,
            )
            await _assert_refused(response, 404, None, "Your company has no business unit")
            answers.append(response.json()["detail"].replace(unit, "<unit>"))
    assert len(set(answers)) == 1
    assert await records(runtime, me.client_id) == []
    assert receiver.requests == []


async def test_a_business_unit_outside_the_tokens_units_is_forbidden(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    first = await make_tenant(runtime, "Limited Co")
    limited = await runtime.credentials.create_client(
        scopes=["precon:read"], company_id=first.company.id, business_units=[first.units[0].id]
    )
    headers = bearer(await token(api, limited.client.id, limited.secret))
    me = Caller(first, headers)
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"]}
    allowed = await api.post(me.path("precon", first.units[0].id), json=body, headers=headers)
    assert allowed.status_code == 200, allowed.text
    refused = await api.post(me.path("precon", first.units[1].id), json=body, headers=headers)
    await _assert_refused(refused, 403, None, "may not use business unit")
    listing = await api.get(me.path("precon", first.units[1].id), headers=headers)
    assert listing.status_code == 403
    assert len(await records(runtime, limited.client.id)) == 1


async def test_a_business_unit_id_must_be_a_guid(
    api: httpx.AsyncClient, runtime: runtimes.Runtime
) -> None:
    me = await caller(api, runtime)
    response = await api.get(me.path("precon", "BU1"), headers=me.headers)
    await _assert_refused(response, 400, "businessUnitId", "is not a GUID")


async def test_tokens_are_required_and_scopes_checked(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime, scopes=["dis:read"])
    me = Caller(tenant, bearer(await token(api, tenant.client_id, tenant.secret)))
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"]}
    missing = await api.post(me.path("precon"), json=body)
    await _assert_refused(missing, 401, None, "Bearer")
    assert missing.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    bad = await api.get(me.path("setups"), headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    forbidden = await api.post(me.path("precon"), json=body, headers=me.headers)
    await _assert_refused(forbidden, 403, None, "precon:read")
    assert await records(runtime, tenant.client_id) == []
    assert receiver.requests == []


async def test_delete_needs_a_url_it_knows(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    missing = await api.delete(me.path("setups"), headers=me.headers)
    await _assert_refused(missing, 400, "url", "is required")
    empty = await api.delete(me.path("setups"), params={"url": ""}, headers=me.headers)
    await _assert_refused(empty, 400, "url", "is required")
    unknown = await api.delete(
        me.path("setups"), params={"url": receiver.url()}, headers=me.headers
    )
    await _assert_refused(unknown, 404, None, "no Active or Stopped subscription")


async def test_limits_are_enforced_before_the_challenge(
    settings: Settings, receiver: Receiver
) -> None:
    limits = {"max_event_types": 2, "max_job_ids": 2, "max_subscriptions_per_client": 3}
    async with app_with(settings, **limits) as (tight, runtime):
        await _limits(tight, runtime, receiver)


async def _limits(tight: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver) -> None:
    me = await caller(tight, runtime)
    url = receiver.url()
    three = ["EmployeeCreated", "EmployeeUpdated", "EmployeeDeleted"]
    too_many = await tight.post(
        me.path("setups"), json={"url": url, "eventTypes": three}, headers=me.headers
    )
    await _assert_refused(too_many, 400, "eventTypes", "at most 2 event types")
    jobs = [ids.guid() for _ in range(3)]
    body = {"url": url, "eventTypes": ["CostCodeCreated"], "jobIds": jobs}
    too_many_jobs = await tight.post(me.path("heavyjob"), json=body, headers=me.headers)
    await _assert_refused(too_many_jobs, 400, "jobIds", "at most 2 ids")
    assert receiver.requests == []

    two = {"url": url, "eventTypes": three[:2]}
    assert (await tight.post(me.path("setups"), json=two, headers=me.headers)).status_code == 200
    other = {"url": receiver.url("/other"), "eventTypes": ["LocationCreated", "LocationUpdated"]}
    over = await tight.post(me.path("setups"), json=other, headers=me.headers)
    await _assert_refused(over, 400, "eventTypes", "at most 3 are allowed")
    assert receiver.received(path="/other") == []
    assert len(await records(runtime, me.client_id)) == 2
    # Replacing the set frees its places: PUT to one type, then the other url fits.
    assert (
        await tight.put(
            me.path("setups"), json={**two, "eventTypes": three[:1]}, headers=me.headers
        )
    ).status_code == 200
    assert (await tight.post(me.path("setups"), json=other, headers=me.headers)).status_code == 200


async def test_https_only_when_the_operator_requires_it(
    settings: Settings, receiver: Receiver
) -> None:
    async with app_with(settings, require_https=True) as (api, wired):
        me = await caller(api, wired)
        body = {"url": receiver.url(), "eventTypes": ["EmployeeCreated"]}
        response = await api.post(me.path("setups"), json=body, headers=me.headers)
        await _assert_refused(response, 400, "url", "https://")
        assert receiver.requests == []
