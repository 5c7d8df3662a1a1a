"""Subscription secretKeys are sealed at rest, shown again only through the API, and survive a
key rotation, in the running process too. A secret that does not open is the operator's problem:
503 for the caller, one ERROR line naming HOOKYARD_SECRET_KEY for the operator. Nothing secret
reaches a log line."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hookyard import secretbox
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.store import schema, sealing
from tests.support.cli import Cli
from tests.support.receiver import Receiver
from tests.support.webhooks import KEY, Caller, app_with, caller

UNREADABLE = "Hookyard cannot read its sealed secrets; the operator has been told."


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
    assert response.status_code == 503
    assert response.json()["detail"] == UNREADABLE


def _told_the_operator_once(caplog: pytest.LogCaptureFixture) -> str:
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None
    return lines[0].getMessage()


async def test_a_server_without_the_sealing_key_answers_503_and_tells_the_operator(
    api: httpx.AsyncClient,
    runtime: Runtime,
    receiver: Receiver,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    who = await caller(api, runtime)
    await _subscribe(api, who, receiver)
    other_key = base64.b64encode(secretbox.new_key()).decode()
    caplog.set_level(logging.DEBUG)
    async with app_with(settings, secret_key=other_key) as (elsewhere, _):
        response = await elsewhere.get(who.path("precon"), headers=who.headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == UNREADABLE
    line = _told_the_operator_once(caplog)
    assert "HOOKYARD_SECRET_KEY" in line
    assert "give every process the keys the database was sealed with" in line
    for secret in (KEY, other_key):
        assert secret not in response.text
        assert secret not in caplog.text


async def test_a_command_without_the_sealing_key_ends_in_one_error_line(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, settings: Settings
) -> None:
    who = await caller(api, runtime)
    await _subscribe(api, who, receiver)
    other_key = base64.b64encode(secretbox.new_key()).decode()
    cli = Cli(settings.database_url, Path(settings.data_dir), secret_key=other_key)
    done = await asyncio.to_thread(cli, "keys", "reseal")
    assert done.exit_code == 1, done.output
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "HOOKYARD_SECRET_KEY" in line
    assert "`hookyard check`" in line
    assert other_key not in done.output


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
