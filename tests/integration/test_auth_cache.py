"""Token checks from the auth cache, on both databases: a revoke, secret rotation or disconnect
made through this process holds on the next request; one made by another process (another
`Store`) holds once the cache time has passed, on an injected clock; a cached token still stops
at its expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from hookyard import clock, errors
from hookyard.cli import runtime as runtimes
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services import identity
from hookyard.services.identity import Identity
from hookyard.services.keys import KeyRing
from hookyard.store import Store, sealing
from tests.support.clocks import FakeClock
from tests.support.engine import eventually
from tests.support.tenants import Tenant, bearer, make_tenant, token

CACHE_SECONDS = 1.0


@dataclass
class Serving:
    """An API process's store and identity service, on a clock the test moves."""

    store: Store
    identity: Identity
    time: FakeClock

    async def token(self, client_id: str, secret: str, **form: str) -> str:
        grant = {"grant_type": "client_credentials", "client_id": client_id}
        granted = await self.identity.grant({**grant, "client_secret": secret, **form})
        return granted.access_token


def _serving(
    settings: Settings, *, ttl_seconds: int = 3600, cache: float = CACHE_SECONDS
) -> Serving:
    time = FakeClock()
    store = Store(
        settings.database_url,
        sealer=sealing.sealer_for(settings),
        auth_cache_seconds=cache,
        monotonic=time,
    )
    verifier = Identity(
        store,
        KeyRing(settings.data_dir / "jwt"),
        issuer=runtimes.issuer(settings),
        ttl_seconds=ttl_seconds,
        cache_seconds=cache,
        monotonic=time,
    )
    return Serving(store, verifier, time)


@pytest.fixture
async def serving(settings: Settings) -> AsyncIterator[Serving]:
    wired = _serving(settings)
    yield wired
    await wired.store.close()


def publish_body(tenant: Tenant) -> dict[str, str]:
    return {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": "p-1",
    }


async def test_a_revoked_clients_token_is_refused_on_the_next_request(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert runtime.settings.auth_cache_seconds > 0, "the cache must be on for this to prove it"
    tenant = await make_tenant(runtime)
    headers = bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))
    path = "/events/api/v1/precon"
    for _ in range(2):  # the second answer comes from the cache
        accepted = await api.post(path, json=publish_body(tenant), headers=headers)
        assert accepted.status_code == 202, accepted.text
    await runtime.credentials.revoke(tenant.client_id)
    refused = await api.post(path, json=publish_body(tenant), headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


async def test_a_revoke_in_the_same_store_holds_at_once_whatever_the_clock(
    serving: Serving, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    access = await serving.token(tenant.client_id, tenant.secret)
    assert (await serving.identity.authenticate(access)).client_id == tenant.client_id
    await serving.store.tenants.update_client(tenant.client_id, revoked_at=clock.utcnow())
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        await serving.identity.authenticate(access)


async def test_a_revoke_by_another_process_holds_once_the_cache_time_has_passed(
    serving: Serving, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    access = await serving.token(tenant.client_id, tenant.secret)
    assert (await serving.identity.authenticate(access)).client_id == tenant.client_id
    await runtime.credentials.revoke(tenant.client_id)  # runtime.store is another Store
    serving.time.now += CACHE_SECONDS
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        await serving.identity.authenticate(access)


async def test_a_rotation_in_the_same_store_holds_at_once(
    serving: Serving, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    access = await serving.token(tenant.client_id, tenant.secret)
    assert (await serving.identity.authenticate(access)).client_id == tenant.client_id
    new_hash = identity.hash_secret(identity.new_secret())
    await serving.store.tenants.update_client(tenant.client_id, secret_hash=new_hash)
    with pytest.raises(errors.Unauthenticated, match="rotated"):
        await serving.identity.authenticate(access)


async def test_a_rotation_by_another_process_holds_once_the_cache_time_has_passed(
    serving: Serving, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    access = await serving.token(tenant.client_id, tenant.secret)
    assert (await serving.identity.authenticate(access)).client_id == tenant.client_id
    rotated = await runtime.credentials.rotate_secret(tenant.client_id)  # another Store
    serving.time.now += CACHE_SECONDS
    with pytest.raises(errors.Unauthenticated, match="rotated"):
        await serving.identity.authenticate(access)
    fresh = await serving.token(tenant.client_id, rotated.secret)
    assert (await serving.identity.authenticate(fresh)).client_id == tenant.client_id


async def _partner_token(serving: Serving, runtime: Runtime) -> tuple[str, str, str]:
    """A partner connected to a new company, and a company token of its client (authenticated
    once, so it is in the cache): (company id, partner id, token)."""
    tenant = await make_tenant(runtime)
    partner = await runtime.credentials.create_partner("Integrations Inc")
    issued = await runtime.credentials.create_client(scopes=["dis:read"], partner_id=partner.id)
    await runtime.credentials.set_connection(partner.id, tenant.company.id, True)
    access = await serving.token(
        issued.client.id, issued.secret, grant_type="company", CompanyId=tenant.company.id
    )
    assert (await serving.identity.authenticate(access)).partner_id == partner.id
    return tenant.company.id, partner.id, access


async def test_a_disconnect_by_another_process_holds_once_the_cache_time_has_passed(
    serving: Serving, runtime: Runtime
) -> None:
    company_id, partner_id, access = await _partner_token(serving, runtime)
    await runtime.credentials.set_connection(partner_id, company_id, False)
    serving.time.now += CACHE_SECONDS
    with pytest.raises(errors.Forbidden, match="disconnected"):
        await serving.identity.authenticate(access)


async def test_a_disconnect_in_the_same_store_holds_at_once(
    serving: Serving, runtime: Runtime
) -> None:
    company_id, partner_id, access = await _partner_token(serving, runtime)
    changed = await serving.store.tenants.set_connection(
        partner_id, company_id, False, clock.utcnow()
    )
    assert changed
    with pytest.raises(errors.Forbidden, match="disconnected"):
        await serving.identity.authenticate(access)


async def test_a_cached_token_is_still_refused_once_it_expires(
    settings: Settings, runtime: Runtime
) -> None:
    serving = _serving(settings, ttl_seconds=1, cache=60.0)  # the cache clock never moves
    try:
        tenant = await make_tenant(runtime)
        access = await serving.token(tenant.client_id, tenant.secret)
        assert (await serving.identity.authenticate(access)).client_id == tenant.client_id

        async def refused() -> bool:
            try:
                await serving.identity.authenticate(access)
            except errors.Unauthenticated:
                return True
            return False

        await eventually(refused, timeout=30, what="the one-second token to expire")
        with pytest.raises(errors.Unauthenticated, match="expired"):
            await serving.identity.authenticate(access)
    finally:
        await serving.store.close()
