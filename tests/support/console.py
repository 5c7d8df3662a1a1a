"""Helpers for console tests over HTTP: sign in through the real form, read a page's CSRF token,
and put the rows the pages show in place (tenants, records, deliveries with attempts)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from hookyard import clock, models
from hookyard.cli.runtime import Runtime
from hookyard.services import access
from hookyard.store import Store, schema
from tests.support import tenancy
from tests.support.tenants import Tenant, make_tenant

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first CSRF token a page's forms carry; fails the test when there is none."""
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(api: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    """Sign in through the real form (its login CSRF cookie included); the answer to the POST."""
    form = await api.get("/console/login")
    data = {"csrf": csrf_of(form.text), "client_id": client_id, "client_secret": secret}
    return await api.post("/console/login", data=data)


async def signed_in(api: httpx.AsyncClient, client_id: str, secret: str) -> str:
    """Sign in and return the session's CSRF token (from the subscriptions page's forms)."""
    answer = await sign_in(api, client_id, secret)
    assert answer.status_code == 303, answer.text
    page = await api.get("/console/subscriptions")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def operator(runtime: Runtime) -> Tenant:
    """A company whose client holds the operator role (hookyard:operator)."""
    return await make_tenant(runtime, "Operator Co", scopes=(access.OPERATOR,), unit_codes=("OPS",))


async def precon_record(
    runtime: Runtime, tenant: Tenant, url: str, *, secret: str | None = None
) -> str:
    """A ProjectCreated record of `url` in the tenant's first unit; its id."""
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    return await tenancy.subscribe(
        runtime.store,
        owner,
        "precon",
        "ProjectCreated",
        url,
        partition=tenant.units[0].id,
        secret=secret,
    )


async def expire_sessions(store: Store) -> None:
    """End every console session as if its time had run out."""
    past = clock.utcnow() - timedelta(seconds=1)
    async with store.db.write() as connection:
        await connection.execute(update(schema.console_sessions).values(expires_at=past))


async def session_count(store: Store, client_id: str) -> int:
    """How many console session rows the client has in the database."""
    table = schema.console_sessions
    statement = select(func.count()).where(table.c.client_id == client_id)
    async with store.db.read() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def stop_record(store: Store, record_id: str, reason: str) -> None:
    """Stop a record the way the worker does after the last failed try."""
    table = schema.subscriptions
    async with store.db.write() as connection:
        await connection.execute(
            update(table)
            .where(table.c.id == record_id)
            .values(
                status=models.SubscriptionStatus.STOPPED.value,
                stop_reason=reason,
                status_changed_at=clock.utcnow(),
            )
        )
