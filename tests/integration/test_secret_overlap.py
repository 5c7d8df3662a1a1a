"""A subscriber that rotates its secretKey gets deliveries signed with both keys for the overlap
(24 h by default), so it can switch its verifier at its own pace; afterwards only the new key."""

from __future__ import annotations

import httpx
import pytest
import standardwebhooks

from hookyard import signing
from hookyard.cli.runtime import Runtime
from tests.support.engine import running_worker
from tests.support.receiver import Receiver
from tests.support.webhooks import Caller, app_with, caller

OLD = signing.generate_secret()
NEW = signing.generate_secret()


async def _rotate_and_publish(api: httpx.AsyncClient, who: Caller, receiver: Receiver) -> None:
    path = who.path("precon")
    for key in (OLD, NEW):
        body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"], "secretKey": key}
        assert (await api.post(path, json=body, headers=who.headers)).status_code == 200
    event = {
        "eventType": "ProjectCreated",
        "companyId": who.tenant.company.id,
        "businessUnitId": who.unit,
        "projectId": "p-1",
    }
    assert (
        await api.post("/events/api/v1/precon", json=event, headers=who.headers)
    ).status_code == 202


async def test_deliveries_during_the_overlap_verify_with_either_key(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    who = await caller(api, runtime)
    await _rotate_and_publish(api, who, receiver)
    async with running_worker(runtime.store):
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the delivery")
    (got,) = receiver.posts()
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for key in (OLD, NEW):
        standardwebhooks.Webhook(key).verify(got.body, got.headers)


async def test_with_no_overlap_only_the_new_key_signs(runtime: Runtime, receiver: Receiver) -> None:
    async with app_with(runtime.settings, secret_overlap_hours=0) as (api, wired):
        who = await caller(api, wired)
        await _rotate_and_publish(api, who, receiver)
        async with running_worker(wired.store):
            await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the delivery")
    (got,) = receiver.posts()
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.Webhook(NEW).verify(got.body, got.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(OLD).verify(got.body, got.headers)
