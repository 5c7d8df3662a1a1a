"""Events in and deliveries out over HTTP, against the real app, both databases, a real receiver."""

from __future__ import annotations

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from hookyard.clock import isoformat, utcnow
from tests.support import engine, tenancy
from tests.support.receiver import Behaviour, Receiver
from tests.support.tenants import Tenant, bearer, make_tenant, token

EVENTS = "/events/api/v1"
DELIVERIES = "/hookyard/api/v1/deliveries"


async def _publisher(api: httpx.AsyncClient, runtime: Runtime) -> tuple[Tenant, dict[str, str]]:
    tenant = await make_tenant(runtime)
    return tenant, bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))


def _precon(tenant: Tenant, project: str = "p-1") -> dict[str, str]:
    return {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": project,
    }


async def _subscribe(runtime: Runtime, tenant: Tenant, url: str) -> str:
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    return await tenancy.subscribe(
        runtime.store, owner, "precon", "ProjectCreated", url, partition=tenant.units[0].id
    )


async def test_publishing_needs_a_token_with_events_publish(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    anonymous = await api.post(f"{EVENTS}/precon", json=_precon(tenant))
    assert anonymous.status_code == 401
    reader = bearer(await token(api, tenant.client_id, tenant.secret, "precon:read"))
    refused = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert await runtime.store.events.count() == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/nope", None, 404, None),
        ("/precon", {"eventType": "ProjectCreated"}, 400, "companyId"),
        ("/precon", [1, 2], 400, None),
        ("/precon/batch", {"not": "a list"}, 400, None),
        ("/precon/batch", [{"eventType": "Bogus", "companyId": "c"}], 400, "[0].eventType"),
    ],
)
async def test_bad_events_are_refused_and_store_nothing(
    api: httpx.AsyncClient,
    runtime: Runtime,
    path: str,
    body: object,
    status: int,
    field: str | None,
) -> None:
    tenant, headers = await _publisher(api, runtime)
    payload = _precon(tenant) if body is None else body
    response = await api.post(f"{EVENTS}{path}", json=payload, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field:
        assert field in response.json()["errors"]
    assert await runtime.store.events.count() == 0


async def test_a_batch_over_the_limit_is_refused(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant, headers = await _publisher(api, runtime)
    response = await api.post(
        f"{EVENTS}/precon/batch", json=[_precon(tenant)] * 1001, headers=headers
    )
    assert response.status_code == 400
    assert "at most 1000" in response.json()["detail"]


async def test_publish_is_accepted_after_the_deliveries_are_committed(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _publisher(api, runtime)
    await _subscribe(runtime, tenant, "https://callback.example/hook")
    response = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=headers)
    assert response.status_code == 202
    (event_id,) = response.json().values()
    assert list(response.json()) == ["eventId"]
    admin = await make_tenant(runtime, "Operator", scopes=["hookyard:operator"])
    admin_headers = bearer(await token(api, admin.client_id, admin.secret))
    listed = await api.get(DELIVERIES, params={"eventId": event_id}, headers=admin_headers)
    assert [d["state"] for d in listed.json()["results"]] == ["pending"]


async def test_the_same_idempotency_key_gives_the_same_event(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _publisher(api, runtime)
    keyed = {**headers, "Idempotency-Key": "evt-123"}
    first = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=keyed)
    second = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=keyed)
    assert first.json() == second.json()
    batch = [_precon(tenant, "a"), _precon(tenant, "b")]
    one = await api.post(f"{EVENTS}/precon/batch", json=batch, headers=keyed)
    two = await api.post(f"{EVENTS}/precon/batch", json=batch, headers=keyed)
    assert one.status_code == two.status_code == 202
    assert one.json() == two.json()
    assert len(one.json()["eventIds"]) == 2
    assert await runtime.store.events.count() == 3


async def test_deliveries_are_inspected_redelivered_and_recovered(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    tenant, publisher = await _publisher(api, runtime)
    record = await _subscribe(runtime, tenant, receiver.url())
    owner = bearer(await token(api, tenant.client_id, tenant.secret, "precon:read"))
    stranger = await make_tenant(runtime, "Other Co")
    other = bearer(await token(api, stranger.client_id, stranger.secret))
    receiver.answer(
        "/hook", Behaviour(status=500, body="x" * 5000), Behaviour(status=200, body="ok")
    )
    since = isoformat(utcnow())
    async with engine.running_worker(runtime.store):
        published = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=publisher)
        await receiver.wait_for(lambda: len(receiver.posts()) == 2, what="two tries")

        async def recorded() -> bool:
            listed = await api.get(DELIVERIES, headers=owner)
            return [d["state"] for d in listed.json()["results"]] == ["succeeded"]

        await engine.eventually(recorded, what="the success recorded")
        listed = (await api.get(DELIVERIES, headers=owner)).json()
        (summary,) = listed["results"]
        assert summary["eventId"] == published.json()["eventId"]
        assert summary["tries"] == 2
        assert "attempts" not in summary
        detail = (await api.get(f"{DELIVERIES}/{summary['id']}", headers=owner)).json()
        first, second = detail["attempts"]
        assert (first["number"], first["status"], first["outcome"]) == (1, 500, "http_error")
        assert first["responseBody"] == "x" * 4096
        assert first["latencyMs"] > 0
        assert (second["status"], second["responseBody"], second["error"]) == (200, "ok", None)
        assert (await api.get(DELIVERIES, headers=other)).json()["results"] == []
        hidden = await api.get(f"{DELIVERIES}/{summary['id']}", headers=other)
        assert hidden.status_code == 404
        assert (
            await api.post(f"{DELIVERIES}/{summary['id']}/redeliver", headers=other)
        ).status_code == 404
        again = await api.post(f"{DELIVERIES}/{summary['id']}/redeliver", headers=owner)
        assert again.status_code == 202
        await receiver.wait_for(lambda: len(receiver.posts()) == 3, what="the redelivery")
        await tenancy.set_status(runtime.store, record, "Stopped")
        bad = await api.post(
            "/hookyard/api/v1/subscriptions/recover", json={"url": receiver.url()}, headers=owner
        )
        assert bad.status_code == 400
        recovered = await api.post(
            "/hookyard/api/v1/subscriptions/recover",
            json={"url": receiver.url(), "since": since},
            headers=owner,
        )
        assert recovered.status_code == 202
        assert recovered.json() == {"recovered": 0}
    assert len({r.headers["webhook-id"] for r in receiver.posts()}) == 1


async def test_a_company_client_publishes_for_its_own_company_only(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _publisher(api, runtime)
    other = await make_tenant(runtime, "Other Co")
    foreign = await api.post(f"{EVENTS}/precon", json=_precon(other), headers=headers)
    assert foreign.status_code == 403
    assert "own company" in foreign.json()["detail"]
    mixed = [_precon(tenant), _precon(other)]
    refused = await api.post(f"{EVENTS}/precon/batch", json=mixed, headers=headers)
    assert refused.status_code == 403
    assert await runtime.store.events.count() == 0
    own = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=headers)
    assert own.status_code == 202


async def test_a_product_back_end_with_admin_publishes_for_any_company(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    operator = await make_tenant(runtime, "Operator", scopes=["events:publish", "hookyard:admin"])
    customer = await make_tenant(runtime, "Customer Co")
    headers = bearer(await token(api, operator.client_id, operator.secret))
    accepted = await api.post(f"{EVENTS}/precon", json=_precon(customer), headers=headers)
    assert accepted.status_code == 202, accepted.text
