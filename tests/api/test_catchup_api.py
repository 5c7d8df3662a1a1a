"""`GET /hookyard/api/v1/subscriptions/events`: a url's deliveries after a sequence number, signed
as they are sent, paged; only the caller's own urls; bad input is a 400 naming the parameter."""

from __future__ import annotations

import httpx
import pytest
import standardwebhooks

from hookyard import signing
from hookyard.cli.runtime import Runtime
from tests.support import engine, tenancy
from tests.support.receiver import Receiver
from tests.support.webhooks import Caller, caller

PATH = "/hookyard/api/v1/subscriptions/events"
PROBLEM = "application/problem+json"


async def _subscribed(api: httpx.AsyncClient, runtime: Runtime, url: str) -> tuple[Caller, str]:
    me = await caller(api, runtime)
    secret = signing.generate_secret()
    owner = tenancy.Tenant(me.tenant.company.id, me.client_id)
    await tenancy.subscribe(runtime.store, owner, "setups", "EmployeeCreated", url, secret=secret)
    return me, secret


async def _publish(runtime: Runtime, me: Caller, count: int) -> None:
    publisher = engine.events(runtime.store)
    for n in range(count):
        event = {
            "eventType": "EmployeeCreated",
            "companyId": me.tenant.company.id,
            "businessUnitId": me.tenant.units[0].id,
            "id": f"e{n}",
        }
        await publisher.publish("setups", event, publisher_id="p")


async def test_pages_through_every_event_exactly_as_signed(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me, secret = await _subscribed(api, runtime, receiver.url())
    await _publish(runtime, me, 5)
    seen, after = [], 0
    while True:
        answer = await api.get(
            PATH, params={"url": receiver.url(), "after": after, "limit": 2}, headers=me.headers
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for item in page["results"]:
            headers = item["headers"]
            standardwebhooks.Webhook(secret).verify(item["body"], headers)
            assert headers["webhook-sequence"] == str(item["sequence"])
            assert headers["webhook-id"] == item["deliveryId"]
            seen.append((item["sequence"], item["body"]))
        if not page["hasNextPage"]:
            assert page["nextAfter"] is None
            break
        after = page["nextAfter"]
    assert [n for n, _ in seen] == [1, 2, 3, 4, 5]
    assert [f'"id":"e{n}"' in body for n, (_, body) in enumerate(seen)] == [True] * 5
    rest = await api.get(PATH, params={"url": receiver.url(), "after": 3}, headers=me.headers)
    assert [item["sequence"] for item in rest.json()["results"]] == [4, 5]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "x"}, "limit"),
    ],
)
async def test_bad_parameters_are_a_400_naming_them(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, params: dict[str, str], field: str
) -> None:
    me, _ = await _subscribed(api, runtime, receiver.url())
    answer = await api.get(PATH, params={"url": receiver.url(), **params}, headers=me.headers)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert field in answer.json()["detail"]
    assert any(field in key for key in answer.json()["errors"])


async def test_another_clients_url_is_a_404_like_an_unknown_one(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    owner, _ = await _subscribed(api, runtime, receiver.url())
    await _publish(runtime, owner, 2)
    stranger = await caller(api, runtime, "Other Co")
    details = []
    for url in (receiver.url(), receiver.url("/never-subscribed")):
        answer = await api.get(PATH, params={"url": url}, headers=stranger.headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == PROBLEM
        details.append(answer.json()["detail"].replace(url, "<url>"))
    assert details[0] == details[1]
    missing = await api.get(PATH, headers=stranger.headers)
    assert missing.status_code == 400
    assert "url" in missing.json()["detail"]
