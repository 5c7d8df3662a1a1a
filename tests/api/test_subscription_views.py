"""`/hookyard/api/v1/subscriptions`: the Stop reason, which HCSS's own shapes have no field for,
shown to the record's owner and the operator only; the HCSS GET keeps its exact fields."""

from __future__ import annotations

import dataclasses

import httpx

from hookyard import clock, models
from hookyard.cli.runtime import Runtime
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, make_tenant, token
from tests.support.webhooks import Caller, caller, records

BASE = "/hookyard/api/v1/subscriptions"
REASON = "5 tries failed; the last one: HTTP 500"


async def _stopped_record(api: httpx.AsyncClient, runtime: Runtime, me: Caller, url: str) -> str:
    body = {"url": url, "eventTypes": ["EmployeeCreated", "LocationDeleted"]}
    response = await api.post(me.path("setups"), json=body, headers=me.headers)
    assert response.status_code == 200, response.text
    first = (await records(runtime, me.client_id))[0]
    stopped = dataclasses.replace(
        first,
        status=models.SubscriptionStatus.STOPPED,
        stop_reason=REASON,
        status_changed_at=clock.utcnow(),
    )
    await runtime.store.subscriptions.save([], [stopped], client_limit=100)
    return first.id


async def _admin(api: httpx.AsyncClient, runtime: Runtime) -> dict[str, str]:
    tenant = await make_tenant(runtime, "Operators", scopes=("hookyard:operator",))
    return bearer(await token(api, tenant.client_id, tenant.secret))


# Bad input first.


async def test_bad_filters_are_refused(api: httpx.AsyncClient, runtime: Runtime) -> None:
    me = await caller(api, runtime)
    response = await api.get(BASE, params={"status": "Sleeping"}, headers=me.headers)
    assert response.status_code == 400
    assert "Active, Stopped, Deleted" in response.json()["detail"]
    response = await api.get(BASE, params={"clientId": "hyc_other"}, headers=me.headers)
    assert response.status_code == 403
    assert (await api.get(BASE)).status_code == 401


async def test_another_clients_record_is_not_found(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    mine, theirs = await caller(api, runtime, "Mine"), await caller(api, runtime, "Theirs")
    record_id = await _stopped_record(api, runtime, mine, receiver.url())
    response = await api.get(f"{BASE}/{record_id}", headers=theirs.headers)
    assert response.status_code == 404
    assert REASON not in response.text
    listed = await api.get(BASE, headers=theirs.headers)
    assert listed.json() == {"results": [], "next": None}


# The views.


async def test_the_owner_reads_the_stop_reason(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    record_id = await _stopped_record(api, runtime, me, receiver.url())
    shown = (await api.get(f"{BASE}/{record_id}", headers=me.headers)).json()
    assert (shown["status"], shown["stopReason"]) == ("Stopped", REASON)
    assert "secretKey" not in shown
    stopped = await api.get(BASE, params={"status": "stopped"}, headers=me.headers)
    assert [r["id"] for r in stopped.json()["results"]] == [record_id]
    page = await api.get(BASE, params={"limit": 1}, headers=me.headers)
    second = await api.get(
        BASE, params={"limit": 1, "after": page.json()["next"]}, headers=me.headers
    )
    both = page.json()["results"] + second.json()["results"]
    assert len({r["id"] for r in both}) == 2


async def test_the_hcss_get_keeps_its_exact_fields(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    await _stopped_record(api, runtime, me, receiver.url())
    listed = (await api.get(me.path("setups"), headers=me.headers)).json()
    fields = {"companyId", "eventType", "callbackUrl", "dateCreated"}
    fields |= {"clientId", "status", "secretKey", "id"}
    assert all(set(record) == fields for record in listed)
    assert "Stopped" in {record["status"] for record in listed}


async def test_the_operator_sees_every_tenant(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    mine, theirs = await caller(api, runtime, "Mine"), await caller(api, runtime, "Theirs")
    await _stopped_record(api, runtime, mine, receiver.url("/a"))
    await _stopped_record(api, runtime, theirs, receiver.url("/b"))
    admin = await _admin(api, runtime)
    stopped = (await api.get(BASE, params={"status": "Stopped"}, headers=admin)).json()
    assert {r["clientId"] for r in stopped["results"]} == {mine.client_id, theirs.client_id}
    only = await api.get(BASE, params={"clientId": theirs.client_id}, headers=admin)
    assert {r["clientId"] for r in only.json()["results"]} == {theirs.client_id}
