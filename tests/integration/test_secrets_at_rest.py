"""Subscription secretKeys are sealed at rest, shown again only through the API, and survive a
key rotation, in the running process too. Nothing secret reaches a log line."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select

from hookyard.cli.runtime import Runtime
from hookyard.store import schema, sealing
from tests.support.receiver import Receiver
from tests.support.webhooks import KEY, Caller, caller


async def _subscribe(api: httpx.AsyncClient, who: Caller, receiver: Receiver) -> None:
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated"], "secretKey": KEY}
    response = await api.post(who.path("precon"), json=body, headers=who.headers)
    assert response.status_code == 200, response.text


async def _stored(runtime: Runtime) -> list[str]:
    async with runtime.store.db.read() as connection:
        rows = await connection.execute(select(schema.subscriptions.c.secret_key))
        return [row[0] for row in rows]


async def test_a_secret_key_is_stored_sealed_and_listed_in_the_clear(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    who = await caller(api, runtime)
    await _subscribe(api, who, receiver)
    (stored,) = await _stored(runtime)
    assert stored.startswith("hy1:")
    assert KEY not in stored
    listed = await api.get(who.path("precon"), headers=who.headers)
    assert [record["secretKey"] for record in listed.json()] == [KEY]


async def test_a_rotation_reseals_everything_and_the_running_process_follows(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    who = await caller(api, runtime)
    await _subscribe(api, who, receiver)
    (before,) = await _stored(runtime)
    new = sealing.add_encryption_key(sealing.key_directory(runtime.settings))
    assert await runtime.store.subscriptions.reseal() == 1
    (after,) = await _stored(runtime)
    assert after.startswith(f"hy1:{new}:")
    assert after != before
    old = before.split(":")[1]
    assert await runtime.store.subscriptions.uses_key(old) is False
    assert await runtime.store.subscriptions.uses_key(new) is True
    listed = await api.get(who.path("precon"), headers=who.headers)
    assert [record["secretKey"] for record in listed.json()] == [KEY]
    assert await runtime.store.subscriptions.reseal() == 0


async def test_a_sealed_value_moved_to_another_record_does_not_open(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    who = await caller(api, runtime)
    body = {"url": receiver.url(), "eventTypes": ["ProjectCreated", "ProjectChanged"]}
    assert (await api.post(who.path("precon"), json=body, headers=who.headers)).status_code == 200
    table = schema.subscriptions
    async with runtime.store.db.write() as connection:
        first, second = (await connection.execute(select(table.c.id, table.c.secret_key))).all()
        await connection.execute(
            table.update().where(table.c.id == second.id).values(secret_key=first.secret_key)
        )
    response = await api.get(who.path("precon"), headers=who.headers)
    assert response.status_code == 409
    assert "does not open" in response.json()["detail"]


async def test_no_secret_token_or_secret_key_reaches_a_log_line(
    api: httpx.AsyncClient,
    runtime: Runtime,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    who = await caller(api, runtime)
    await _subscribe(api, who, receiver)
    form = {
        "grant_type": "client_credentials",
        "client_id": who.client_id,
        "client_secret": "wrong-" + who.tenant.secret,
    }
    assert (await api.post("/identity/connect/token", data=form)).status_code == 401
    access = who.headers["Authorization"].removeprefix("Bearer ")
    event = {
        "eventType": "ProjectCreated",
        "companyId": who.tenant.company.id,
        "businessUnitId": who.unit,
        "projectId": "p-1",
    }
    published = await api.post("/events/api/v1/precon", json=event, headers=who.headers)
    assert published.status_code == 202
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert logged, "nothing was logged: the test would prove nothing"
    for secret in (who.tenant.secret, access, KEY):
        assert secret not in logged
