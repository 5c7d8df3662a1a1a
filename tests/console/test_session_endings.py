"""What ends console sessions at once, on both databases: a secret rotation or a revoke of their
client, a disconnect of their client's partner, and signing in again from the same browser.

Each ending deletes the session rows, so the change is made by another `Runtime` (another process's
store, as `hookyard clients rotate-secret` beside `hookyard serve` is) and the console refuses the
cookie on its next request with nothing to wait for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import httpx
import pytest

from hookyard import errors, models
from hookyard.cli import runtime as runtimes
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services.identity import Identity
from hookyard.services.sessions import ConsoleSessions
from tests.support import console
from tests.support.tenants import make_tenant

PAGE = "/console/subscriptions"


@asynccontextmanager
async def browser(runtime: Runtime, **cookies: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser (its own cookie jar, starting with `cookies`) on the same app."""
    transport = httpx.ASGITransport(app=runtime.app())
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=cookies
    ) as client:
        yield client


@asynccontextmanager
async def another_process(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime with a store of its own on the same database, as the CLI has."""
    wired = runtimes.build(settings)
    try:
        yield wired
    finally:
        await wired.close()


async def _ended(client: httpx.AsyncClient) -> bool:
    answer = await client.get(PAGE)
    if answer.status_code == 200:
        return False
    assert answer.status_code == 401, answer.text
    assert "Your session has ended" in answer.text
    return True


@pytest.mark.parametrize("ending", ["rotate-secret", "revoke"])
async def test_a_rotation_or_revoke_elsewhere_ends_every_session_of_the_client(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings, ending: str
) -> None:
    tenant = await make_tenant(runtime)
    other = await make_tenant(runtime, "Other Co")
    await console.signed_in(api, tenant.client_id, tenant.secret)
    async with browser(runtime) as second, browser(runtime) as bystander:
        await console.signed_in(second, tenant.client_id, tenant.secret)
        await console.signed_in(bystander, other.client_id, other.secret)
        assert await console.session_count(runtime.store, tenant.client_id) == 2
        async with another_process(settings) as elsewhere:
            if ending == "revoke":
                await elsewhere.credentials.revoke(tenant.client_id)
            else:
                await elsewhere.credentials.rotate_secret(tenant.client_id)
        assert await console.session_count(runtime.store, tenant.client_id) == 0
        assert [await _ended(api), await _ended(second)] == [True, True]
        assert not await _ended(bystander)


async def test_a_disconnect_ends_the_sessions_of_the_partners_clients_and_a_connect_none(
    runtime: Runtime, settings: Settings
) -> None:
    credentials = runtime.credentials
    company = await make_tenant(runtime)
    partner = await credentials.create_partner("Integrations Inc")
    unrelated = await credentials.create_partner("Other Integrations")
    issued = [
        await credentials.create_client(scopes=["dis:read"], partner_id=owner.id)
        for owner in (partner, partner, unrelated)
    ]
    for owner in (partner, unrelated):
        await credentials.set_connection(owner.id, company.company.id, True)
    signers = [(c.client.id, c.secret) for c in issued] + [(company.client_id, company.secret)]
    async with AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(browser(runtime)) for _ in signers]
        for client, (client_id, secret) in zip(browsers, signers, strict=True):
            await console.signed_in(client, client_id, secret)
        another = await credentials.create_company("Another Co")
        await credentials.set_connection(partner.id, another.id, True)
        assert [await _ended(client) for client in browsers] == [False] * 4
        async with another_process(settings) as elsewhere:
            await elsewhere.credentials.set_connection(partner.id, company.company.id, False)
        assert [await _ended(client) for client in browsers] == [True, True, False, False]
    for ended in issued[:2]:
        assert await console.session_count(runtime.store, ended.client.id) == 0


async def test_signing_in_again_ends_that_browsers_earlier_session(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    admin = await console.operator(runtime)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    earlier = api.cookies["hookyard_console"]
    async with browser(runtime) as elsewhere:
        await console.signed_in(elsewhere, tenant.client_id, tenant.secret)
        await console.signed_in(api, tenant.client_id, tenant.secret)
        assert api.cookies["hookyard_console"] != earlier
        async with browser(runtime, hookyard_console=earlier) as replayed:
            assert await _ended(replayed)
        assert await console.session_count(runtime.store, tenant.client_id) == 2
        await console.signed_in(api, admin.client_id, admin.secret)
        assert await console.session_count(runtime.store, tenant.client_id) == 1
        assert not await _ended(elsewhere)


class ChangedMidway(Identity):
    """The real identity service, whose client is rotated or revoked right after its secret has
    been checked: a sign-in that crosses the change at its worst moment."""

    def __init__(self, runtime: Runtime, change: str) -> None:
        super().__init__(
            runtime.store, runtime.keys, issuer=runtime.identity.issuer, ttl_seconds=60
        )
        self._credentials = runtime.credentials
        self._change = change

    async def verify_client(self, client_id: str, secret: str, source: str | None) -> models.Client:
        client = await super().verify_client(client_id, secret, source)
        if self._change == "revoke":
            await self._credentials.revoke(client_id)
        else:
            await self._credentials.rotate_secret(client_id)
        return client


@pytest.mark.parametrize("change", ["rotate-secret", "revoke"])
async def test_a_sign_in_crossing_a_rotation_or_revoke_leaves_no_session(
    runtime: Runtime, change: str
) -> None:
    tenant = await make_tenant(runtime)
    sessions = ConsoleSessions(
        runtime.store, ChangedMidway(runtime, change), lifetime=timedelta(minutes=5)
    )
    with pytest.raises(errors.Unauthenticated, match="sign in again"):
        await sessions.sign_in(tenant.client_id, tenant.secret, "127.0.0.1")
    assert await console.session_count(runtime.store, tenant.client_id) == 0
