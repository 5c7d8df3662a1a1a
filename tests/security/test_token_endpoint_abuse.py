"""Token endpoint abuse, against the real app on both databases: failed client authentications
are throttled per client id and source address, and per source address (429 with Retry-After);
a stranger failing from another address never locks the client out of its own; an unknown client
id is answered exactly like a wrong secret, before and after the limit.

The first wait is set as long as the window, so no answer here depends on how fast the machine is.

Source addresses are the ASGI `client` of in-process requests (loopback addresses; nothing is
sent on a network).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import extract_parameters

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.services import identity
from tests.support.tenants import make_tenant

TOKEN = "/identity/connect/token"
PER_CLIENT = 3
PER_ADDRESS = 5


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        token_failures_per_client=PER_CLIENT,
        token_failures_per_address=PER_ADDRESS,
        token_failure_window_seconds=600,
        token_failure_wait_seconds=600,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[runtimes.Runtime]:
    wired = runtimes.build(settings)
    yield wired
    await wired.close()


def client_from(runtime: runtimes.Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=runtime.app(), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def form(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def answer(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers; the seconds to wait are masked (they run with the clock)."""
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    if "retry-after" in headers:
        headers["retry-after"] = "N"
    return (
        response.status_code,
        re.sub(r"after \d+ seconds", "after N seconds", response.text),
        headers,
    )


async def test_wrong_secrets_lock_the_client_id_at_that_address_with_429_and_retry_after(
    runtime: runtimes.Runtime,
) -> None:
    tenant = await make_tenant(runtime)
    async with client_from(runtime, "127.0.0.2") as api:
        for _ in range(PER_CLIENT):
            wrong = await api.post(TOKEN, data=form(tenant.client_id, "wrong"))
            assert wrong.status_code == 401
        locked = await api.post(TOKEN, data=form(tenant.client_id, tenant.secret))
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert 1 <= int(locked.headers["retry-after"]) <= 600
    assert "Too many failed client authentications" in locked.json()["detail"]
    assert tenant.secret not in locked.text
    async with client_from(runtime, "127.0.0.3") as home:
        granted = await home.post(TOKEN, data=form(tenant.client_id, tenant.secret))
    assert granted.status_code == 200, "the client's own address is not locked"


async def test_a_stranger_failing_many_times_does_not_lock_the_client_out_of_its_address(
    runtime: runtimes.Runtime,
) -> None:
    tenant = await make_tenant(runtime)
    statuses = []
    async with client_from(runtime, "127.0.0.9") as stranger:
        for _ in range(PER_CLIENT * 4):
            statuses.append(
                (await stranger.post(TOKEN, data=form(tenant.client_id, "x"))).status_code
            )
    assert statuses == [401] * PER_CLIENT + [429] * PER_CLIENT * 3
    async with client_from(runtime, "127.0.0.1") as home:
        granted = await home.post(TOKEN, data=form(tenant.client_id, tenant.secret))
    assert granted.status_code == 200


async def test_failures_from_one_address_lock_that_address_only(
    runtime: runtimes.Runtime,
) -> None:
    tenant = await make_tenant(runtime)
    async with client_from(runtime, "127.0.0.4") as attacker:
        for n in range(PER_ADDRESS):
            guess = await attacker.post(TOKEN, data=form(f"hyc_guess{n}", "wrong"))
            assert guess.status_code == 401
        blocked = await attacker.post(TOKEN, data=form(tenant.client_id, tenant.secret))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    async with client_from(runtime, "127.0.0.5") as honest:
        granted = await honest.post(TOKEN, data=form(tenant.client_id, tenant.secret))
    assert granted.status_code == 200


async def test_unknown_id_and_wrong_secret_answer_alike_before_and_after_the_limit(
    runtime: runtimes.Runtime,
) -> None:
    tenant = await make_tenant(runtime)
    async with client_from(runtime, "127.0.0.6") as one, client_from(runtime, "127.0.0.7") as two:
        for _ in range(PER_CLIENT + 1):
            known = await one.post(TOKEN, data=form(tenant.client_id, "wrong"))
            unknown = await two.post(TOKEN, data=form("hyc_doesnotexist", "wrong"))
            assert answer(known) == answer(unknown)
    assert known.status_code == 429


async def test_success_does_not_count_and_bad_requests_do_not_count(
    runtime: runtimes.Runtime,
) -> None:
    tenant = await make_tenant(runtime)
    async with client_from(runtime, "127.0.0.8") as api:
        for _ in range(PER_CLIENT + 2):
            ok = await api.post(TOKEN, data=form(tenant.client_id, tenant.secret))
            assert ok.status_code == 200
            missing = await api.post(TOKEN, data=form(tenant.client_id, ""))
            assert missing.status_code == 400


def test_an_unknown_id_is_checked_against_a_decoy_hash_of_the_same_cost(
    runtime: runtimes.Runtime,
) -> None:
    real = extract_parameters(identity.hash_secret(identity.new_secret()))
    assert real.type.name == "ID"
    assert extract_parameters(runtime.identity._decoy_hash) == real
