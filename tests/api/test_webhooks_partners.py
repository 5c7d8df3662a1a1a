"""A company that disconnects a partner stops the partner's subscriptions for it; reconnecting
makes them Active again."""

from __future__ import annotations

import dataclasses

import httpx

from hookyard import models
from hookyard.cli.runtime import Runtime
from hookyard.store.subscriptions import DISCONNECTED
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, company_token, make_tenant
from tests.support.webhooks import BASE, caller, records

ACTIVE = models.SubscriptionStatus.ACTIVE
STOPPED = models.SubscriptionStatus.STOPPED


async def test_disconnect_stops_the_partners_records_and_reconnect_restores_them(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    credentials = runtime.credentials
    tenant = await make_tenant(runtime, "Connected Co")
    partner = await credentials.create_partner("Integrations Inc")
    issued = await credentials.create_client(scopes=["dis:read"], partner_id=partner.id)
    await credentials.set_connection(partner.id, tenant.company.id, True)
    headers = bearer(await company_token(api, issued.client.id, issued.secret, tenant.company.id))
    path = f"{BASE}/setups"
    types = ["EmployeeCreated", "EmployeeUpdated", "EmployeeDeleted"]
    body = {"url": receiver.url(), "eventTypes": types}
    assert (await api.post(path, json=body, headers=headers)).status_code == 200
    own = await caller(api, runtime, "Own Co")
    assert (await api.post(own.path("setups"), json=body, headers=own.headers)).status_code == 200

    by_type = {r.event_type: r for r in await records(runtime, issued.client.id)}
    created, failing, gone = (by_type[name] for name in types)
    await runtime.store.subscriptions.save(
        [],
        [
            dataclasses.replace(failing, status=STOPPED, stop_reason="5 tries failed"),
            dataclasses.replace(gone, status=models.SubscriptionStatus.DELETED),
        ],
        client_limit=100,
    )

    assert await credentials.set_connection(partner.id, tenant.company.id, False)
    after = {r.event_type: r for r in await records(runtime, issued.client.id)}
    assert (after["EmployeeCreated"].status, after["EmployeeCreated"].stop_reason) == (
        STOPPED,
        DISCONNECTED,
    )
    assert after["EmployeeUpdated"].stop_reason == "5 tries failed"
    assert after["EmployeeDeleted"].status is models.SubscriptionStatus.DELETED
    refused = await api.get(path, headers=headers)
    assert refused.status_code == 403
    assert {r.status for r in await records(runtime, own.client_id)} == {ACTIVE}

    assert await credentials.set_connection(partner.id, tenant.company.id, True)
    after = {r.event_type: r for r in await records(runtime, issued.client.id)}
    assert (after["EmployeeCreated"].status, after["EmployeeCreated"].stop_reason) == (ACTIVE, None)
    assert after["EmployeeUpdated"].status is STOPPED
    assert after["EmployeeDeleted"].status is models.SubscriptionStatus.DELETED
    listed = (await api.get(path, headers=headers)).json()
    assert {r["eventType"]: r["status"] for r in listed} == {
        "EmployeeCreated": "Active",
        "EmployeeUpdated": "Stopped",
    }
    assert created.id == after["EmployeeCreated"].id
