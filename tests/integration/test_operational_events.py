"""Operational events end to end: real receivers, the real worker and app, signed webhooks.

A callback that keeps failing makes `delivery.exhausted` and `subscription.stopped` reach the
operator's alert url and the owner's own; posting the url again makes `subscription.reactivated`,
recovering its deliveries `delivery.recovered`; a host awaiting approval
`subscription.approval_requested`. Each is also one INFO log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import standardwebhooks

from hookyard import errors
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services import alerts
from tests.support import engine
from tests.support.actors import OPERATOR
from tests.support.receiver import Behaviour, Receiver
from tests.support.webhooks import Caller, app_with, caller

TYPES = ["EmployeeCreated"]


def _events(receiver: Receiver, path: str, secret: str) -> list[dict[str, Any]]:
    """The operational events `path` received, each verified with `secret`."""
    found = []
    for post in receiver.posts(path):
        standardwebhooks.Webhook(secret).verify(post.body, post.headers)
        found.append(json.loads(post.body))
    return found


def _types(receiver: Receiver, path: str, secret: str) -> list[str]:
    return sorted(event["type"] for event in _events(receiver, path, secret))


async def _own_alert_url(api: httpx.AsyncClient, me: Caller, url: str) -> str:
    response = await api.post("/hookyard/api/v1/alerts", json={"url": url}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert sorted(response.json()["eventTypes"]) == sorted(alerts.EVENT_TYPES)
    secret: str = response.json()["secretKey"]
    return secret


async def _subscribe(api: httpx.AsyncClient, me: Caller, url: str) -> httpx.Response:
    body = {"url": url, "eventTypes": TYPES}
    return await api.post(me.path("setups"), json=body, headers=me.headers)


async def _publish(runtime: Runtime, me: Caller) -> None:
    event = {"eventType": "EmployeeCreated", "companyId": me.tenant.company.id}
    event.update(businessUnitId=me.unit, id="e-1")
    await engine.events(runtime.store).publish("setups", event, publisher_id="pub")


# Bad input first: a clear error and nothing stored.


async def test_an_unknown_event_type_or_a_failed_challenge_adds_no_alert_url(
    runtime: Runtime, receiver: Receiver
) -> None:
    with pytest.raises(errors.InvalidInput, match=r"subscription\.stopped"):
        await runtime.alerts.add(OPERATOR, receiver.url("/ops"), ["subscription.exploded"])
    receiver.answer("/ops", Behaviour(status=404))
    with pytest.raises(errors.ChallengeFailed):
        await runtime.alerts.add(OPERATOR, receiver.url("/ops"))
    assert await runtime.alerts.targets(OPERATOR) == []
    with pytest.raises(errors.NotFound):
        await runtime.alerts.remove(OPERATOR, receiver.url("/ops"))


async def test_the_api_refuses_a_bad_alert_request(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    me = await caller(api, runtime)
    bad = {"url": "ftp://example.com/x", "eventTypes": ["delivery.exhausted"]}
    response = await api.post("/hookyard/api/v1/alerts", json=bad, headers=me.headers)
    assert response.status_code == 400, response.text
    assert "url" in response.json()["errors"]
    response = await api.post("/hookyard/api/v1/alerts", json={"url": "x", "extra": 1})
    assert response.status_code == 401
    listed = await api.get("/hookyard/api/v1/alerts", headers=me.headers)
    assert listed.json() == []


async def test_a_failing_callback_alerts_operator_and_owner_through_the_engine(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    operator = await runtime.alerts.add(OPERATOR, receiver.url("/ops"))
    me, other = await caller(api, runtime, "Mine"), await caller(api, runtime, "Theirs")
    mine = await _own_alert_url(api, me, receiver.url("/mine"))
    theirs = await _own_alert_url(api, other, receiver.url("/theirs"))
    assert (await _subscribe(api, me, receiver.url("/hook"))).status_code == 200
    receiver.answer("/hook", Behaviour(status=500))

    async with engine.running_worker(runtime.store, on_exhausted=runtime.events.recorded):
        await _publish(runtime, me)
        expected = ["delivery.exhausted", "subscription.stopped"]
        await receiver.wait_for(
            lambda: (
                _types(receiver, "/ops", operator.secret_key) == expected
                and _types(receiver, "/mine", mine) == expected
            ),
            what="the exhausted and stopped events at both alert urls",
        )
        stopped = next(
            e for e in _events(receiver, "/mine", mine) if e["type"] == "subscription.stopped"
        )
        assert stopped["data"]["subscription"]["status"] == "Stopped"
        assert "5 tries failed" in stopped["data"]["subscription"]["stopReason"]

        receiver.answer("/hook", Behaviour())
        assert (await _subscribe(api, me, receiver.url("/hook"))).status_code == 200
        recover = {"url": receiver.url("/hook"), "since": "2000-01-01T00:00:00Z"}
        response = await api.post(
            "/hookyard/api/v1/subscriptions/recover", json=recover, headers=me.headers
        )
        assert response.json() == {"recovered": 1}
        expected += ["delivery.recovered", "subscription.reactivated"]
        await receiver.wait_for(
            lambda: (
                _types(receiver, "/ops", operator.secret_key) == sorted(expected)
                and _types(receiver, "/mine", mine) == sorted(expected)
            ),
            what="the reactivated and recovered events",
        )
        await receiver.wait_for(lambda: len(receiver.posts("/hook")) == 6, what="redelivery")
    assert _events(receiver, "/theirs", theirs) == []
    logged = [r.getMessage() for r in caplog.records if r.name == "hookyard.alerts"]
    for event_type in expected:
        assert any(f"operational event {event_type}" in line for line in logged), logged
    assert any("5 tries failed" in line for line in logged)


@pytest.fixture
async def gated(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    async with app_with(settings, approval_hosts=["*.azurewebsites.net"]) as both:
        yield both


async def test_an_approval_request_alerts_the_operator(
    gated: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = gated
    operator = await wired.alerts.add(OPERATOR, receiver.url("/ops"), [alerts.APPROVAL_REQUESTED])
    me = await caller(api, wired)
    for _ in range(2):
        response = await _subscribe(api, me, "https://shop.azurewebsites.net/hook")
        assert response.status_code == 403
    async with engine.running_worker(wired.store):
        await receiver.wait_for(lambda: len(receiver.posts("/ops")) == 1, what="one alert")
    (event,) = _events(receiver, "/ops", operator.secret_key)
    assert event["type"] == alerts.APPROVAL_REQUESTED
    assert event["data"]["approval"]["host"] == "shop.azurewebsites.net"
    assert event["data"]["clientId"] == me.client_id
