"""`HOOKYARD_LOG_LEVEL=DEBUG` logs no secret: a real `hookyard serve` at DEBUG, on both databases,
through a console sign-in and a form post, a token, a subscribe and a publish delivered to a
real receiver. Its log has lines (SQL statements among them) but none of the client secret, the
access token, the console's CSRF token, session cookie or the session's stored hash, the
subscription's secret key, the event body's unique value, or the signature sent with it."""

from __future__ import annotations

import hashlib
import traceback
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hookyard import clock, models
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.store import Store, schema
from tests.support import console, server
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, bearer, make_tenant, token

pytestmark = pytest.mark.slow
# Only SQLite's driver (aiosqlite) logged statements with their parameters at DEBUG; asyncpg
# logs none, and SQLAlchemy's engine logger stays at WARNING. Both hide parameters in errors:
# the last test.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SECRET_KEY = "whsec_" + "Rk9SIFRIRSBERUJVRyBMT0cgVEVTVCBPTkxZIQ=="


async def _console_session(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    """Sign in, post a form; the CSRF tokens and the session cookie the browser held."""
    form = await client.get("/console/login")
    answer = await console.sign_in(client, tenant.client_id, tenant.secret)
    assert answer.status_code == 303, answer.text
    cookie = client.cookies["hookyard_console"]
    page = await client.get("/console/subscriptions")
    csrf = console.csrf_of(page.text)
    filtered = await client.get("/console/deliveries", params={"state": "failed"})
    assert filtered.status_code == 200
    logout = await client.post("/console/logout", data={"csrf": csrf})
    assert logout.status_code == 303
    return {
        "the login form's CSRF token": console.csrf_of(form.text),
        "the session's CSRF token": csrf,
        "the session cookie": cookie,
        "the session's stored hash": hashlib.sha256(cookie.encode()).hexdigest(),
    }


async def _subscribe_and_publish(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, marker: str
) -> dict[str, str]:
    access = await token(client, tenant.client_id, tenant.secret)
    unit = tenant.units[0].id
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"], "secretKey": SECRET_KEY}
    path = f"/webhooks/api/v1/precon/{unit}"
    subscribed = await client.post(path, json=body, headers=bearer(access))
    assert subscribed.status_code == 200, subscribed.text
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": unit,
        "projectId": marker,
    }
    published = await client.post("/events/api/v1/precon", json=event, headers=bearer(access))
    assert published.status_code == 202, published.text
    await receiver.wait_for(lambda: bool(receiver.posts()), what="the delivery")
    (delivered,) = receiver.posts()
    assert marker in delivered.body.decode()
    return {
        "the access token": access,
        "the delivery's signature": delivered.headers["webhook-signature"],
    }


@SQLITE
async def test_debug_logs_carry_no_secret(
    runtime: Runtime, settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    tenant = await make_tenant(runtime)
    marker = f"marker-{uuid.uuid4().hex}"
    env = server.environment(
        settings.data_dir,
        database_url=settings.database_url,
        allow_private_callbacks="true",
        log_level="DEBUG",
        log_format="json",
        poll_interval_seconds="0.1",
    )
    with server.hookyard(["serve"], env, tmp_path) as running:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as client:
            secrets = {
                "the client secret": tenant.secret,
                "the subscription's secret key": SECRET_KEY.removeprefix("whsec_"),
                "the event's unique value": marker,
                **await _console_session(client, tenant),
                **await _subscribe_and_publish(client, tenant, receiver, marker),
            }
    record = await runtime.store.subscriptions.live(tenant.client_id)
    secrets["the sealed secret key as stored"] = await _stored_secret(runtime, record[0].id)
    log = running.errors() + running.output()
    assert '"level":"debug"' in log
    leaked = [what for what, value in secrets.items() if value in log]
    assert leaked == [], f"the DEBUG log holds {', '.join(leaked)}"


async def _stored_secret(runtime: Runtime, record_id: str) -> str:
    table = schema.subscriptions
    async with runtime.store.db.read() as connection:
        stored: str = (
            await connection.execute(select(table.c.secret_key).where(table.c.id == record_id))
        ).scalar_one()
    assert stored.startswith("hy1:")
    return stored


async def test_a_database_error_names_no_parameters(store: Store) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    company = models.Company("00000000-0000-0000-0000-00000000c0de", marker, clock.utcnow())
    await store.tenants.add_company(company)
    with pytest.raises(DBAPIError) as caught:
        await store.tenants.add_company(company)
    told = "".join(traceback.format_exception(caught.value))
    assert "hide_parameters" in told
    assert marker not in told
