"""Idempotency-Key on publish (IETF Idempotency-Key draft): the same key and request answers the
first event again and says it is a replay; the same key with another request is 422 and stores
nothing."""

from __future__ import annotations

import httpx

from hookyard.cli.runtime import Runtime
from tests.support.tenants import Tenant, bearer, make_tenant, token

EVENTS = "/events/api/v1"


async def _publisher(api: httpx.AsyncClient, runtime: Runtime) -> tuple[Tenant, dict[str, str]]:
    tenant = await make_tenant(runtime)
    return tenant, bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))


def _event(tenant: Tenant, project: str = "p-1") -> dict[str, str]:
    return {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": project,
    }


async def test_the_same_key_and_body_is_a_replay(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant, headers = await _publisher(api, runtime)
    keyed = {**headers, "Idempotency-Key": "order-1"}
    first = await api.post(f"{EVENTS}/precon", json=_event(tenant), headers=keyed)
    again = await api.post(f"{EVENTS}/precon", json=_event(tenant), headers=keyed)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await runtime.store.events.count() == 1


async def test_the_same_key_with_another_body_is_422(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _publisher(api, runtime)
    keyed = {**headers, "Idempotency-Key": "order-2"}
    first = await api.post(f"{EVENTS}/precon", json=_event(tenant), headers=keyed)
    assert first.status_code == 202
    other = await api.post(f"{EVENTS}/precon", json=_event(tenant, "p-2"), headers=keyed)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "order-2" in other.json()["detail"]
    assert await runtime.store.events.count() == 1


async def test_a_batch_replayed_whole_is_a_replay_and_changed_is_422(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _publisher(api, runtime)
    keyed = {**headers, "Idempotency-Key": "batch-1"}
    batch = [_event(tenant, "p-1"), _event(tenant, "p-2")]
    first = await api.post(f"{EVENTS}/precon/batch", json=batch, headers=keyed)
    again = await api.post(f"{EVENTS}/precon/batch", json=batch, headers=keyed)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    for changed in (batch[:1], [*batch, _event(tenant, "p-3")], [batch[1], batch[0]]):
        refused = await api.post(f"{EVENTS}/precon/batch", json=changed, headers=keyed)
        assert refused.status_code == 422, changed
    assert await runtime.store.events.count() == 2
